/**
 * Simulates a range of customers into month buckets, profiles and truth rows — the part of a run
 * that is pure JS and scales with the customer count. `simulateAll` splits the customers into
 * contiguous ranges over worker threads and stitches the results back in customer order, so the
 * output is the same whatever the number of threads.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { CustomerSimulator } from './customer-simulator.js';
import { CustomerEvents, MonthBuckets } from './event-buffer.js';
import { TruthCollector } from './truth.js';
import type { World } from './world.js';

const DAY = 86_400;

/** What a world needs to be rebuilt identically in another thread. */
export interface WorldSpec {
  readonly seed: number;
  readonly customers: number;
  readonly start: string;
  readonly months: number;
}

/** Profile columns of the customers file, one entry per customer of the range. */
export interface Profiles {
  readonly ageBand: Uint8Array;
  readonly gender: Uint8Array;
  readonly homeCity: Uint8Array;
  readonly product: Uint8Array;
  /** Day index of signup relative to the window start (negative: before it). */
  readonly signupDay: Int32Array;
}

export interface TruthText {
  readonly customers: string[];
  readonly preferences: string[];
  readonly cycles: string[];
  readonly lifeEvents: string[];
  readonly counts: { preferences: number; cycles: number; lifeEvents: number; churned: number };
}

export interface RangeResult {
  /** Per month: the rows' chunks and count. */
  readonly months: { chunks: Int32Array[]; length: number }[];
  readonly profiles: Profiles;
  readonly truth: TruthText;
}

/** Simulates customers [from, to) of `world`. `progress` is called with the number done so far. */
export function simulateRange(
  world: World,
  from: number,
  to: number,
  progress: (done: number) => void,
): RangeResult {
  const { cal } = world;
  const n = to - from;
  const buckets = new MonthBuckets(cal.monthKeys.length);
  const simulator = new CustomerSimulator(world);
  const events = new CustomerEvents();
  const truth = new TruthCollector(world);
  const profiles: Profiles = {
    ageBand: new Uint8Array(n),
    gender: new Uint8Array(n),
    homeCity: new Uint8Array(n),
    product: new Uint8Array(n),
    signupDay: new Int32Array(n),
  };
  const every = Math.max(1, Math.min(2000, Math.floor(n / 50)));
  for (let i = from; i < to; i++) {
    events.reset();
    const outcome = simulator.simulate(i, events);
    const p = outcome.plan;
    events.flushTo(
      i,
      Math.max(0, p.signupDay) * DAY,
      (p.churnDay >= 0 ? p.churnDay : cal.days) * DAY,
      cal,
      buckets,
    );
    truth.add(outcome);
    const k = i - from;
    profiles.ageBand[k] = p.ageBand;
    profiles.gender[k] = p.gender;
    profiles.homeCity[k] = p.homeCity;
    profiles.product[k] = p.product;
    profiles.signupDay[k] = p.signupDay;
    if ((k + 1) % every === 0) progress(k + 1);
  }
  progress(n);
  return {
    months: buckets.month.map((b) => ({ chunks: b.chunks, length: b.length })),
    profiles,
    truth: {
      customers: truth.customers,
      preferences: truth.preferences,
      cycles: truth.cycles,
      lifeEvents: truth.lifeEvents,
      counts: truth.counts,
    },
  };
}

/** Message a simulation worker posts: progress, a result, or a failure. */
export type WorkerMessage =
  | { readonly kind: 'progress'; readonly done: number }
  | { readonly kind: 'result'; readonly result: RangeResult }
  | { readonly kind: 'error'; readonly message: string };

export interface WorkerInput {
  readonly spec: WorldSpec;
  readonly from: number;
  readonly to: number;
}

/** Worker threads worth starting: one per core (up to 4), and only for big worlds. */
export function defaultThreads(customers: number): number {
  return customers < 20_000 ? 1 : Math.max(1, Math.min(4, availableParallelism()));
}

/** URL of tsx's ESM API (`tsx/esm/api`, import condition), found through its package.json exports. */
function tsxEsmApi(from: string): string {
  const pkgFile = createRequire(from).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as {
    exports: Record<string, { import: { default: string } }>;
  };
  const entry = pkg.exports['./esm/api']?.import.default;
  if (!entry) throw new Error('tsx has no ./esm/api export');
  return pathToFileURL(path.join(path.dirname(pkgFile), entry)).href;
}

function startWorker(input: WorkerInput, onProgress: (done: number) => void): Promise<RangeResult> {
  const here = import.meta.url;
  // Built code starts the compiled worker. From sources (tsx, tests) the worker is TypeScript too: a
  // small bootstrap imports it through tsx's API.
  const fromSource = here.endsWith('.ts');
  const worker = fromSource
    ? new Worker(
        `import(${JSON.stringify(tsxEsmApi(here))})
           .then((tsx) => tsx.tsImport(${JSON.stringify(new URL('./sim-worker.ts', here).href)}, ${JSON.stringify(here)}));`,
        { eval: true, workerData: input },
      )
    : new Worker(new URL('./sim-worker.js', here), { workerData: input });
  return new Promise((resolve, reject) => {
    let settled = false;
    worker.on('message', (m: WorkerMessage) => {
      if (m.kind === 'progress') onProgress(m.done);
      else if (m.kind === 'result') {
        settled = true;
        resolve(m.result);
      } else {
        settled = true;
        reject(new Error(`simulation worker failed: ${m.message}`));
      }
    });
    worker.on('error', (e) => {
      settled = true;
      reject(e);
    });
    worker.on('exit', (code) => {
      if (!settled) reject(new Error(`simulation worker exited with code ${code}`));
    });
  });
}

export interface Simulation {
  readonly buckets: MonthBuckets;
  readonly profiles: Profiles[];
  readonly truth: TruthText[];
}

/** Simulates every customer, in `threads` worker threads (1: in this thread). */
export async function simulateAll(
  world: World,
  spec: WorldSpec,
  threads: number,
  progress: (done: number) => void,
): Promise<Simulation> {
  const total = spec.customers;
  let results: RangeResult[];
  if (threads <= 1) {
    results = [simulateRange(world, 0, total, progress)];
  } else {
    const done = new Array<number>(threads).fill(0);
    const report = () => progress(done.reduce((a, b) => a + b, 0));
    const ranges = Array.from({ length: threads }, (_, k) => [
      Math.floor((total * k) / threads),
      Math.floor((total * (k + 1)) / threads),
    ]);
    results = await Promise.all(
      ranges.map(([from, to], k) =>
        startWorker({ spec, from: from as number, to: to as number }, (d) => {
          done[k] = d;
          report();
        }),
      ),
    );
  }
  // Stitch the ranges back together in customer order.
  const buckets = new MonthBuckets(world.cal.monthKeys.length);
  for (const r of results) {
    r.months.forEach((m, i) => {
      buckets.month[i]!.appendChunks(m.chunks, m.length);
    });
  }
  return { buckets, profiles: results.map((r) => r.profiles), truth: results.map((r) => r.truth) };
}
