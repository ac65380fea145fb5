import type { Command } from 'commander';
import { generateWorld } from '../../generate/index.js';
import { fmtInt, fmtSeconds, printJson, printLine } from '../output.js';
import { createProgress } from '../progress.js';

const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Error(`not an integer: ${v}`);
  return n;
};

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('write the synthetic credit-card world (with planted ground truth) and its tagverse.yaml')
    .requiredOption('-o, --out <dir>', 'output folder')
    .option('-c, --customers <n>', 'number of customers', int, 10_000)
    .option('-m, --months <n>', 'number of months', int, 12)
    .option('-s, --seed <n>', 'random seed (same seed, same bytes)', int, 1)
    .option('--start <date>', 'first day of the world (ISO date)', '2025-01-01')
    .option('-f, --format <format>', 'parquet or csv', 'parquet')
    .option('--json', 'print the result as JSON')
    .option('-q, --quiet', 'no progress output')
    .action(
      async (o: {
        out: string;
        customers: number;
        months: number;
        seed: number;
        start: string;
        format: string;
        json?: boolean;
        quiet?: boolean;
      }) => {
        const progress = createProgress({ enabled: !o.json && !o.quiet });
        let phase = '';
        const summary = await generateWorld({
          customers: o.customers,
          months: o.months,
          seed: o.seed,
          start: o.start,
          out: o.out,
          format: o.format as 'parquet' | 'csv',
          onProgress: (p) => {
            if (p.phase !== phase) {
              phase = p.phase;
              progress.step(p.phase);
            }
            if (p.total > 0) progress.update(p.done / p.total);
          },
        }).finally(() => progress.done());
        if (o.json) return printJson(summary);
        printLine(
          `wrote ${fmtInt(summary.customers)} customers, ${fmtInt(summary.merchants)} merchants, ${fmtInt(summary.transactions)} transactions to ${o.out} in ${fmtSeconds(summary.elapsedMs)}`,
        );
        printLine(`next: tagverse ingest --project ${o.out}`);
      },
    );
}
