/**
 * Logged messages -> the warehouse, in one transaction per flush, the way file ingest records its
 * work (src/ingest): rows go to `raw.<source>` with provenance (`_file_id` = a `tagverse.files` row
 * per source and flush, path `realtime:<source>:<first seq>-<last seq>`; `_row` = the log seq),
 * rejects to `tagverse.rejects` (file = that path, line = the seq), a `tagverse.loads` row per flush.
 *
 * Real-time bookkeeping lives beside it: `tagverse.realtime_log` holds the last seq the warehouse
 * has (the same transaction writes it, so a flush is all or nothing and a replay skips what is in),
 * `tagverse.realtime_messages` the messageIds of the dedupe window, `tagverse.identities` the alias
 * links.
 */
import { createHash } from 'node:crypto';
import { type DuckDBAppender, DuckDBDateValue, DuckDBTimestampTZValue } from '@duckdb/node-api';
import type { ProjectConfig } from '../config/project.js';
import { ensureMetadataTables, FILES, LOADS, nextId } from '../ingest/metadata.js';
import { rebuildViews } from '../ingest/views.js';
import { ident, qualified, str } from '../warehouse/sql.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import type { SourceShape } from './mapping.js';
import type { Cell, LoggedMessage, ProfileEffect } from './records.js';

export const REALTIME_LOG = 'tagverse.realtime_log';
export const REALTIME_MESSAGES = 'tagverse.realtime_messages';
export const IDENTITIES = 'tagverse.identities';

export async function ensureRealtimeTables(wh: Warehouse): Promise<void> {
  await ensureMetadataTables(wh);
  await wh.run(
    `CREATE TABLE IF NOT EXISTS ${REALTIME_LOG} (log VARCHAR NOT NULL, last_seq BIGINT NOT NULL, flushed_at TIMESTAMPTZ NOT NULL)`,
  );
  await wh.run(
    `CREATE TABLE IF NOT EXISTS ${REALTIME_MESSAGES} (message_id VARCHAR NOT NULL, received_at TIMESTAMPTZ NOT NULL, seq BIGINT NOT NULL)`,
  );
  await wh.run(
    `CREATE TABLE IF NOT EXISTS ${IDENTITIES} (alias VARCHAR NOT NULL, entity VARCHAR NOT NULL, seq BIGINT NOT NULL, linked_at TIMESTAMPTZ NOT NULL)`,
  );
}

/** The last seq the warehouse holds (0 when real time never flushed). */
export async function flushedSeq(wh: Warehouse): Promise<number> {
  if (!(await wh.tableExists('tagverse', 'realtime_log'))) return 0;
  const v = await wh.scalar<bigint | number | null>(
    `SELECT max(last_seq) FROM ${REALTIME_LOG} WHERE log = 'wal'`,
  );
  return v === null || v === undefined ? 0 : Number(v);
}

/** messageIds received after `sinceMs`, oldest first (the dedupe window at start). */
export async function recentMessageIds(
  wh: Warehouse,
  sinceMs: number,
): Promise<{ id: string; seq: number; at: number }[]> {
  if (!(await wh.tableExists('tagverse', 'realtime_messages'))) return [];
  const rows = await wh.rows<{ id: string; seq: bigint; at: bigint }>(
    `SELECT message_id AS id, seq, epoch_ms(received_at) AS at FROM ${REALTIME_MESSAGES}
     WHERE received_at > make_timestamptz(${Math.floor(sinceMs)} * 1000) ORDER BY seq`,
  );
  return rows.map((r) => ({ id: r.id, seq: Number(r.seq), at: Number(r.at) }));
}

/** Every alias link, in the order they were made. */
export async function identityLinks(wh: Warehouse): Promise<{ alias: string; entity: string }[]> {
  if (!(await wh.tableExists('tagverse', 'identities'))) return [];
  return wh.rows<{ alias: string; entity: string }>(`SELECT alias, entity FROM ${IDENTITIES} ORDER BY seq`);
}

