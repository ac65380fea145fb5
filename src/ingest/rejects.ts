/**
 * Rejected rows: the reader's own rejects (wrong column count, unreadable values), and rows the
 * reader accepted but Tagverse cannot use (no entity key, no or unparseable timestamp, no event id).
 * Each reject keeps file, physical line, raw content and a reason; the row never reaches the warehouse.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SourceConfig } from '../config/project.js';
import { ident, qualified, str } from '../warehouse/sql.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import type { PlannedColumn } from './column-plan.js';
import type { SourceFile } from './files.js';
import { REJECTS, type RejectKind } from './metadata.js';
import { CSV_REJECTS_TABLE, csvDialect, type FileRead } from './readers.js';

const MAX_RAW_CHARS = 10_000;
const INSERT_BATCH = 1_000;

type ReaderReject = {
  line: number;
  column_name: string | null;
  error_type: string;
  csv_line: string | null;
  error_message: string;
};

/**
 * Move the reader's rejects into `tagverse.rejects` and turn the provisional row numbers of the rows it
 * accepted (their ordinality plus header lines) into physical line numbers: every rejected line
 * before a row shifts it by one.
 */
export async function renumberAfterReaderRejects(
  wh: Warehouse,
  read: FileRead,
  src: SourceConfig,
  file: SourceFile,
  fileId: number,
  loadId: number,
): Promise<void> {
  const errors = await wh.jsonRows<ReaderReject>(
    `SELECT line, column_name, error_type, csv_line, error_message FROM temp.main.${ident(CSV_REJECTS_TABLE)} ORDER BY line, column_idx`,
  );
  if (errors.length === 0) return;
  const byLine = new Map<number, ReaderReject[]>();
  for (const e of errors) {
    const line = Number(e.line);
    const same = byLine.get(line);
    if (same) same.push(e);
    else byLine.set(line, [e]);
  }
  const lines = [...byLine.keys()].sort((a, b) => a - b);
  await wh.run('CREATE OR REPLACE TEMP TABLE _tv_shift (t BIGINT)');
  for (let i = 0; i < lines.length; i += INSERT_BATCH) {
    const values = lines
      .slice(i, i + INSERT_BATCH)
      .map((l, j) => `(${l - (i + j + 1)})`)
      .join(', ');
    await wh.run(`INSERT INTO _tv_shift VALUES ${values}`);
  }
  const shift = (col: string) => `(SELECT count(*) FROM _tv_shift s WHERE s.t < ${col})`;
  const table = qualified('raw', src.name);
  await wh.run(`UPDATE ${table} SET _row = _row + ${shift(`${table}._row`)} WHERE _file_id = ${fileId}`);
  await wh.run(
    `UPDATE ${REJECTS} SET line = line + ${shift(`${REJECTS}.line`)}
     WHERE load_id = ${loadId} AND source = ${str(src.name)} AND file = ${str(file.display)}`,
  );
  await wh.run('DROP TABLE _tv_shift');

  const rows = lines.map((line) => {
    const errs = byLine.get(line)!;
    const reason = errs.map((e) => readerReason(e, read)).join('; ');
    const column = errs.find((e) => e.column_name)?.column_name ?? null;
    return { line, kind: readerKind(errs[0]!), column, reason, raw: errs[0]?.csv_line ?? null };
  });
  await insertRejects(wh, loadId, src.name, file.display, rows);
}

function readerKind(e: ReaderReject): RejectKind {
  if (e.error_type === 'CAST') return 'unreadable_value';
  if (e.error_type === 'TOO MANY COLUMNS' || e.error_type === 'MISSING COLUMNS') return 'column_count';
  return 'malformed_line';
}

function readerReason(e: ReaderReject, read: FileRead): string {
  const msg = e.error_message.replace(/\s+/g, ' ').trim();
  if (e.error_type === 'CAST') {
    const m = /Could not convert string "(.*)" to '([^']+)'/.exec(msg);
    if (m) return `column ${e.column_name}: cannot read "${m[1]}" as ${m[2]}`;
  }
  if (read.headerLines === 0 && e.error_type === 'TOO MANY COLUMNS')
    return 'line contains a control character (\\x01)';
  const cols = /Expected Number of Columns: (\d+) Found: (\d+)/.exec(msg);
  if (cols) return `expected ${cols[1]} columns, found ${cols[2]}`;
  return msg.replace(/^Error when converting column "[^"]+"\. /, '');
}

