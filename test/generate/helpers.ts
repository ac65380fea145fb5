/**
 * Shared by the world-generator tests: generate a small world once per file into a temp folder,
 * query its files with DuckDB, hash its files.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { type GenerateOptions, type GenerateSummary, generateWorld } from '../../src/generate/index.js';

export interface TempWorld {
  readonly dir: string;
  readonly summary: GenerateSummary;
  remove(): void;
}

export async function tempWorld(options: Omit<GenerateOptions, 'out'>): Promise<TempWorld> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tagverse-world-'));
  const summary = await generateWorld({ ...options, out: dir });
  return { dir, summary, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** sha256 of every file under `dir`, by relative path. */
export function hashFiles(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = path.join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else
        out[path.relative(dir, p).split(path.sep).join('/')] = createHash('sha256')
          .update(readFileSync(p))
          .digest('hex');
    }
  };
  walk(dir);
  return out;
}

export type Row = Record<string, unknown>;

/** A DuckDB connection with the world's files as views: tx, customers, merchants, mcc_codes and truth_*. */
export class WorldDb {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly con: DuckDBConnection,
  ) {}

  static async open(dir: string, format: 'parquet' | 'csv' = 'parquet'): Promise<WorldDb> {
    const instance = await DuckDBInstance.create(':memory:');
    const con = await instance.connect();
    const db = new WorldDb(instance, con);
    const q = (p: string) => `'${path.join(dir, p).replaceAll("'", "''")}'`;
    const read = (p: string, types = '') =>
      format === 'parquet'
        ? `read_parquet(${q(p)}, filename = true)`
        : `read_csv(${q(p)}, filename = true${types})`;
    await db.run(
      `CREATE VIEW tx AS SELECT * FROM ${read('data/transactions/*', ", types = {'mcc': 'VARCHAR'}")}`,
    );
    await db.run(`CREATE VIEW customers AS SELECT * FROM ${read(`data/customers.${format}`)}`);
    await db.run(
      `CREATE VIEW merchants AS SELECT * FROM ${read(`data/merchants.${format}`, ", types = {'mcc': 'VARCHAR'}")}`,
    );
    await db.run(
      `CREATE VIEW mcc_codes AS SELECT * FROM read_csv(${q('data/mcc_codes.csv')}, types = {'mcc': 'VARCHAR'})`,
    );
    for (const t of ['customers', 'preferences', 'cycles', 'life_events']) {
      await db.run(
        `CREATE VIEW truth_${t} AS SELECT * FROM read_csv(${q(`truth/${t}.csv`)}, all_varchar = true)`,
      );
    }
    return db;
  }

  async run(sql: string): Promise<void> {
    await this.con.run(sql);
  }

  /** Rows as plain JS objects; BIGINT values come back as numbers. */
  async rows(sql: string): Promise<Row[]> {
    const r = await this.con.runAndReadAll(sql);
    return r
      .getRowObjectsJS()
      .map((row) =>
        Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])),
      );
  }

  async one(sql: string): Promise<Row> {
    const rows = await this.rows(sql);
    if (rows.length !== 1) throw new Error(`expected one row, got ${rows.length}: ${sql}`);
    return rows[0] as Row;
  }

  /** Column name -> type of a relation. */
  async schema(relation: string): Promise<Record<string, string>> {
    const rows = await this.rows(`DESCRIBE SELECT COLUMNS(c -> c <> 'filename') FROM ${relation}`);
    return Object.fromEntries(rows.map((r) => [String(r.column_name), String(r.column_type)]));
  }

  close(): void {
    this.con.closeSync();
    this.instance.closeSync();
  }
}