function appendCell(ap: DuckDBAppender, duckType: string, v: Cell): void {
  if (v === null) {
    ap.appendNull();
    return;
  }
  const t = duckType.toUpperCase();
  if (t.startsWith('TIMESTAMP')) ap.appendTimestampTZ(new DuckDBTimestampTZValue(BigInt(v as number)));
  else if (t === 'DATE')
    ap.appendDate(new DuckDBDateValue(Math.round(Date.parse(`${v as string}T00:00:00Z`) / 86_400_000)));
  else if (t === 'BOOLEAN') ap.appendBoolean(v as boolean);
  else if (t === 'INTEGER' || t === 'SMALLINT' || t === 'TINYINT') ap.appendInteger(v as number);
  else if (/INT/.test(t)) ap.appendBigInt(BigInt(v as number));
  else if (t === 'DOUBLE' || t === 'FLOAT' || t === 'REAL' || t.startsWith('DECIMAL'))
    ap.appendDouble(v as number);
  else ap.appendVarchar(typeof v === 'string' ? v : String(v));
}

function literal(duckType: string, v: Cell): string {
  if (v === null) return 'NULL';
  const t = duckType.toUpperCase();
  if (t.startsWith('TIMESTAMP')) return `make_timestamptz(${v as number})`;
  if (t === 'DATE') return `DATE ${str(v as string)}`;
  if (typeof v === 'number' || typeof v === 'boolean') return `CAST(${String(v)} AS ${duckType})`;
  return `CAST(${str(v)} AS ${duckType})`;
}

export interface FlushResult {
  readonly rows: number;
  readonly rejects: number;
  readonly profiles: number;
  readonly lastSeq: number;
  readonly ms: number;
}

/**
 * Write `messages` (in seq order, all after the warehouse's last seq) into the warehouse in one
 * transaction. Returns what was written; on any error nothing was.
 */
export async function flushToWarehouse(
  wh: Warehouse,
  config: ProjectConfig,
  shapes: ReadonlyMap<string, SourceShape>,
  messages: readonly LoggedMessage[],
): Promise<FlushResult> {
  const started = performance.now();
  const first = messages[0]!.seq;
  const last = messages[messages.length - 1]!.seq;
  await ensureRealtimeTables(wh);
  return wh.transaction(async () => {
    const loadId = await nextId(wh, LOADS, 'load_id');
    let fileId = await nextId(wh, FILES, 'file_id');
    const bySource = new Map<
      string,
      { rows: { seq: number; row: Readonly<Record<string, Cell>> }[]; rejects: number }
    >();
    const profiles: { seq: number; fx: ProfileEffect }[] = [];
    const rejects: {
      seq: number;
      source: string;
      kind: string;
      column: string | null;
      reason: string;
      raw: string;
    }[] = [];
    const links: { seq: number; at: number; from: string; to: string }[] = [];
    const entry = (s: string) => {
      let e = bySource.get(s);
      if (!e) {
        e = { rows: [], rejects: 0 };
        bySource.set(s, e);
      }
      return e;
    };
    for (const m of messages) {
      for (const fx of m.fx) {
        if (fx.k === 'row') entry(fx.source).rows.push({ seq: m.seq, row: fx.row });
        else if (fx.k === 'profile') {
          entry(fx.source);
          profiles.push({ seq: m.seq, fx });
        } else if (fx.k === 'alias') links.push({ seq: m.seq, at: m.at, from: fx.from, to: fx.to });
        else {
          entry(fx.source).rejects++;
          rejects.push({
            seq: m.seq,
            source: fx.source,
            kind: fx.kind,
            column: fx.column,
            reason: fx.reason,
            raw: fx.raw,
          });
        }
      }
    }
    let createdTable = false;
    const fileOf = new Map<string, { id: number; path: string }>();
    let rowCount = 0;
    for (const [source, e] of bySource) {
      const shape = shapes.get(source);
      if (!shape) continue;
      const id = fileId++;
      const filePath = `realtime:${source}:${first}-${last}`;
      fileOf.set(source, { id, path: filePath });
      if (!(await wh.tableExists('raw', source))) {
        const cols = shape.columns.map((c) => `${ident(c.name)} ${c.type}`);
        await wh.run(
          `CREATE TABLE ${qualified('raw', source)} (${cols.join(', ')}, "_file_id" INTEGER NOT NULL, "_row" BIGINT NOT NULL)`,
        );
        createdTable = true;
      }
      const digest = createHash('sha256');
      if (e.rows.length > 0) {
        const ap = await wh.connection.createAppender(source, 'raw');
        for (const { seq, row } of e.rows) {
          for (const c of shape.columns) appendCell(ap, c.type, row[c.name] ?? null);
          ap.appendInteger(id);
          ap.appendBigInt(BigInt(seq));
          ap.endRow();
          digest.update(JSON.stringify(row));
        }
        ap.flushSync();
        ap.closeSync();
        rowCount += e.rows.length;
      }
      const mine = profiles.filter((p) => p.fx.source === source);
      for (const p of mine) {
        digest.update(JSON.stringify(p.fx.row));
        await upsertProfile(wh, shape, p.fx, id, p.seq);
      }
      const loaded = e.rows.length + mine.length;
      const hash = digest.digest('hex');
      await wh.run(
        `INSERT INTO ${FILES} VALUES (${id}, ${str(source)}, ${str(filePath)}, 'realtime', ${loaded}, ${Date.now()},
          ${str(hash)}, ${loaded}, ${e.rejects}, ${loadId}, now())`,
      );
    }
    if (rejects.length > 0) {
      const ap = await wh.connection.createAppender('rejects', 'tagverse');
      for (const r of rejects) {
        ap.appendBigInt(BigInt(loadId));
        ap.appendVarchar(r.source);
        ap.appendVarchar(fileOf.get(r.source)?.path ?? `realtime:${r.source}:${first}-${last}`);
        ap.appendBigInt(BigInt(r.seq));
        ap.appendVarchar(r.kind);
        if (r.column === null) ap.appendNull();
        else ap.appendVarchar(r.column);
        ap.appendVarchar(r.reason);
        ap.appendVarchar(r.raw);
        ap.endRow();
      }
      ap.flushSync();
      ap.closeSync();
    }
    const deduped = messages.filter((m) => m.dedupe);
    if (deduped.length > 0) {
      const ap = await wh.connection.createAppender('realtime_messages', 'tagverse');
      for (const m of deduped) {
        ap.appendVarchar(m.id);
        ap.appendTimestampTZ(new DuckDBTimestampTZValue(BigInt(Math.round(m.at * 1000))));
        ap.appendBigInt(BigInt(m.seq));
        ap.endRow();
      }
      ap.flushSync();
      ap.closeSync();
    }
    for (const l of links) {
      await wh.run(
        `INSERT INTO ${IDENTITIES} VALUES (${str(l.from)}, ${str(l.to)}, ${l.seq}, make_timestamptz(${Math.round(l.at * 1000)}))`,
      );
    }
    await wh.run(`DELETE FROM ${REALTIME_LOG} WHERE log = 'wal'`);
    await wh.run(`INSERT INTO ${REALTIME_LOG} VALUES ('wal', ${last}, now())`);
    await wh.run(
      `INSERT INTO ${LOADS} VALUES (${loadId}, now(), now(), ${`[${[...fileOf.keys()].map(str).join(', ')}]`}::VARCHAR[],
        ${fileOf.size}, ${rowCount + profiles.length}, ${rejects.length})`,
    );
    if (createdTable) await rebuildViews(wh, config);
    return {
      rows: rowCount,
      rejects: rejects.length,
      profiles: profiles.length,
      lastSeq: last,
      ms: performance.now() - started,
    };
  });
}