/**
 * Rows the reader accepted but that lack what Tagverse needs: an entity key, a readable timestamp,
 * an event id (when configured), a lookup key. They are recorded with their raw line and removed.
 */
export async function collectRowRejects(
  wh: Warehouse,
  src: SourceConfig,
  file: SourceFile,
  fileId: number,
  loadId: number,
  plan: readonly PlannedColumn[],
  read: FileRead,
): Promise<void> {
  const table = qualified('raw', src.name);
  const keyCol = src.kind === 'lookup' ? src.key : src.entityKey;
  const tsCol = src.kind === 'events' ? src.timestamp.column : undefined;
  const idCol = src.kind === 'events' ? src.eventId : undefined;
  const conds = [`${ident(keyCol)} IS NULL`];
  if (tsCol) conds.push(`${ident(tsCol)} IS NULL`);
  if (idCol) conds.push(`${ident(idCol)} IS NULL`);
  const where = `_file_id = ${fileId} AND (${conds.join(' OR ')})`;
  const flagged = await wh.jsonRows<{ row: number; nk: boolean; nts: boolean; nid: boolean }>(
    `SELECT _row AS row, ${ident(keyCol)} IS NULL AS nk, ${tsCol ? `${ident(tsCol)} IS NULL` : 'false'} AS nts,
       ${idCol ? `${ident(idCol)} IS NULL` : 'false'} AS nid
     FROM ${table} WHERE ${where} ORDER BY _row`,
  );
  if (flagged.length === 0) return;
  const tsPlan = plan.find((p) => p.role === 'timestamp');
  const raw = await rawContent(
    wh,
    src,
    file,
    read,
    flagged.map((f) => Number(f.row)),
    tsPlan?.fileColumn,
  );
  const tsFormat = src.kind === 'events' ? src.timestamp.format : undefined;
  const rows = flagged.map((f) => {
    const line = Number(f.row);
    const r = raw.get(line);
    const reasons: string[] = [];
    let column: string | null = null;
    let kind: RejectKind = 'missing_key';
    if (f.nk) {
      reasons.push(src.kind === 'lookup' ? `missing key '${keyCol}'` : `missing entity key '${keyCol}'`);
      column = keyCol;
    }
    if (f.nts && tsCol) {
      const v = r?.ts;
      const expected = tsFormat
        ? ` with format '${tsFormat}'`
        : ' as ISO 8601 (e.g. 2025-03-01 12:30:00+09:00)';
      reasons.push(
        v === null || v === undefined || v.trim() === ''
          ? `missing timestamp '${tsCol}'`
          : `cannot parse timestamp '${tsCol}' value ${JSON.stringify(v)}${expected}`,
      );
      if (column === null) kind = 'bad_timestamp';
      column ??= tsCol;
    }
    if (f.nid && idCol) {
      reasons.push(`missing event id '${idCol}'`);
      if (column === null) kind = 'missing_event_id';
      column ??= idCol;
    }
    return { line, kind, column, reason: reasons.join('; '), raw: r?.raw ?? null };
  });
  await insertRejects(wh, loadId, src.name, file.display, rows);
  await wh.run(`DELETE FROM ${table} WHERE ${where}`);
}

