/**
 * The warehouse sink as it was before issue 7: every cell through the DuckDB Appender (one native
 * call per cell, `flushSync` on the main thread). Kept as the oracle of the differential test
 * (warehouse-sink.test.ts) and the baseline of `bench/realtime-sink.bench.ts`; not used by the server.
 */
import { createHash } from 'node:crypto';
import { type DuckDBAppender, DuckDBDateValue, DuckDBTimestampTZValue } from '@duckdb/node-api';
import type { ProjectConfig } from '../../src/config/project.js';
import { FILES, LOADS, nextId } from '../../src/ingest/metadata.js';
import { rebuildViews } from '../../src/ingest/views.js';
import type { SourceShape } from '../../src/realtime/mapping.js';
import type { Cell, LoggedMessage, ProfileEffect } from '../../src/realtime/records.js';
import {
  ensureRealtimeTables,
  type FlushResult,
  IDENTITIES,
  REALTIME_LOG,
  upsertProfile,
} from '../../src/realtime/warehouse-sink.js';
import { ident, qualified, str } from '../../src/warehouse/sql.js';
import type { Warehouse } from '../../src/warehouse/warehouse.js';

/** The previous `flushToWarehouse`, cell by cell through the Appender. */
export async function flushWithAppender(
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
