/**
 * Real-time test fixtures: a small synthetic card world with the card pack's tags, built, with a
 * `realtime` section that maps Segment `Card Payment` track calls to `transactions` and identify
 * traits to `customers`; API keys for an ingest, an admin and a viewer role; helpers to wait for a
 * condition.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { generateKey } from '../../src/api/keys.js';
import { type RunningServer, startServer } from '../../src/api/server.js';
import { requireProject } from '../../src/config/project.js';
import { build } from '../../src/engine/build.js';
import { generateWorld } from '../../src/generate/index.js';
import { ingest } from '../../src/ingest/ingest.js';
import type { RealtimeRuntime } from '../../src/realtime/runtime.js';
import { checkMessage, type SegmentMessage } from '../../src/realtime/segment-message.js';
import { tempDir, writeFiles } from '../helpers.js';

export const PACK = fileURLToPath(new URL('../../packs/card', import.meta.url));

/**
 * `tagverse serve` in this process on a project (no console, no watching, any free port) with real
 * time started; throws when real time could not start. `env` adds to the keys' TAGVERSE_API_KEYS.
 */
export async function startRealtimeServer(
  dir: string,
  keysEnv: string,
  opts: { env?: Record<string, string>; now?: () => number } = {},
): Promise<RunningServer> {
  const server = await startServer(dir, {
    port: 0,
    env: { TAGVERSE_API_KEYS: keysEnv, ...opts.env },
    watch: false,
    consoleDir: null,
    ...(opts.now ? { now: opts.now } : {}),
  });
  await server.realtime!.ready;
  const error = server.realtime!.handle.error;
  if (error) {
    await server.close();
    throw new Error(`real time did not start: ${error}`);
  }
  return server;
}

export interface RealtimeFixture {
  readonly dir: string;
  readonly keys: { readonly ingest: string; readonly admin: string; readonly viewer: string };
  /** TAGVERSE_API_KEYS value for the keys above. */
  readonly keysEnv: string;
}

/** The realtime section the fixtures use (merged into tagverse.yaml). */
export const REALTIME_SECTION = {
  flush_interval_ms: 300,
  commit_interval_ms: 5,
  segment: {
    track: [{ events: ['Card Payment'], source: 'transactions' }],
    identify: { source: 'customers' },
  },
};

/**
 * A built card world. `tags`: the card pack's tag files to copy (default all of them);
 * `extra`: more files (path -> content) written into the project.
 */
export async function cardWorld(
  opts: {
    customers?: number;
    months?: number;
    seed?: number;
    start?: string;
    tags?: readonly string[];
    realtime?: Record<string, unknown>;
    extra?: Record<string, string>;
    /** Changes to the generated files before they are ingested. */
    prepare?: (dir: string) => Promise<void>;
  } = {},
): Promise<RealtimeFixture> {
  const dir = tempDir();
  await generateWorld({
    customers: opts.customers ?? 120,
    months: opts.months ?? 3,
    seed: opts.seed ?? 5,
    out: dir,
    start: opts.start ?? '2025-01-01',
  });
  const tagFiles = opts.tags ?? [
    'spending.yaml',
    'habits.yaml',
    'preferences.yaml',
    'conditions.yaml',
    'life-events.yaml',
    'tastes.yaml',
    'cycles.yaml',
    'changes.yaml',
  ];
  for (const f of tagFiles) cpSync(path.join(PACK, 'tags', f), path.join(dir, 'tags', f));
  const file = path.join(dir, 'tagverse.yaml');
  const doc = YAML.parseDocument(readFileSync(file, 'utf8'));
  doc.set('realtime', doc.createNode(opts.realtime ?? REALTIME_SECTION));
  writeFileSync(file, doc.toString());
  writeFiles(dir, opts.extra ?? {});
  await opts.prepare?.(dir);
  await ingest(dir);
  await build(requireProject(dir));
  const made = (['ingest', 'admin', 'viewer'] as const).map((role) => ({
    role,
    ...generateKey(role, `${role} test`),
  }));
  const keys = Object.fromEntries(made.map((m) => [m.role, m.key])) as unknown as RealtimeFixture['keys'];
  const keysEnv = made.map((m) => `${m.record.id}:${m.role}:${m.record.hash}`).join(',');
  return { dir, keys, keysEnv };
}

/** A card world served with real time on: the server, its runtime, the world's as-of time (ms). */
export interface LiveCardWorld {
  readonly fx: RealtimeFixture;
  readonly server: RunningServer;
  readonly rt: RealtimeRuntime;
  readonly worldMs: number;
}

/** `cardWorld`, then `tagverse serve` on it with real time started (close `server` after). */
export async function liveCardWorld(opts: Parameters<typeof cardWorld>[0]): Promise<LiveCardWorld> {
  const fx = await cardWorld(opts);
  const server = await startRealtimeServer(fx.dir, fx.keysEnv);
  return {
    fx,
    server,
    rt: server.realtime!.handle.runtime!,
    worldMs: Math.floor(server.holder.current.info.asOfMicros / 1000),
  };
}

/** Poll until `fn` returns a value that is not undefined (or throw after `timeoutMs`). */
export async function eventually<T>(
  fn: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

let paymentSeq = 0;

/**
 * `count` checked Segment `Card Payment` track calls of one customer (1,000 KRW at a Seoul grocery),
 * stamped a second before `worldMs`, with message ids `<idPrefix>-<n>` unique within the test run.
 */
export function cardPayments(
  worldMs: number,
  customer: string,
  count: number,
  idPrefix: string,
): SegmentMessage[] {
  return Array.from({ length: count }, () => {
    const r = checkMessage(
      {
        type: 'track',
        userId: customer,
        event: 'Card Payment',
        messageId: `${idPrefix}-${paymentSeq++}`,
        timestamp: new Date(worldMs - 1000).toISOString(),
        properties: {
          merchant_id: 'M000758',
          mcc: '5499',
          amount: 1000,
          currency: 'KRW',
          original_amount: 1000,
          channel: 'offline',
          city: 'Seoul',
          country: 'KR',
        },
      },
      '',
      worldMs,
    );
    if (!r.message) throw new Error(`a test payment does not check: ${JSON.stringify(r)}`);
    return r.message;
  });
}
