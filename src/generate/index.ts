/**
 * `generateWorld`: writes a deterministic synthetic credit-card world with planted ground truth.
 *
 * Pipeline: options → world (calendar, merchant catalog, day factors) → simulate every customer from
 * its own PRNG stream into month buckets → write dimensions, one file per month, truth CSVs and the
 * project's tagverse.yaml. See README.md in this folder and docs/world.md.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { jsonSchemaPath, packDir } from '../packs/index.js';
import { type GenerateOptions, type GenerateProgress, validateOptions } from './options.js';
import { projectYaml } from './pack-yaml.js';
import { defaultThreads, simulateAll, type TruthText } from './simulate.js';
import { truthHeader } from './truth.js';
import { buildWorld } from './world.js';
import { type MonthJob, WorldWriter } from './writer.js';

export type { GenerateOptions, GenerateProgress };

export interface GenerateSummary {
  readonly customers: number;
  readonly merchants: number;
  readonly transactions: number;
  /** Files written, relative to `out`, sorted. */
  readonly files: string[];
  /** Sizes of the planted ground truth. */
  readonly truth: { preferences: number; cycles: number; lifeEvents: number; churned: number };
  readonly elapsedMs: number;
}

const DAY = 86_400;
const MONTH_FILE = /^\d{4}-\d{2}\.(parquet|csv)$/;

/**
 * Generates a world into `options.out`.
 *
 * @example
 * const summary = await generateWorld({ customers: 1000, months: 12, seed: 42, out: 'card-world' });
 * console.log(`${summary.transactions} transactions in ${summary.files.length} files`);
 */
export async function generateWorld(options: GenerateOptions): Promise<GenerateSummary> {
  const started = performance.now();
  const o = validateOptions(options);
  const world = buildWorld(o.seed, o.customers, o.start, o.months);
  const { cal } = world;
  const ext = o.format;

  const dataDir = path.join(o.out, 'data');
  const txDir = path.join(dataDir, 'transactions');
  const truthDir = path.join(o.out, 'truth');
  mkdirSync(txDir, { recursive: true });
  mkdirSync(truthDir, { recursive: true });
  // Files of an earlier run with another window or format would mix with ours.
  for (const f of readdirSync(txDir)) if (MONTH_FILE.test(f)) rmSync(path.join(txDir, f));
  for (const f of ['customers.parquet', 'customers.csv', 'merchants.parquet', 'merchants.csv']) {
    rmSync(path.join(dataDir, f), { force: true });
  }

  // 1. Simulate.
  const spec = { seed: o.seed, customers: o.customers, start: o.start, months: o.months };
  const threads = Math.min(o.threads ?? defaultThreads(o.customers), o.customers);
  o.onProgress({ phase: 'simulate', done: 0, total: o.customers });
  const sim = await simulateAll(world, spec, threads, (done) =>
    o.onProgress({ phase: 'simulate', done, total: o.customers }),
  );
  const { buckets } = sim;

  // 2. Write.
  const files: string[] = [];
  const rel = (...parts: string[]) => parts.join('/');
  // Months are written concurrently, one single-threaded DuckDB pipeline each.
  const writer = await WorldWriter.open(world, o.format, Math.min(4, Math.max(2, availableParallelism())));
  const totalFiles = cal.monthKeys.length + 3;
  let written = 0;
  o.onProgress({ phase: 'write', done: 0, total: totalFiles });
  const wrote = (file: string) => {
    files.push(file);
    o.onProgress({ phase: 'write', done: ++written, total: totalFiles });
  };
  let transactions = 0;
  try {
    await writer.writeCustomers(sim.profiles, path.join(dataDir, `customers.${ext}`));
    wrote(rel('data', `customers.${ext}`));
    await writer.writeMerchants(path.join(dataDir, `merchants.${ext}`));
    wrote(rel('data', `merchants.${ext}`));
    await writer.writeMccCodes(path.join(dataDir, 'mcc_codes.csv'));
    wrote(rel('data', 'mcc_codes.csv'));
    const jobs: MonthJob[] = [];
    const names = new Map<MonthJob, string>();
    for (let m = 0; m < cal.monthKeys.length; m++) {
      const bucket = buckets.month[m]!;
      const name = `${cal.monthKeys[m]}.${ext}`;
      const job = {
        bucket,
        monthStartT: (cal.monthFirstDay[m] as number) * DAY,
        firstNumber: transactions + 1,
        path: path.join(txDir, name),
      };
      jobs.push(job);
      names.set(job, name);
      transactions += bucket.length;
    }
    await writer.writeMonths(jobs, (job) => {
      job.bucket.release();
      wrote(rel('data', 'transactions', names.get(job) as string));
    });
  } finally {
    writer.close();
  }
  const truthFiles = [
    ['customers.csv', 'customers', (t: TruthText) => t.customers],
    ['preferences.csv', 'preferences', (t: TruthText) => t.preferences],
    ['cycles.csv', 'cycles', (t: TruthText) => t.cycles],
    ['life_events.csv', 'life_events', (t: TruthText) => t.lifeEvents],
  ] as const;
  for (const [name, header, rowsOf] of truthFiles) {
    const text = truthHeader(header) + sim.truth.map((t) => rowsOf(t).join('')).join('');
    writeFileSync(path.join(truthDir, name), text);
    files.push(rel('truth', name));
  }
  const counts = { preferences: 0, cycles: 0, lifeEvents: 0, churned: 0 };
  for (const t of sim.truth) {
    counts.preferences += t.counts.preferences;
    counts.cycles += t.counts.cycles;
    counts.lifeEvents += t.counts.lifeEvents;
    counts.churned += t.counts.churned;
  }
  writeFileSync(
    path.join(o.out, 'tagverse.yaml'),
    projectYaml(o.format).replace(
      /^# yaml-language-server: \$schema=.*$/m,
      `# yaml-language-server: $schema=${jsonSchemaPath()}`,
    ),
  );
  files.push('tagverse.yaml');
  // The card pack's tag library comes with the world, unless the project already has tags of its own.
  const tagsDir = path.join(o.out, 'tags');
  if (!existsSync(tagsDir)) {
    cpSync(path.join(packDir('card'), 'tags'), tagsDir, { recursive: true });
    for (const f of readdirSync(tagsDir).sort()) files.push(`tags/${f}`);
  }
  files.sort();

  return {
    customers: o.customers,
    merchants: world.catalog.count,
    transactions,
    files,
    truth: counts,
    elapsedMs: Math.round(performance.now() - started),
  };
}
