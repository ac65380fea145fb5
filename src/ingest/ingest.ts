/**
 * `tagverse ingest`: load sources into the warehouse with DuckDB's own readers, atomically.
 *
 * One ingest is one transaction: either every selected source lands, or the warehouse is exactly
 * as before (rejects over `max_reject_ratio`, a schema change, any error). Files already loaded
 * (same SHA-256) are skipped, changed files replace their earlier rows, `replace` reloads a source.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { ProjectConfig, SourceConfig } from '../config/project.js';
import { requireProject } from '../config/project.js';
import { didYouMeanSuffix } from '../util/did-you-mean.js';
import { TagverseError } from '../util/problems.js';
import { syncSources } from '../warehouse/clickhouse-cluster.js';
import { ident, qualified, str } from '../warehouse/sql.js';
import { Warehouse } from '../warehouse/warehouse.js';
import { type PlannedColumn, planColumns } from './column-plan.js';
import { resolveFiles, type SourceFile, sha256File } from './files.js';
import {
  ensureMetadataTables,
  FILES,
  LOADS,
  type LoadedFile,
  loadedFiles,
  nextId,
  REJECTS,
} from './metadata.js';
import {
  buildFileRead,
  CSV_REJECTS_SCANS,
  CSV_REJECTS_TABLE,
  describeToColumns,
  sniffSql,
} from './readers.js';
import { collectRowRejects, renumberAfterReaderRejects } from './rejects.js';
import { rebuildViews } from './views.js';

export interface IngestProgress {
  readonly phase: 'fingerprint' | 'load' | 'validate' | 'views';
  readonly source?: string;
  readonly file?: string;
  /** Index of the file within its source (0-based) and the number of files to load. */
  readonly fileIndex?: number;
  readonly fileCount?: number;
  /** Progress of the current step, 0..1, when known. */
  readonly fraction?: number;
}

export interface IngestOptions {
  /** Sources to load (default: all). */
  readonly sources?: readonly string[];
  /** Reload the selected sources from scratch, atomically. */
  readonly replace?: boolean;
  readonly onProgress?: (p: IngestProgress) => void;
}

export interface IngestFileResult {
  readonly path: string;
  readonly status: 'loaded' | 'reloaded' | 'unchanged' | 'duplicate';
  readonly rowsLoaded: number;
  readonly rowsRejected: number;
  /** For duplicates: the already loaded file with the same content. */
  readonly duplicateOf?: string;
}

export interface IngestSourceResult {
  readonly name: string;
  readonly kind: SourceConfig['kind'];
  readonly rowsLoaded: number;
  readonly rowsRejected: number;
  /** Files loaded by this run. */
  readonly files: number;
  readonly filesSkipped: number;
  readonly replaced: boolean;
  readonly fileResults: readonly IngestFileResult[];
  /** Most frequent kinds of reject of this run, with an example each. */
  readonly topRejectReasons: readonly RejectSummary[];
}

export interface RejectSummary {
  readonly kind: string;
  readonly column: string | null;
  readonly count: number;
  /** `file:line: reason` of the first such reject. */
  readonly example: string;
}

export interface IngestResult {
  readonly loadId: number;
  readonly sources: readonly IngestSourceResult[];
  readonly warnings: readonly string[];
  readonly elapsedMs: number;
}

/** Raised when too many rows are rejected; nothing was loaded. */
export class RejectThresholdError extends TagverseError {
  constructor(
    message: string,
    readonly rejectsFile: string,
    readonly source: string,
    readonly rejected: number,
    readonly total: number,
  ) {
    super('ingest.too_many_rejects', message);
  }
}

const KIND_ORDER: Record<SourceConfig['kind'], number> = { lookup: 0, profile: 1, events: 2 };

/**
 * Load the project's sources into its warehouse.
 * @example
 *   const result = await ingest('./my-project');
 *   console.log(result.sources.map((s) => `${s.name}: ${s.rowsLoaded} rows`));
 */