/** Raw content (and the raw timestamp text) of the given physical lines / rows of a file. */
async function rawContent(
  wh: Warehouse,
  src: SourceConfig,
  file: SourceFile,
  read: FileRead,
  lines: readonly number[],
  tsFileColumn: string | undefined,
): Promise<Map<number, { raw: string | null; ts: string | null }>> {
  const out = new Map<number, { raw: string | null; ts: string | null }>();
  await wh.run('CREATE OR REPLACE TEMP TABLE _tv_lines (line BIGINT)');
  for (let i = 0; i < lines.length; i += INSERT_BATCH) {
    await wh.run(
      `INSERT INTO _tv_lines VALUES ${lines
        .slice(i, i + INSERT_BATCH)
        .map((l) => `(${l})`)
        .join(', ')}`,
    );
  }
  const wanted = 'IN (SELECT line FROM _tv_lines)';
  try {
    if (file.format === 'parquet') {
      const ts = tsFileColumn ? `CAST(r.${ident(tsFileColumn)} AS VARCHAR)` : 'NULL';
      const rows = await wh.jsonRows<{ line: number; raw: string; ts: string | null }>(
        `SELECT file_row_number + 1 AS line, CAST(to_json(r) AS VARCHAR) AS raw, ${ts} AS ts
         FROM read_parquet(${str(file.path)}, file_row_number = true) r WHERE file_row_number + 1 ${wanted}`,
      );
      for (const r of rows) out.set(Number(r.line), { raw: clip(r.raw), ts: r.ts });
      return out;
    }
    const rawLines = await wh.jsonRows<{ line: number; raw: string | null }>(
      `SELECT ordinality AS line, line AS raw FROM read_csv(${str(file.path)}, columns = {'line': 'VARCHAR'}, header = false,
         delim = chr(1), quote = '', escape = '', auto_detect = false, strict_mode = false, null_padding = true) WITH ORDINALITY
       WHERE ordinality ${wanted} OR ordinality <= ${read.headerLines}`,
    );
    const byLine = new Map(rawLines.map((r) => [Number(r.line), r.raw]));
    if (file.format === 'jsonl') {
      for (const l of lines) {
        const raw = byLine.get(l) ?? null;
        let ts: string | null = null;
        if (raw && tsFileColumn) {
          try {
            const v = (JSON.parse(raw) as Record<string, unknown>)[tsFileColumn];
            ts = v === null || v === undefined ? null : typeof v === 'string' ? v : JSON.stringify(v);
          } catch {
            ts = null;
          }
        }
        out.set(l, { raw: clip(raw), ts });
      }
      return out;
    }
    // CSV: parse just these lines again with the same dialect to see the raw timestamp text.
    const tsByLine = new Map<number, string | null>();
    if (tsFileColumn) {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'tagverse-rejects-'));
      try {
        const tmp = path.join(dir, 'lines.csv');
        const header = read.headerLines > 0 ? [byLine.get(read.headerLines) ?? ''] : [];
        writeFileSync(tmp, `${[...header, ...lines.map((l) => byLine.get(l) ?? '')].join('\n')}\n`);
        const opts: string[] = [
          `header = ${read.headerLines > 0}`,
          'all_varchar = true',
          'strict_mode = false',
          'null_padding = true',
        ];
        opts.push(...csvDialect(src, file.format));
        const vals = await wh.jsonRows<{ i: number; ts: string | null }>(
          `SELECT ordinality AS i, ${ident(tsFileColumn)} AS ts FROM read_csv(${str(tmp)}, ${opts.join(', ')}) WITH ORDINALITY`,
        );
        for (const v of vals) {
          const l = lines[Number(v.i) - 1];
          if (l !== undefined) tsByLine.set(l, v.ts);
        }
      } catch {
        // The reason then says the value could not be parsed without quoting it; the raw line is still kept.
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    for (const l of lines) out.set(l, { raw: clip(byLine.get(l) ?? null), ts: tsByLine.get(l) ?? null });
    return out;
  } finally {
    await wh.run('DROP TABLE IF EXISTS _tv_lines');
  }
}

function clip(s: string | null): string | null {
  return s !== null && s.length > MAX_RAW_CHARS ? `${s.slice(0, MAX_RAW_CHARS)}…` : s;
}

async function insertRejects(
  wh: Warehouse,
  loadId: number,
  source: string,
  file: string,
  rows: readonly {
    line: number;
    kind: RejectKind;
    column: string | null;
    reason: string;
    raw: string | null;
  }[],
): Promise<void> {
  const lit = (s: string | null) => (s === null ? 'NULL' : str(s.replace(/\u0000/g, '\\0')));
  for (let i = 0; i < rows.length; i += INSERT_BATCH) {
    const values = rows
      .slice(i, i + INSERT_BATCH)
      .map(
        (r) =>
          `(${loadId}, ${str(source)}, ${str(file)}, ${r.line}, ${str(r.kind)}, ${lit(r.column)}, ${lit(r.reason)}, ${lit(r.raw)})`,
      )
      .join(',\n');
    await wh.run(`INSERT INTO ${REJECTS} VALUES ${values}`);
  }
}
