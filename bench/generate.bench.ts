/**
 * World generation speed: 100,000 customers × 12 months to Parquet (target: under 60 s), and a
 * CSV run at 10,000 customers. BENCH_SCALE=quick runs 10,000 customers for both.
 */
import os from 'node:os';
import path from 'node:path';
import { generateWorld } from '../src/generate/index.js';
import type { Benchmark } from './harness.js';

const TARGET_SECONDS = 60;

const bench: Benchmark = {
  name: 'generate',
  description:
    'Synthetic card world: 100k customers × 12 months to Parquet (target < 60 s), plus a 10k CSV run',
  async run(ctx) {
    const customers = ctx.scale === 'quick' ? 10_000 : 100_000;
    const months = 12;
    const cpuSeconds = () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1e6;
    };
    const run = async (format: 'parquet' | 'csv', n: number) => {
      let phase = '';
      const started = performance.now();
      const cpuStarted = cpuSeconds();
      const phases: Record<string, number> = {};
      const summary = await generateWorld({
        customers: n,
        months,
        seed: 42,
        format,
        out: path.join(ctx.tmpDir, `${format}-${n}`),
        onProgress: (p) => {
          if (p.phase !== phase) {
            phase = p.phase;
            const at = (performance.now() - started) / 1000;
            phases[p.phase] = at;
            ctx.log(`${format} ${n}: ${p.phase} started at ${at.toFixed(1)} s`);
          }
        },
      });
      const seconds = (performance.now() - started) / 1000;
      const cpu = cpuSeconds() - cpuStarted;
      ctx.log(
        `${format} ${n}: ${summary.transactions} transactions in ${seconds.toFixed(1)} s (${cpu.toFixed(1)} CPU s)`,
      );
      const writeAt = phases.write ?? seconds;
      return {
        summary,
        seconds,
        cpu,
        simulateSeconds: writeAt - (phases.simulate ?? 0),
        writeSeconds: seconds - writeAt,
      };
    };

    // The machine may be shared: record how busy it was, and CPU time, which load does not inflate much.
    const loadBefore = os.loadavg()[0] ?? 0;
    const parquet = await run('parquet', customers);
    const peakAfterParquet = ctx.peakRss();
    const csv = await run('csv', 10_000);
    const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;
    return {
      customers,
      months,
      merchants: parquet.summary.merchants,
      transactions: parquet.summary.transactions,
      transactionsPerCustomerYear: round(parquet.summary.transactions / customers, 1),
      seconds: round(parquet.seconds),
      simulateSeconds: round(parquet.simulateSeconds),
      writeSeconds: round(parquet.writeSeconds),
      cpuSeconds: round(parquet.cpu),
      cores: os.availableParallelism(),
      loadAverageBefore: round(loadBefore, 2),
      loadAverageAfter: round(os.loadavg()[0] ?? 0, 2),
      transactionsPerSecond: Math.round(parquet.summary.transactions / parquet.seconds),
      peakRssMiB: Math.round(peakAfterParquet / 2 ** 20),
      targetSeconds: TARGET_SECONDS,
      targetMet: customers === 100_000 ? parquet.seconds < TARGET_SECONDS : null,
      truth: parquet.summary.truth,
      csv: {
        customers: 10_000,
        transactions: csv.summary.transactions,
        seconds: round(csv.seconds),
        cpuSeconds: round(csv.cpu),
        transactionsPerSecond: Math.round(csv.summary.transactions / csv.seconds),
      },
    };
  },
};

export default bench;
