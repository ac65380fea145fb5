import type { Command } from 'commander';
import { startServer } from '../../api/server.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the latest built tags over HTTP: profiles, catalog, segments (/docs for the API)')
    .option('-p, --project <dir>', 'project folder', '.')
    .option('--port <port>', 'port to listen on', (v) => Number.parseInt(v, 10), 8080)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--no-watch', 'do not reload after new builds')
    .option('--no-snapshot', 'do not read or write the store snapshot')
    .action(async (o: { project: string; port: number; host: string; watch: boolean; snapshot: boolean }) => {
      const log = (m: string) => process.stderr.write(`${m}\n`);
      const server = await startServer(o.project, {
        port: o.port,
        host: o.host,
        watch: o.watch,
        snapshot: o.snapshot,
        log,
      });
      log(`API docs at ${server.url}/docs`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          log('stopping');
          server.close().then(resolve, resolve);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        process.on('SIGHUP', () => {
          server.holder
            .reload({ force: true })
            .catch((e: unknown) => log(`reload failed: ${e instanceof Error ? e.message : String(e)}`));
        });
      });
    });
}
