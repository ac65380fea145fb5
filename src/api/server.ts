/**
 * `tagverse serve`: load the store, listen on host:port (default 127.0.0.1:8080), watch the warehouse
 * for new builds, and stop cleanly.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { type ProjectConfig, requireProject } from '../config/project.js';
import { StoreHolder } from '../online/store-holder.js';
import { createApp } from './app.js';
import { ConsoleBundle, defaultConsoleDir } from './console-assets.js';
import { KeyRing, keysFromEnv } from './keys.js';
import { startRealtime, warehouseTurn } from './realtime-server.js';
import { WarehouseGate } from './warehouse-gate.js';

export interface ServeOptions {
  /** Port to listen on (default 8080; 0 picks a free one). */
  readonly port?: number;
  /** Interface to listen on (default 127.0.0.1). */
  readonly host?: string;
  /** Watch the warehouse and reload after a build (default true). */
  readonly watch?: boolean;
  /** How often to look at the warehouse file, in ms (default 2000). */
  readonly watchIntervalMs?: number;
  /** Use the snapshot file (default true). */
  readonly snapshot?: boolean;
  /** Environment to read TAGVERSE_API_KEYS from (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly log?: (message: string) => void;
  /** Folder of the web console's built bundle, served at `/` (default dist/web; null: no console). */
  readonly consoleDir?: string | null;
  /** Real time (ingestion, live tags, triggers): default on when tagverse.yaml has a `realtime` section. */
  readonly realtime?: boolean;
  /** fetch used by trigger webhooks (tests). */
  readonly fetch?: typeof fetch;
  /** Wall clock of real time, epoch ms (tests). */
  readonly now?: () => number;
  /**
   * Answer GET /v1/profiles/{id} in front of the Hono app (lean-profile.ts; default true). false: every
   * request goes through the app (tests compare the two).
   */
  readonly leanProfiles?: boolean;
}

export interface RunningServer {
  /** Base URL, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  readonly holder: StoreHolder;
  /** Real time, when it runs: `ready` resolves once it accepts events. */
  readonly realtime?: import('./realtime-server.js').RealtimeService;
  /** Keys the server accepts. */
  readonly keyCount: number;
  close(): Promise<void>;
}

/**
 * Start the API server for a project.
 * @example
 *   const server = await startServer('./world', { port: 0 });
 *   console.log(server.url); // http://127.0.0.1:43117
 *   await server.close();
 */
export async function startServer(
  project: ProjectConfig | string,
  opts: ServeOptions = {},
): Promise<RunningServer> {
  const config = typeof project === 'string' ? requireProject(project) : project;
  const log = opts.log ?? (() => {});
  const gate = new WarehouseGate(config.api.limits.queryTimeoutMs);
  const turn = warehouseTurn(gate);
  const holder = await StoreHolder.open(config, {
    ...(opts.snapshot !== undefined ? { snapshot: opts.snapshot } : {}),
    log,
    warehouseTurn: turn,
    warmPeriodMs: config.api.warmPeriodMs,
  });
  const keys = new KeyRing([...config.api.keys, ...keysFromEnv((opts.env ?? process.env).TAGVERSE_API_KEYS)]);
  if (keys.size === 0)
    log('no API keys are configured: every /v1 request will be refused (tagverse keys create --role admin)');
  const consoleDir = opts.consoleDir === undefined ? defaultConsoleDir() : opts.consoleDir;
  const bundle = consoleDir === null ? undefined : ConsoleBundle.load(consoleDir);
  if (consoleDir !== null && !bundle) log(`no console bundle in ${consoleDir} (npm run build makes it)`);
  const realtime =
    (opts.realtime ?? config.realtime.enabled)
      ? startRealtime(config, holder, {
          warehouseTurn: turn,
          log,
          ...(opts.env ? { env: opts.env } : {}),
          ...(opts.fetch ? { fetch: opts.fetch } : {}),
          ...(opts.now ? { now: opts.now } : {}),
        })
      : undefined;
  const { app, profileRoute } = createApp({
    config,
    holder,
    keys,
    limits: config.api.limits,
    gate,
    ...(bundle ? { console: bundle } : {}),
    ...(realtime ? { realtime: realtime.handle } : {}),
  });
  const host = opts.host ?? '127.0.0.1';
  // The app through Hono's Node adapter, behind the hot profile route (which leaves it the rest).
  const toApp = getRequestListener(app.fetch, { hostname: host });
  const lean = opts.leanProfiles ?? true;
  const http = createServer((req, res) => {
    if (!lean || !profileRoute(req, res)) void toApp(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port ?? 8080, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  // Slow or stuck clients cannot hold a connection forever.
  http.requestTimeout = 30_000;
  http.headersTimeout = 10_000;
  http.keepAliveTimeout = 5_000;
  const port = (http.address() as AddressInfo).port;
  if (opts.watch ?? true) holder.watch(opts.watchIntervalMs);
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  log(
    `serving ${holder.current.size} entities x ${holder.current.tags.size} tags (build ${holder.current.info.buildId}) at ${url}`,
  );
  return {
    url,
    port,
    host,
    holder,
    ...(realtime ? { realtime } : {}),
    keyCount: keys.size,
    close: async () => {
      await realtime?.close();
      await new Promise<void>((resolve, reject) => {
        holder.stop();
        http.closeAllConnections?.();
        http.close((e) => (e ? reject(e) : resolve()));
      });
    },
  };
}