export async function ingest(
  project: ProjectConfig | string,
  opts: IngestOptions = {},
): Promise<IngestResult> {
  const config = typeof project === 'string' ? requireProject(project) : project;
  const started = Date.now();
  const selected = selectSources(config, opts.sources);
  const progress = opts.onProgress ?? (() => {});

  const filesBySource = new Map<string, SourceFile[]>();
  for (const src of selected) {
    filesBySource.set(src.name, await resolveFiles(config.dir, src.name, src.files, src.format));
  }

  const wh = await Warehouse.open(config.engine.path, {
    ...(config.engine.threads !== undefined ? { threads: config.engine.threads } : {}),
    ...(config.engine.memoryLimit !== undefined ? { memoryLimit: config.engine.memoryLimit } : {}),
  });
  try {
    await ensureMetadataTables(wh);
    const known = await loadedFiles(wh);
    const hashes = await fingerprints(filesBySource, known, progress);
    const loadId = await nextId(wh, LOADS, 'load_id');
    const warnings: string[] = [];
    const results = await wh.transaction(async () => {
      const out: IngestSourceResult[] = [];
      for (const src of selected) {
        out.push(
          await ingestSource(
            wh,
            config,
            src,
            filesBySource.get(src.name)!,
            hashes,
            loadId,
            opts.replace ?? false,
            progress,
          ),
        );
      }
      progress({ phase: 'views' });
      warnings.push(...(await rebuildViews(wh, config)));
      const totals = out.reduce(
        (a, s) => ({
          files: a.files + s.files,
          loaded: a.loaded + s.rowsLoaded,
          rejected: a.rejected + s.rowsRejected,
        }),
        { files: 0, loaded: 0, rejected: 0 },
      );
      const now = new Date().toISOString();
      await wh.run(
        `INSERT INTO ${LOADS} VALUES (${loadId}, ${str(new Date(started).toISOString())}, ${str(now)},
          ${`[${selected.map((s) => str(s.name)).join(', ')}]`}::VARCHAR[], ${totals.files}, ${totals.loaded}, ${totals.rejected})`,
      );
      return out;
    });
    // engine clickhouse: the cluster gets a fresh copy of what tags read, sharded by entity id.
    if (config.engine.kind === 'clickhouse') {
      progress({ phase: 'views' });
      await syncSources(wh, config);
    }
    return { loadId, sources: results, warnings, elapsedMs: Date.now() - started };
  } finally {
    wh.close();
  }
}

function selectSources(config: ProjectConfig, names: readonly string[] | undefined): SourceConfig[] {
  const all = [...config.sources.values()];
  if (!names || names.length === 0) return all.sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind]);
  const picked: SourceConfig[] = [];
  for (const n of names) {
    const s = config.sources.get(n);
    if (!s) {
      throw new TagverseError(
        'ingest.unknown_source',
        `unknown source '${n}'${didYouMeanSuffix(n, config.sources.keys())}`,
      );
    }
    if (!picked.includes(s)) picked.push(s);
  }
  return picked.sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind]);
}

/** SHA-256 per file path, reusing the recorded hash when path, size and mtime are unchanged. */
async function fingerprints(
  filesBySource: ReadonlyMap<string, SourceFile[]>,
  known: readonly LoadedFile[],
  progress: (p: IngestProgress) => void,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const [source, files] of filesBySource) {
    for (const [i, f] of files.entries()) {
      const same = known.find(
        (k) => k.source === source && k.path === f.display && k.size === f.size && k.mtimeMs === f.mtimeMs,
      );
      if (same) {
        out.set(f.path, same.sha256);
        continue;
      }
      progress({ phase: 'fingerprint', source, file: f.display, fileIndex: i, fileCount: files.length });
      out.set(f.path, await sha256File(f.path));
    }
  }
  return out;
}

