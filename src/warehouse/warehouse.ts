/**
 * The embedded warehouse: one DuckDB file under the project (`.tagverse/warehouse.duckdb` by default).
 * A thin wrapper that owns the connection, transactions and progress polling; SQL is built elsewhere.
 *
 * Schemas inside the file:
 * - `raw`      ingested rows, one table per source (plus `_file_id`, `_row` for provenance)
 * - `main`     one view per source: raw rows joined with their lookups (what tags read)
 * - `tagverse` metadata: files loaded, loads, rejected rows
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { type DuckDBConnection, DuckDBInstance, type DuckDBValue } from '@duckdb/node-api';
import { ident, str } from './sql.js';

export type Row = Record<string, unknown>;

/** TAGVERSE_TRACE_SQL=<ms> logs every statement slower than that many milliseconds to stderr. */
const TRACE = process.env.TAGVERSE_TRACE_SQL !== undefined;
const TRACE_MS = Number(process.env.TAGVERSE_TRACE_SQL || 0);
function trace(sql: string, ms: number): void {
  if (ms >= TRACE_MS)
    process.stderr.write(`[sql ${ms.toFixed(0)} ms] ${sql.replace(/\s+/g, ' ').slice(0, 300)}\n`);
}

export interface WarehouseOptions {
  readonly threads?: number;
  readonly memoryLimit?: string;
  readonly readOnly?: boolean;
}

export class Warehouse {
  private inTransaction = false;

  private constructor(
    readonly file: string,
    private readonly instance: DuckDBInstance,
    readonly connection: DuckDBConnection,
  ) {}

  /** Open (creating if needed) the warehouse file. `:memory:` gives a throwaway in-memory warehouse. */
  static async open(file: string, opts: WarehouseOptions = {}): Promise<Warehouse> {
    if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
    const config: Record<string, string> = {};
    if (opts.threads !== undefined) config.threads = String(opts.threads);
    if (opts.memoryLimit !== undefined) config.memory_limit = opts.memoryLimit;
    if (opts.readOnly) config.access_mode = 'READ_ONLY';
    // Extensions must never be fetched at run time (no network): only the statically linked ones are used.
    config.autoinstall_known_extensions = 'false';
    config.autoload_known_extensions = 'false';
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(file, config);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      if (/lock/i.test(msg)) {
        throw new Error(`the warehouse ${file} is in use by another process (${msg.split('\n')[0]})`);
      }
      throw e;
    }
    const connection = await instance.connect();
    const wh = new Warehouse(file, instance, connection);
    // Sessions start in UTC so nothing depends on the machine's zone; readers set a source's zone explicitly.
    await wh.run(`SET TimeZone = 'UTC'`);
    if (!opts.readOnly) {
      for (const schema of ['raw', 'tagverse']) await wh.run(`CREATE SCHEMA IF NOT EXISTS ${ident(schema)}`);
    }
    return wh;
  }

  async run(sql: string, params?: DuckDBValue[]): Promise<void> {
    const t = TRACE ? performance.now() : 0;
    await this.connection.run(sql, params);
    if (TRACE) trace(sql, performance.now() - t);
  }

  /** Rows as plain JS objects (BIGINT -> bigint; use `numberRows` when you need numbers). */
  async rows<T extends Row = Row>(sql: string, params?: DuckDBValue[]): Promise<T[]> {
    const reader = await this.connection.runAndReadAll(sql, params);
    return reader.getRowObjectsJS() as T[];
  }

  /**
   * Rows as plain objects with integers as JS numbers (BIGINT beyond 2^53 stays a string), DECIMAL as
   * numbers, dates and timestamps as strings: what tests, JSON output and the API want.
   */
  async objects<T extends Row = Row>(sql: string, params?: DuckDBValue[]): Promise<T[]> {
    const t = TRACE ? performance.now() : 0;
    const reader = await this.connection.runAndReadAll(sql, params);
    if (TRACE) trace(sql, performance.now() - t);
    return reader.getRowObjectsJS().map((row) => {
      const out: Row = {};
      for (const [k, v] of Object.entries(row)) out[k] = plain(v);
      return out as T;
    });
  }

  /** Rows as DuckDB's JSON conversion gives them (BIGINT and DECIMAL as strings). */
  async jsonRows<T extends Row = Row>(sql: string, params?: DuckDBValue[]): Promise<T[]> {
    const reader = await this.connection.runAndReadAll(sql, params);
    return reader.getRowObjectsJson() as unknown as T[];
  }

  /** The single value of a one-row, one-column query. */
  async scalar<T = unknown>(sql: string, params?: DuckDBValue[]): Promise<T> {
    const reader = await this.connection.runAndReadAll(sql, params);
    const rows = reader.getRowsJS();
    return rows[0]?.[0] as T;
  }

  /**
   * Run a long statement while reporting DuckDB's own progress estimate (0..1) every `intervalMs`.
   * The statement runs on DuckDB's threads; polling happens on ours.
   */
  async runWithProgress(
    sql: string,
    onProgress: (fraction: number) => void,
    intervalMs = 200,
  ): Promise<void> {
    await this.run('SET enable_progress_bar = true');
    await this.run('SET enable_progress_bar_print = false');
    const timer = setInterval(() => {
      const p = this.connection.progress.percentage;
      if (p >= 0) onProgress(Math.min(1, p / 100));
    }, intervalMs);
    try {
      await this.run(sql);
    } finally {
      clearInterval(timer);
    }
  }

  /** Run `fn` in one transaction: committed if it resolves, rolled back (and rethrown) if it throws. */
  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    if (this.inTransaction) return fn();
    await this.run('BEGIN TRANSACTION');
    this.inTransaction = true;
    try {
      const result = await fn();
      await this.run('COMMIT');
      return result;
    } catch (e) {
      try {
        await this.run('ROLLBACK');
      } catch {
        // A failed COMMIT already aborted the transaction; nothing left to roll back.
      }
      throw e;
    } finally {
      this.inTransaction = false;
    }
  }

  async tableExists(schema: string, table: string): Promise<boolean> {
    const n = await this.scalar<bigint>(
      `SELECT count(*) FROM information_schema.tables WHERE table_schema = ${str(schema)} AND table_name = ${str(table)}`,
    );
    return Number(n) > 0;
  }

  /** Column names and DuckDB types of a table or view, in order. */
  async columns(schema: string, table: string): Promise<{ name: string; type: string }[]> {
    return this.jsonRows<{ name: string; type: string }>(
      `SELECT column_name AS name, data_type AS type FROM information_schema.columns
       WHERE table_schema = ${str(schema)} AND table_name = ${str(table)} ORDER BY ordinal_position`,
    );
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

function plain(v: unknown): unknown {
  if (typeof v === 'bigint')
    return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(v)
      : v.toString();
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object') {
    const o: Row = {};
    for (const [k, x] of Object.entries(v)) o[k] = plain(x);
    return o;
  }
  return v;
}

/** Open the warehouse, run `fn`, and always close it. */
export async function withWarehouse<T>(
  file: string,
  opts: WarehouseOptions,
  fn: (wh: Warehouse) => Promise<T>,
): Promise<T> {
  const wh = await Warehouse.open(file, opts);
  try {
    return await fn(wh);
  } finally {
    wh.close();
  }
}
