/**
 * The benchmark harness: named benchmarks, each a module exporting a `Benchmark`.
 * `npm run bench [-- name...]` runs them and writes `bench/results/<name>.json`
 * with the figures and a description of the machine they were measured on.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface BenchContext {
  /** A scratch folder, removed after the benchmark unless BENCH_KEEP=1. */
  readonly tmpDir: string;
  /** `full` (default: the sizes issues name) or `quick` (BENCH_SCALE=quick, for a smoke run). */
  readonly scale: 'full' | 'quick';
  /** Progress and findings as plain lines on stderr. */
  log(message: string): void;
  /** Peak resident memory of this process so far, in bytes (sampled). */
  peakRss(): number;
}

export interface Benchmark {
  readonly name: string;
  readonly description: string;
  /** Returns the figures to record (numbers, ratios, targets, pass/fail against targets). */
  run(ctx: BenchContext): Promise<Record<string, unknown>>;
}

export function machineDescription(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    arch: os.arch(),
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
  };
}

/** Samples RSS every 50 ms so short spikes between explicit reads are still seen. */
export class RssSampler {
  private peak = process.memoryUsage.rss();
  private readonly timer: NodeJS.Timeout;
  constructor() {
    this.timer = setInterval(() => this.sample(), 50);
    this.timer.unref();
  }
  sample(): number {
    const rss = process.memoryUsage.rss();
    if (rss > this.peak) this.peak = rss;
    return this.peak;
  }
  stop(): number {
    clearInterval(this.timer);
    return this.sample();
  }
}

export async function runBenchmark(bench: Benchmark, resultsDir: string): Promise<Record<string, unknown>> {
  const tmpDir = mkdtempSync(path.join(os.tmpdir(), `tagverse-bench-${bench.name}-`));
  const sampler = new RssSampler();
  const scale = process.env.BENCH_SCALE === 'quick' ? 'quick' : 'full';
  const started = Date.now();
  try {
    const figures = await bench.run({
      tmpDir,
      scale,
      log: (m) => process.stderr.write(`[${bench.name}] ${m}\n`),
      peakRss: () => sampler.sample(),
    });
    const result = {
      benchmark: bench.name,
      description: bench.description,
      scale,
      measuredAt: new Date().toISOString(),
      elapsedSeconds: (Date.now() - started) / 1000,
      peakRssMiB: Math.round(sampler.stop() / 2 ** 20),
      machine: machineDescription(),
      figures,
    };
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(path.join(resultsDir, `${bench.name}.json`), `${JSON.stringify(result, null, 2)}\n`);
    return result;
  } finally {
    sampler.stop();
    if (process.env.BENCH_KEEP !== '1') rmSync(tmpDir, { recursive: true, force: true });
  }
}