async function ingestSource(
  wh: Warehouse,
  config: ProjectConfig,
  src: SourceConfig,
  files: readonly SourceFile[],
  hashes: ReadonlyMap<string, string>,
  loadId: number,
  replace: boolean,
  progress: (p: IngestProgress) => void,
): Promise<IngestSourceResult> {
  const table = qualified('raw', src.name);
  if (replace) {
    await wh.run(`DROP TABLE IF EXISTS ${table}`);
    await wh.run(`DELETE FROM ${FILES} WHERE source = ${str(src.name)}`);
  }
  let known = await loadedFiles(wh, [src.name]);
  const fileResults: IngestFileResult[] = [];
  const newFileIds: number[] = [];
  const toLoad: { file: SourceFile; sha: string; reloaded: boolean }[] = [];
  for (const f of files) {
    const sha = hashes.get(f.path)!;
    const sameContent = known.find((k) => k.sha256 === sha);
    if (sameContent) {
      fileResults.push(
        sameContent.path === f.display
          ? { path: f.display, status: 'unchanged', rowsLoaded: 0, rowsRejected: 0 }
          : {
              path: f.display,
              status: 'duplicate',
              rowsLoaded: 0,
              rowsRejected: 0,
              duplicateOf: sameContent.path,
            },
      );
      continue;
    }
    const samePath = known.find((k) => k.path === f.display);
    if (samePath) {
      // The file changed since it was loaded: its old rows go, the new content comes in.
      if (await wh.tableExists('raw', src.name))
        await wh.run(`DELETE FROM ${table} WHERE _file_id = ${samePath.fileId}`);
      await wh.run(`DELETE FROM ${FILES} WHERE file_id = ${samePath.fileId}`);
      known = known.filter((k) => k !== samePath);
    }
    toLoad.push({ file: f, sha, reloaded: samePath !== undefined });
    // Two identical files in one run: load only the first.
    known = [
      ...known,
      { fileId: -1, source: src.name, path: f.display, size: f.size, mtimeMs: f.mtimeMs, sha256: sha },
    ];
  }

  let loaded = 0;
  let rejected = 0;
  for (const [i, { file, sha, reloaded }] of toLoad.entries()) {
    const fileId = await nextId(wh, FILES, 'file_id');
    progress({
      phase: 'load',
      source: src.name,
      file: file.display,
      fileIndex: i,
      fileCount: toLoad.length,
      fraction: 0,
    });
    const r = await loadFile(wh, config, src, file, fileId, loadId, (fraction) =>
      progress({
        phase: 'load',
        source: src.name,
        file: file.display,
        fileIndex: i,
        fileCount: toLoad.length,
        fraction,
      }),
    );
    await wh.run(
      `INSERT INTO ${FILES} VALUES (${fileId}, ${str(src.name)}, ${str(file.display)}, ${str(file.format)}, ${file.size},
        ${file.mtimeMs}, ${str(sha)}, ${r.loaded}, ${r.rejected}, ${loadId}, now())`,
    );
    newFileIds.push(fileId);
    loaded += r.loaded;
    rejected += r.rejected;
    fileResults.push({
      path: file.display,
      status: reloaded ? 'reloaded' : 'loaded',
      rowsLoaded: r.loaded,
      rowsRejected: r.rejected,
    });
  }

  if (newFileIds.length > 0) {
    progress({ phase: 'validate', source: src.name });
    const dup = await rejectDuplicates(wh, src, newFileIds, loadId);
    loaded -= dup.total;
    rejected += dup.total;
    for (const [fileId, n] of dup.byFile) {
      await wh.run(
        `UPDATE ${FILES} SET rows_loaded = rows_loaded - ${n}, rows_rejected = rows_rejected + ${n} WHERE file_id = ${fileId}`,
      );
      const idx = fileResults.findIndex((f) => f.path === toLoad[newFileIds.indexOf(fileId)]?.file.display);
      const fr = fileResults[idx];
      if (fr) fileResults[idx] = { ...fr, rowsLoaded: fr.rowsLoaded - n, rowsRejected: fr.rowsRejected + n };
    }
  }

  const topRejectReasons = rejected > 0 ? await topReasons(wh, loadId, src.name) : [];
  const total = loaded + rejected;
  if (total > 0 && rejected / total > config.settings.maxRejectRatio) {
    const rejectsFile = await saveRejects(wh, config, loadId, src.name);
    const pct = (x: number) => `${(x * 100).toFixed(x < 0.01 ? 2 : 1)}%`;
    throw new RejectThresholdError(
      `source '${src.name}': ${rejected} of ${total} rows rejected (${pct(rejected / total)}), more than max_reject_ratio ${pct(config.settings.maxRejectRatio)}; nothing was loaded. ` +
        `Most common: ${topRejectReasons.map((r) => `${r.count} x ${r.example}`).join('; ')}. All rejected rows: ${rejectsFile}`,
      rejectsFile,
      src.name,
      rejected,
      total,
    );
  }
  return {
    name: src.name,
    kind: src.kind,
    rowsLoaded: loaded,
    rowsRejected: rejected,
    files: toLoad.length,
    filesSkipped: files.length - toLoad.length,
    replaced: replace,
    fileResults: [...fileResults].sort(
      (a, b) => files.findIndex((f) => f.display === a.path) - files.findIndex((f) => f.display === b.path),
    ),
    topRejectReasons,
  };
}

