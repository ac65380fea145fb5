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
import { createHash, type Hash } from 'node:crypto';
import type { ProjectConfig } from '../config/project.js';
import { ensureMetadataTables, FILES, LOADS, nextId, REJECTS } from '../ingest/metadata.js';
import { rebuildViews } from '../ingest/views.js';
import { ident, qualified, str } from '../warehouse/sql.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { type JsonColumns, JsonStaging, readJson, type StagedJson } from './json-staging.js';
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

function literal(duckType: string, v: Cell): string {
  if (v === null) return 'NULL';
  const t = duckType.toUpperCase();
  if (t.startsWith('TIMESTAMP')) return `make_timestamptz(${v as number})`;
  if (t === 'DATE') return `DATE ${str(v as string)}`;
  if (typeof v === 'number' || typeof v === 'boolean') return `CAST(${String(v)} AS ${duckType})`;
  // A literal cannot hold NUL: text with NUL is spliced around chr(0).
  return `CAST(${v.split('\u0000').map(str).join(' || chr(0) || ')} AS ${duckType})`;
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
 *
 * Rows, rejects, messageIds and alias links go in as staged JSON (json-staging.ts): serialised on
 * the main thread a slice at a time, inserted by DuckDB on its own threads. A source's
 * `tagverse.files.sha256` is the SHA-256 of its staged rows document (`[{"seq":…,"row":{…}},…]`)
 * followed by the JSON of each of its profile rows.
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
  const { bySource, profiles, rejects, links, seen } = await sortEffects(messages);
  await ensureRealtimeTables(wh);
  const staging = await JsonStaging.open(wh);
  try {
    // Everything is serialised before the transaction starts; the files are only read inside it.
    const rowsOf = new Map<string, { staged: StagedJson; digest: Hash }>();
    for (const [source, e] of bySource) {
      if (!shapes.has(source) || e.rows.length === 0) continue;
      const digest = createHash('sha256');
      rowsOf.set(source, { staged: await staging.stage(e.rows, source, digest), digest });
    }
    const rejectsFile = rejects.length > 0 ? await staging.stage(rejects, 'rejects') : undefined;
    const seenFile = seen.length > 0 ? await staging.stage(seen, 'messages') : undefined;
    const linksFile = links.length > 0 ? await staging.stage(links, 'identities') : undefined;
    return await wh.transaction(async () => {
      const loadId = await nextId(wh, LOADS, 'load_id');
      let fileId = await nextId(wh, FILES, 'file_id');
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
        const staged = rowsOf.get(source);
        const digest = staged?.digest ?? createHash('sha256');
        if (staged) {
          await insertRows(wh, shape, staged.staged, id);
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
      if (rejectsFile) {
        // The file of a reject is its source's realtime path (the same whether or not the source has rows).
        const cols: JsonColumns = [
          ['seq', 'BIGINT'],
          ['source', 'VARCHAR'],
          ['kind', 'VARCHAR'],
          ['column', 'VARCHAR'],
          ['reason', 'VARCHAR'],
          ['raw', 'VARCHAR'],
        ];
        await wh.run(
          `INSERT INTO ${REJECTS} SELECT ${loadId}, source, ${str('realtime:')} || source || ${str(`:${first}-${last}`)},
            seq, kind, "column", reason, raw FROM ${readJson(rejectsFile, cols)}`,
        );
      }
      if (seenFile) {
        const cols: JsonColumns = [
          ['id', 'VARCHAR'],
          ['us', 'BIGINT'],
          ['seq', 'BIGINT'],
        ];
        await wh.run(
          `INSERT INTO ${REALTIME_MESSAGES} SELECT id, make_timestamptz(us), seq FROM ${readJson(seenFile, cols)}`,
        );
      }
      if (linksFile) {
        const cols: JsonColumns = [
          ['from', 'VARCHAR'],
          ['to', 'VARCHAR'],
          ['seq', 'BIGINT'],
          ['us', 'BIGINT'],
        ];
        await wh.run(
          `INSERT INTO ${IDENTITIES} SELECT "from", "to", seq, make_timestamptz(us) FROM ${readJson(linksFile, cols)}`,
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
  } finally {
    await staging.remove();
  }
}

export interface SortedEffects {
  /** Per source touched (rows, profiles or rejects): its rows in seq order and how many rejects. */
  readonly bySource: Map<
    string,
    { rows: { seq: number; row: Readonly<Record<string, Cell>> }[]; rejects: number }
  >;
  readonly profiles: { seq: number; fx: ProfileEffect }[];
  readonly rejects: {
    seq: number;
    source: string;
    kind: string;
    column: string | null;
    reason: string;
    raw: string;
  }[];
  /** Alias links, `us` the time they were made (epoch µs). */
  readonly links: { from: string; to: string; seq: number; us: number }[];
  /** The messageIds that take part in dedupe, `us` when they were received (epoch µs). */
  readonly seen: { id: string; us: number; seq: number }[];
}

/** Messages sorted between two yields to the event loop (a few ms; a flush takes up to 200,000). */
const SORT_SLICE = 4096;

/**
 * The effects of `messages` by table, each list in seq order. Yields to the event loop every
 * `SORT_SLICE` messages: in one go, a flush at 19,000 events/s held requests ~45 ms here.
 */
export async function sortEffects(messages: readonly LoggedMessage[]): Promise<SortedEffects> {
  const out: SortedEffects = { bySource: new Map(), profiles: [], rejects: [], links: [], seen: [] };
  const entry = (s: string) => {
    let e = out.bySource.get(s);
    if (!e) {
      e = { rows: [], rejects: 0 };
      out.bySource.set(s, e);
    }
    return e;
  };
  for (let i = 0; i < messages.length; i++) {
    if (i > 0 && i % SORT_SLICE === 0) await new Promise<void>((r) => setImmediate(r));
    const m = messages[i]!;
    if (m.dedupe) out.seen.push({ id: m.id, us: Math.round(m.at * 1000), seq: m.seq });
    for (const fx of m.fx) {
      if (fx.k === 'row') entry(fx.source).rows.push({ seq: m.seq, row: fx.row });
      else if (fx.k === 'profile') {
        entry(fx.source);
        out.profiles.push({ seq: m.seq, fx });
      } else if (fx.k === 'alias')
        out.links.push({ from: fx.from, to: fx.to, seq: m.seq, us: Math.round(m.at * 1000) });
      else {
        entry(fx.source).rejects++;
        out.rejects.push({
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
  return out;
}

/**
 * How a column's cells travel in the staged JSON, and the SQL that makes the column's value of one
 * (the insert casts it to the column's own type, as the Appender did).
 */
function carrier(duckType: string): { json: string; sql: (x: string) => string } {
  const t = duckType.toUpperCase();
  if (t.startsWith('TIMESTAMP')) return { json: 'BIGINT', sql: (x) => `make_timestamptz(${x})` };
  if (t === 'DATE') return { json: 'VARCHAR', sql: (x) => `CAST(${x} AS DATE)` };
  if (t === 'BOOLEAN') return { json: 'BOOLEAN', sql: (x) => x };
  if (/INT/.test(t)) return { json: 'BIGINT', sql: (x) => x };
  if (t === 'DOUBLE' || t === 'FLOAT' || t === 'REAL' || t.startsWith('DECIMAL'))
    return { json: 'DOUBLE', sql: (x) => x };
  return { json: 'VARCHAR', sql: (x) => x };
}

/** `INSERT INTO raw.<source>` the staged `{ seq, row }` array, with `_file_id` = `fileId`, `_row` = seq. */
async function insertRows(
  wh: Warehouse,
  shape: SourceShape,
  staged: StagedJson,
  fileId: number,
): Promise<void> {
  const cells = shape.columns.map((c) => ({ name: c.name, ...carrier(c.type) }));
  const struct = `STRUCT(${cells.map((c) => `${ident(c.name)} ${c.json}`).join(', ')})`;
  const values = cells.map((c) => c.sql(`s."row".${ident(c.name)}`));
  await wh.run(
    `INSERT INTO ${qualified('raw', shape.name)} (${[...shape.columns.map((c) => ident(c.name)), '"_file_id"', '"_row"'].join(', ')})
     SELECT ${[...values, String(fileId), 's."seq"'].join(', ')}
     FROM ${readJson(staged, [
       ['seq', 'BIGINT'],
       ['row', struct],
     ])} AS s`,
  );
}

/** Update the given columns of an entity's profile row, or add the row. */
export async function upsertProfile(
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