/** Update the given columns of an entity's profile row, or add the row. */
async function upsertProfile(
  wh: Warehouse,
  shape: SourceShape,
  fx: ProfileEffect,
  fileId: number,
  seq: number,
): Promise<void> {
  const table = qualified('raw', shape.name);
  const types = new Map(shape.columns.map((c) => [c.name, c.type]));
  const keyType = types.get(shape.entityKey) ?? 'VARCHAR';
  const key = literal(keyType, keyType.toUpperCase().includes('INT') ? Number(fx.entity) : fx.entity);
  const sets = Object.entries(fx.row)
    .filter(([c]) => c !== shape.entityKey && types.has(c))
    .map(([c, v]) => `${ident(c)} = ${literal(types.get(c)!, v)}`);
  const n = Number(
    (
      await wh.connection.run(
        `UPDATE ${table} SET ${[...sets, `"_file_id" = ${fileId}`, `"_row" = ${seq}`].join(', ')} WHERE ${ident(shape.entityKey)} = ${key}`,
      )
    ).rowsChanged,
  );
  if (n > 0) return;
  const cols = shape.columns.map((c) => c.name);
  const values = cols.map((c) => (c === shape.entityKey ? key : literal(types.get(c)!, fx.row[c] ?? null)));
  await wh.run(
    `INSERT INTO ${table} (${[...cols.map(ident), '"_file_id"', '"_row"'].join(', ')}) VALUES (${[...values, fileId, seq].join(', ')})`,
  );
}
