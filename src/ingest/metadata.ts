/**
 * Ingest bookkeeping inside the warehouse (schema `tagverse`): loads, files with fingerprints,
 * and rejected rows with file, line, raw content and reason.
 */
import type { Warehouse } from '../warehouse/warehouse.js';

export const LOADS = 'tagverse.loads';
export const FILES = 'tagverse.files';
export const REJECTS = 'tagverse.rejects';

/** Why a row was rejected, as a stable code (the `reason` column has the human sentence). */
export type RejectKind =
  | 'unreadable_value'
  | 'column_count'
  | 'missing_key'
  | 'bad_timestamp'
  | 'missing_event_id'
  | 'duplicate'
  | 'malformed_json'
  | 'malformed_line';

export async function ensureMetadataTables(wh: Warehouse): Promise<void> {
  await wh.run(`CREATE TABLE IF NOT EXISTS ${LOADS} (
    load_id BIGINT NOT NULL, started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ NOT NULL,
    sources VARCHAR[] NOT NULL, files_loaded INTEGER NOT NULL, rows_loaded BIGINT NOT NULL, rows_rejected BIGINT NOT NULL)`);
  await wh.run(`CREATE TABLE IF NOT EXISTS ${FILES} (
    file_id INTEGER NOT NULL, source VARCHAR NOT NULL, path VARCHAR NOT NULL, format VARCHAR NOT NULL,
    size BIGINT NOT NULL, mtime_ms DOUBLE NOT NULL, sha256 VARCHAR NOT NULL,
    rows_loaded BIGINT NOT NULL, rows_rejected BIGINT NOT NULL, load_id BIGINT NOT NULL, loaded_at TIMESTAMPTZ NOT NULL)`);
  await wh.run(`CREATE TABLE IF NOT EXISTS ${REJECTS} (
    load_id BIGINT NOT NULL, source VARCHAR NOT NULL, file VARCHAR NOT NULL, line BIGINT,
    kind VARCHAR NOT NULL, "column" VARCHAR, reason VARCHAR NOT NULL, raw VARCHAR)`);
}

export interface LoadedFile {
  readonly fileId: number;
  readonly source: string;
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly sha256: string;
}

export async function loadedFiles(wh: Warehouse, sources?: readonly string[]): Promise<LoadedFile[]> {
  const rows = await wh.jsonRows<{
    file_id: number;
    source: string;
    path: string;
    size: number;
    mtime_ms: number;
    sha256: string;
  }>(`SELECT file_id, source, path, size, mtime_ms, sha256 FROM ${FILES} ORDER BY file_id`);
  return rows
    .filter((r) => !sources || sources.includes(r.source))
    .map((r) => ({
      fileId: Number(r.file_id),
      source: r.source,
      path: r.path,
      size: Number(r.size),
      mtimeMs: Number(r.mtime_ms),
      sha256: r.sha256,
    }));
}

export async function nextId(wh: Warehouse, table: string, column: string): Promise<number> {
  const max = await wh.scalar<number | bigint | null>(`SELECT max(${column}) FROM ${table}`);
  return max === null || max === undefined ? 1 : Number(max) + 1;
}
