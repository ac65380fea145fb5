import type { Command } from 'commander';
import { startServer } from '../../api/server.js';
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
    .description(
      'generate the synthetic card world, ingest it, build every tag and serve it (what npm start runs)',
    )
    .option('-d, --dir <dir>', 'demo project folder', '.demo')
    .option('-c, --customers <n>', 'customers in the demo world', int, 10_000)
    .option('-m, --months <n>', 'months of history', int, 12)
    .option('-s, --seed <n>', 'random seed', int, 1)
    .option('--port <port>', 'port of the server', int, 8080)
    .option('--host <host>', 'interface of the server', '127.0.0.1')
    .option('--no-serve', 'stop after building (do not start the server)')
    .option('--json', 'print the summary as JSON (implies --no-serve)')
    .action(
      async (o: {
        dir: string;
        customers: number;
        months: number;
        seed: number;
        port: number;
        host: string;
        serve: boolean;
        json?: boolean;
      }) => {
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
          onBuildProgress: (p) => {
            if (p.index < p.total) progress.step(`  ${p.step}`);
          },
        }).finally(() => progress.done());
        if (o.json) return printJson({ ...summary, apiKey: '(in .tagverse-demo-key)' });
        printLine('');
        printLine(`Tagverse demo: ${summary.dir}`);
        for (const t of summary.tables) {
          printLine(`  ${t.source.padEnd(14)} ${t.kind.padEnd(8)} ${fmtInt(t.rows).padStart(12)} rows`);
        }
        if (summary.dataRange)
          printLine(`  events from ${summary.dataRange.from} to ${summary.dataRange.to}`);
        printLine(`  rejected rows: ${fmtInt(summary.rejects)}`);
        printLine(
          `  ${summary.build.tags.length} tags built for ${fmtInt(summary.build.entities)} customers as of ${summary.build.asOf}`,
        );
        printLine(
          `ready in ${fmtSeconds(Date.now() - started)}${summary.generated ? '' : ' (world reused)'}`,
        );
        const id = summary.sampleEntity ?? 'C0000001';
        printLine('');
        printLine('try:');
        printLine(`  npx tagverse profile ${id} --project ${o.dir}`);
        printLine(`  npx tagverse explain ${id} golf_lover --project ${o.dir}`);
        printLine(`  npx tagverse segment "golf_lover and foodie" --count --project ${o.dir}`);
        if (!o.serve) return;
        const server = await startServer(summary.dir, {
          port: o.port,
          host: o.host,
          log: (m) => process.stderr.write(`${m}\n`),
        });
        printLine('');
        printLine(`API:  ${server.url}/v1   (header  Authorization: Bearer ${summary.apiKey})`);
        printLine(`docs: ${server.url}/docs`);
        printLine(`e.g.  curl -H 'Authorization: Bearer ${summary.apiKey}' ${server.url}/v1/profiles/${id}`);
        printLine('press Ctrl-C to stop');
        await new Promise<void>((resolve) => {
          const stop = () => server.close().then(resolve, resolve);
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
      },
    );
}