/** Load one file into `raw.<source>`; returns rows kept and rows rejected. */
async function loadFile(
  wh: Warehouse,
  config: ProjectConfig,
  src: SourceConfig,
  file: SourceFile,
  fileId: number,
  loadId: number,
  onFraction: (f: number) => void,
): Promise<{ loaded: number; rejected: number }> {
  const table = qualified('raw', src.name);
  const exists = await wh.tableExists('raw', src.name);
  let fileColumns: ReturnType<typeof describeToColumns>;
  try {
    fileColumns = describeToColumns(await wh.jsonRows(sniffSql(file, src)));
  } catch (e) {
    throw new TagverseError(
      'ingest.unreadable_file',
      `source '${src.name}': cannot read ${file.display}: ${firstLine(e)}`,
    );
  }
  const existing = exists ? await wh.columns('raw', src.name) : undefined;
  const plan = planColumns(src, fileColumns, config.entity.idType, file.display, existing);
  if (!exists) {
    const cols = plan.map((p) => `${ident(p.name)} ${p.tableType}`);
    await wh.run(
      `CREATE TABLE ${table} (${cols.join(', ')}, "_file_id" INTEGER NOT NULL, "_row" BIGINT NOT NULL)`,
    );
  }
  const read = buildFileRead(file, src, plan);
  const fileLit = str(file.display);
  const srcLit = str(src.name);

  if (read.readerRejects) {
    await wh.run(`DROP TABLE IF EXISTS temp.main.${ident(CSV_REJECTS_TABLE)}`);
    await wh.run(`DROP TABLE IF EXISTS temp.main.${ident(CSV_REJECTS_SCANS)}`);
  }
  const anyCheck = read.checks.length > 0 ? `(${read.checks.map((c) => c.condition).join(' OR ')})` : 'false';
  const notSkipped = read.skip ? `NOT ${read.skip}` : 'true';
  try {
    if (read.sessionTimeZone) await wh.run(`SET TimeZone = ${str(read.sessionTimeZone)}`);
    if (read.checks.length > 0) {
      const reason = `COALESCE(${read.checks.map((c) => `CASE WHEN ${c.condition} THEN ${c.reason} END`).join(', ')})`;
      const column = `COALESCE(${read.checks.map((c) => `CASE WHEN ${c.condition} THEN ${c.column ? str(c.column) : 'NULL'} END`).join(', ')})`;
      const kind = `COALESCE(${read.checks.map((c) => `CASE WHEN ${c.condition} THEN ${str(c.kind)} END`).join(', ')})`;
      await wh.run(
        `INSERT INTO ${REJECTS} SELECT ${loadId}, ${srcLit}, ${fileLit}, ${read.rowExpr}, ${kind}, ${column}, ${reason}, CAST(${read.rawExpr} AS VARCHAR)
         FROM ${read.from} WHERE ${notSkipped} AND ${anyCheck}`,
      );
    }
    const selectList = plan.map((p: PlannedColumn) => read.exprs.get(p.name)!).join(', ');
    const insert = `INSERT INTO ${table} (${plan.map((p) => ident(p.name)).join(', ')}, "_file_id", "_row")
      SELECT ${selectList}, ${fileId}, ${read.rowExpr} FROM ${read.from} WHERE ${notSkipped} AND NOT ${anyCheck}`;
    try {
      await wh.runWithProgress(insert, onFraction);
    } catch (e) {
      throw new TagverseError(
        'ingest.load_failed',
        `source '${src.name}': loading ${file.display} failed: ${firstLine(e)}`,
      );
    }
  } finally {
    if (read.sessionTimeZone) await wh.run(`SET TimeZone = 'UTC'`);
  }

  if (read.readerRejects) await renumberAfterReaderRejects(wh, read, src, file, fileId, loadId);
  await collectRowRejects(wh, src, file, fileId, loadId, plan, read);

  const loaded = Number(await wh.scalar(`SELECT count(*) FROM ${table} WHERE _file_id = ${fileId}`));
  const rejected = Number(
    await wh.scalar(
      `SELECT count(*) FROM ${REJECTS} WHERE load_id = ${loadId} AND source = ${srcLit} AND file = ${fileLit}`,
    ),
  );
  return { loaded, rejected };
}

/**
 * Duplicate event ids (events with `event_id`) and duplicate keys (profiles, lookups) among the rows just
 * loaded: the first occurrence stays, later ones are rejected. For profiles and lookups a key that
 * already existed before this run is replaced by the new row (newer files win).
 */
