/**
 * `tagverse serve` in a child process, for tests that kill it (crash.test.ts): starts the server on
 * the given project and port, prints `{"url": ...}` on stdout once real time accepts events, and
 * stops cleanly on SIGTERM. Keys come from TAGVERSE_API_KEYS.
 */
import { startServer } from '../../src/api/server.js';

const [dir, port] = process.argv.slice(2);
const server = await startServer(dir!, {
  port: Number(port),
  watch: false,
  consoleDir: null,
  log: (m) => process.stderr.write(`[serve ${process.pid}] ${m}\n`),
});
await server.realtime?.ready;
process.stdout.write(
  `${JSON.stringify({ url: server.url, error: server.realtime?.handle.error ?? null })}\n`,
);
process.once('SIGTERM', () => {
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
