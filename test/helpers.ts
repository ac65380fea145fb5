/** Shared test helpers: throwaway project folders and a content digest of a warehouse. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { Warehouse } from '../src/warehouse/warehouse.js';

const made: string[] = [];
afterAll(() => {
  if (process.env.KEEP_TEST_DIRS) return;
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A fresh temp folder with the given files (path -> content), removed after the test file. */
export function tempDir(files: Record<string, string | Buffer> = {}): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tagverse-test-'));
  made.push(dir);
  writeFiles(dir, files);
  return dir;
}

export function writeFiles(dir: string, files: Record<string, string | Buffer>): void {
  for (const [rel, content] of Object.entries(files)) {
    const p = path.join(dir, rel);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, content);
  }
}

/**
 * A digest of everything stored in a warehouse file: each table's row count and an order-independent
 * hash of its rows, and each view's definition. Equal digests mean equal content.
 */
export async function warehouseDigest(file: string): Promise<Record<string, string>> {
  const wh = await Warehouse.open(file, { readOnly: true });
  try {
    const out: Record<string, string> = {};
    const tables = await wh.jsonRows<{ s: string; t: string; kind: string; sql: string | null }>(
      `SELECT schema_name AS s, table_name AS t, 'table' AS kind, NULL AS sql FROM duckdb_tables() WHERE NOT temporary
       UNION ALL SELECT schema_name, view_name, 'view', sql FROM duckdb_views() WHERE NOT internal AND NOT temporary
       ORDER BY 1, 2`,
    );
    for (const t of tables) {
      const name = `${t.s}.${t.t}`;
      if (t.kind === 'view') {
        out[name] = `view:${t.sql}`;
        continue;
      }
      const r = await wh.jsonRows<{ n: number; h: string }>(
        `SELECT count(*) AS n, coalesce(sum(hash(x))::VARCHAR, '0') AS h FROM "${t.s}"."${t.t}" x`,
      );
      out[name] = `${r[0]?.n}:${r[0]?.h}`;
    }
    return out;
  } finally {
    wh.close();
  }
}

/** Run SQL against a project's warehouse and return JSON rows. */
export async function query<T extends Record<string, unknown> = Record<string, unknown>>(
  file: string,
  sql: string,
): Promise<T[]> {
  const wh = await Warehouse.open(file, { readOnly: true });
  try {
    return await wh.objects<T>(sql);
  } finally {
    wh.close();
  }
}

/**
 * Run `work` while other work keeps queueing itself on the event loop (like a request's callback);
 * returns work's result and how many times the other work ran before work finished (0: it never yielded).
 */
export async function turnsDuring<T>(work: () => Promise<T>): Promise<{ result: T; turns: number }> {
  let turns = 0;
  let done = false;
  const other = () => {
    turns++;
    if (!done) setImmediate(other);
  };
  setImmediate(other);
  try {
    return { result: await work(), turns };
  } finally {
    done = true;
  }
}