async function rejectDuplicates(
  wh: Warehouse,
  src: SourceConfig,
  newFileIds: readonly number[],
  loadId: number,
): Promise<{ total: number; byFile: Map<number, number> }> {
  const keyCol = src.kind === 'events' ? src.eventId : src.kind === 'profile' ? src.entityKey : src.key;
  const byFile = new Map<number, number>();
  if (keyCol === undefined) return { total: 0, byFile };
  const table = qualified('raw', src.name);
  const key = ident(keyCol);
  const fresh = `_file_id IN (${newFileIds.join(', ')})`;
  if (src.kind !== 'events') {
    await wh.run(
      `DELETE FROM ${table} WHERE NOT ${fresh} AND ${key} IN (SELECT ${key} FROM ${table} WHERE ${fresh})`,
    );
  }
  const what = src.kind === 'events' ? 'event id' : src.kind === 'profile' ? 'entity key' : 'key';
  // Duplicates are rare: find the keys first (one hash aggregate) and stop there when there are none.
  const unique = await wh.scalar<boolean>(`SELECT count(${key}) = count(DISTINCT ${key}) FROM ${table}`);
  if (unique) return { total: 0, byFile };
  await wh.run(
    `CREATE OR REPLACE TEMP TABLE _tv_dupkeys AS SELECT ${key} AS k FROM ${table} GROUP BY ${key} HAVING count(*) > 1`,
  );
  await wh.run(`CREATE OR REPLACE TEMP TABLE _tv_dups AS
    SELECT d._file_id, d._row, d.k, f.path AS first_path, d.first_row FROM (
      SELECT t._file_id, t._row, CAST(t.${key} AS VARCHAR) AS k,
        first_value(t._file_id) OVER w AS first_file, first_value(t._row) OVER w AS first_row,
        row_number() OVER w AS rn
      FROM ${table} t SEMI JOIN _tv_dupkeys dk ON dk.k = t.${key}
      WINDOW w AS (PARTITION BY t.${key} ORDER BY t._file_id, t._row)
    ) d JOIN ${FILES} f ON f.file_id = d.first_file
    WHERE d.rn > 1 AND d.${fresh}`);
  await wh.run('DROP TABLE _tv_dupkeys');
  const counts = await wh.jsonRows<{ file_id: number; n: number }>(
    `SELECT _file_id AS file_id, count(*)::INTEGER AS n FROM _tv_dups GROUP BY 1`,
  );
  if (counts.length > 0) {
    await wh.run(
      `INSERT INTO ${REJECTS} SELECT ${loadId}, ${str(src.name)}, f.path, d._row, 'duplicate', ${str(keyCol)},
         'duplicate ${what} ' || to_json(d.k) || ' (first at ' || d.first_path || ' line ' || d.first_row || ')', NULL
       FROM _tv_dups d JOIN ${FILES} f ON f.file_id = d._file_id`,
    );
    await wh.run(`DELETE FROM ${table} t USING _tv_dups d WHERE t._file_id = d._file_id AND t._row = d._row`);
  }
  await wh.run('DROP TABLE IF EXISTS _tv_dups');
  let total = 0;
  for (const c of counts) {
    byFile.set(Number(c.file_id), Number(c.n));
    total += Number(c.n);
  }
  return { total, byFile };
}

/** The most common kinds of reject of this load, each with one example (file, line, reason). */
async function topReasons(wh: Warehouse, loadId: number, source: string): Promise<RejectSummary[]> {
  const rows = await wh.jsonRows<{ kind: string; column: string | null; n: number; example: string }>(
    `SELECT kind, "column", count(*)::INTEGER AS n, arg_min(file || ':' || line || ': ' || reason, line) AS example
     FROM ${REJECTS} WHERE load_id = ${loadId} AND source = ${str(source)}
     GROUP BY kind, "column" ORDER BY n DESC, kind, "column" LIMIT 5`,
  );
  return rows.map((r) => ({ kind: r.kind, column: r.column, count: Number(r.n), example: r.example }));
}

/** Before a rollback: keep the rejected rows in a CSV under `.tagverse/rejects/` so the user can inspect them. */
async function saveRejects(
  wh: Warehouse,
  config: ProjectConfig,
  loadId: number,
  source: string,
): Promise<string> {
  const dir = path.join(path.dirname(config.engine.path), 'rejects');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `load-${loadId}-${source}.csv`);
  await wh.run(
    `COPY (SELECT file, line, kind, "column", reason, raw FROM ${REJECTS} WHERE load_id = ${loadId} AND source = ${str(source)} ORDER BY file, line)
     TO ${str(file)} (HEADER, DELIMITER ',')`,
  );
  return file;
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0] ?? msg;
}
