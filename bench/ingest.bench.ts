/**
 * Ingest throughput of the card world's transactions (CSV and Parquet), side by side with DuckDB's plain
 * `read_csv` / `read_parquet` into a table on the same files. Each side loads into a fresh warehouse
 * file; the two alternate and the best of the runs counts, so both see the same page cache.
 * Target: ours <= 1.2x plain.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { requireProject } from '../src/config/project.js';
import { generateWorld } from '../src/generate/index.js';
import { resolveFiles } from '../src/ingest/files.js';
import { ingest } from '../src/ingest/ingest.js';
import { str } from '../src/warehouse/sql.js';
import { Warehouse } from '../src/warehouse/warehouse.js';
import type { BenchContext, Benchmark } from './harness.js';

const TARGET_RATIO = 1.2;

async function plainLoad(
  dbFile: string,
  files: readonly string[],
  format: 'csv' | 'parquet',
): Promise<number> {
  rmSync(dbFile, { force: true });
  rmSync(`${dbFile}.wal`, { force: true });
  const wh = await Warehouse.open(dbFile);
  try {
    const list = `[${files.map(str).join(', ')}]`;
    const reader =
      format === 'csv' ? `read_csv(${list}, types = {'mcc': 'VARCHAR'})` : `read_parquet(${list})`;
    const t = performance.now();
    await wh.run(`CREATE TABLE transactions AS SELECT * FROM ${reader}`);
    await wh.run('CHECKPOINT');
    return performance.now() - t;
  } finally {
    wh.close();
  }
}

async function oursLoad(projectDir: string): Promise<{ ms: number; rows: number; rejected: number }> {
  const config = requireProject(projectDir);
  rmSync(path.dirname(config.engine.path), { recursive: true, force: true });
  const t = performance.now();
  const r = await ingest(config, { sources: ['transactions'] });
  const wh = await Warehouse.open(config.engine.path);
  await wh.run('CHECKPOINT');
  wh.close();
  const ms = performance.now() - t;
  const s = r.sources[0]!;
  return { ms, rows: s.rowsLoaded, rejected: s.rowsRejected };
}

async function measure(ctx: BenchContext, format: 'csv' | 'parquet', customers: number, runs: number) {
  const dir = path.join(ctx.tmpDir, `world-${format}`);
  ctx.log(`generating ${customers} customers x 12 months as ${format}`);
  const gen = await generateWorld({ customers, months: 12, seed: 42, out: dir, format });
  const config = requireProject(dir);
  const src = config.sources.get('transactions')!;
  const files = (await resolveFiles(dir, 'transactions', src.files, src.format)).map((f) => f.path);
  const oursTimes: number[] = [];
  const plainTimes: number[] = [];
  let rows = 0;
  let rejected = 0;
  for (let i = 0; i < runs; i++) {
    const ours = await oursLoad(dir);
    oursTimes.push(ours.ms);
    rows = ours.rows;
    rejected = ours.rejected;
    plainTimes.push(await plainLoad(path.join(ctx.tmpDir, `plain-${format}.duckdb`), files, format));
    ctx.log(
      `${format} run ${i + 1}: ours ${(ours.ms / 1000).toFixed(2)} s, plain ${(plainTimes.at(-1)! / 1000).toFixed(2)} s`,
    );
  }
  const ours = Math.min(...oursTimes);
  const plain = Math.min(...plainTimes);
  return {
    transactions: gen.transactions,
    rowsLoaded: rows,
    rowsRejected: rejected,
    files: files.length,
    oursSeconds: ours / 1000,
    plainSeconds: plain / 1000,
    oursRowsPerSecond: Math.round(rows / (ours / 1000)),
    plainRowsPerSecond: Math.round(rows / (plain / 1000)),
    ratio: Math.round((ours / plain) * 1000) / 1000,
    targetRatio: TARGET_RATIO,
    meetsTarget: ours / plain <= TARGET_RATIO,
    runs: { ours: oursTimes.map((t) => t / 1000), plain: plainTimes.map((t) => t / 1000) },
  };
}

const bench: Benchmark = {
  name: 'ingest',
  description: 'ingest of the card world transactions vs plain DuckDB read_csv/read_parquet into a table',
  async run(ctx) {
    const customers = ctx.scale === 'quick' ? 10_000 : 100_000;
    const runs = ctx.scale === 'quick' ? 2 : 3;
    const parquet = await measure(ctx, 'parquet', customers, runs);
    const csv = await measure(ctx, 'csv', customers, runs);
    return { customers, months: 12, parquet, csv, peakRssMiB: Math.round(ctx.peakRss() / 2 ** 20) };
  },
};
export default bench;
