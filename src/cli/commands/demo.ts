import type { Command } from 'commander';
import { runDemo } from '../../project/demo.js';
import { fmtInt, fmtSeconds, printJson, printLine } from '../output.js';
import { createProgress } from '../progress.js';

const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`not a positive integer: ${v}`);
  return n;
};

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('generate the synthetic card world, ingest it and summarise (what npm start runs)')
    .option('-d, --dir <dir>', 'demo project folder', '.demo')
    .option('-c, --customers <n>', 'customers in the demo world', int, 10_000)
    .option('-m, --months <n>', 'months of history', int, 12)
    .option('-s, --seed <n>', 'random seed', int, 1)
    .option('--json', 'print the summary as JSON')
    .action(async (o: { dir: string; customers: number; months: number; seed: number; json?: boolean }) => {
      const started = Date.now();
      const progress = createProgress({ enabled: !o.json });
      let step = '';
      const summary = await runDemo({
        dir: o.dir,
        customers: o.customers,
        months: o.months,
        seed: o.seed,
        onPhase: (p) => {
          progress.done();
          if (!o.json) process.stderr.write(`${p}\n`);
        },
        onGenerateProgress: (p) => {
          if (p.phase !== step) {
            step = p.phase;
            progress.step(`  ${p.phase}`);
          }
          if (p.total > 0) progress.update(p.done / p.total);
        },
        onIngestProgress: (p) => {
          if (p.phase === 'load' && p.file && `${p.source}:${p.file}` !== step) {
            step = `${p.source}:${p.file}`;
            progress.step(`  ${p.source}: ${p.file}`);
          }
          if (p.phase === 'load' && p.fraction !== undefined) progress.update(p.fraction);
        },
      }).finally(() => progress.done());
      if (o.json) return printJson(summary);
      printLine('');
      printLine(`Tagverse demo: ${summary.dir}`);
      for (const t of summary.tables)
        printLine(`  ${t.source.padEnd(14)} ${t.kind.padEnd(8)} ${fmtInt(t.rows).padStart(12)} rows`);
      if (summary.dataRange) printLine(`  events from ${summary.dataRange.from} to ${summary.dataRange.to}`);
      printLine(`  rejected rows: ${fmtInt(summary.rejects)}`);
      printLine(`  warehouse: ${summary.warehouse}`);
      printLine(
        `ready in ${fmtSeconds(Date.now() - started)}${summary.generated ? '' : ' (world already generated; reused)'}`,
      );
      printLine(`explore: tagverse check --project ${o.dir}   |   duckdb ${summary.warehouse}`);
    });
}
