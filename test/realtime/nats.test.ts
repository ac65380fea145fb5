/**
 * Events from a NATS JetStream stream (Debian's nats-server, started here on 127.0.0.1 with -js): two
 * Tagverse instances with their own durable consumers read one stream. One runs in a child process
 * that is killed with SIGKILL while it consumes and then restarted; the other runs alongside. Both end
 * with every event served and stored exactly once: at least once from NATS, deduplicated by
 * messageId (a producer's retry carries the same messageId; a message without one gets the stream
 * sequence, which a redelivery repeats). A message that is not a Segment message is dropped, not
 * redelivered forever.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { connect, type JetStreamClient, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import type { RunningServer } from '../../src/api/server.js';
import { requireProject } from '../../src/config/project.js';
import { query, tempDir } from '../helpers.js';
import {
  cardWorld,
  eventually,
  REALTIME_SECTION,
  type RealtimeFixture,
  startRealtimeServer,
} from './fixture.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies are read field by field
type Json = any;

const NATS_SERVER =
  process.env.TAGVERSE_NATS_SERVER ??
  ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((p) => existsSync(p));
const NO_NATS =
  'nats-server is not installed: the NATS JetStream tests are skipped (apt-get install nats-server; .ci/run installs it)';
// In CI (.ci/run installs nats-server) a missing server is a failure, not a skip.
if (!NATS_SERVER && /^(1|true)$/i.test(process.env.CI ?? '')) throw new Error(NO_NATS);
if (!NATS_SERVER) console.warn(NO_NATS);

const CHILD = path.join(import.meta.dirname, 'serve-child.ts');
const CUSTOMERS = Array.from({ length: 8 }, (_, i) => `C${String(i + 1).padStart(7, '0')}`);
const STREAM = 'CARD';
const KILLS = 2;

let natsProc: ChildProcess | undefined;
let natsUrl = '';
let nc: NatsConnection;
let js: JetStreamClient;
let a: RealtimeFixture; // in a child process, killed
let bDir = ''; // in this process
let b: RunningServer | undefined;
let child: ChildProcess | undefined;
let childUrl = '';
const logs: string[] = [];

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

function setRealtime(dir: string, durable: string): void {
  const file = path.join(dir, 'tagverse.yaml');
  const doc = YAML.parseDocument(readFileSync(file, 'utf8'));
  doc.set(
    'realtime',
    doc.createNode({
      ...REALTIME_SECTION,
      flush_interval_ms: 200,
      nats: { url: natsUrl, stream: STREAM, subjects: ['card.>'], durable, batch: 50, ack_wait: '2s' },
    }),
  );
  writeFileSync(file, doc.toString());
}

async function startChild(port: number): Promise<void> {
  const c = spawn(process.execPath, ['--import', 'tsx', CHILD, a.dir, String(port)], {
    cwd: path.join(import.meta.dirname, '../..'),
    env: { ...process.env, TAGVERSE_API_KEYS: a.keysEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = c;
  c.stderr!.on('data', (d: Buffer) => logs.push(d.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: c.stdout! }).once('line', resolve);
    c.once('exit', (code) =>
      reject(new Error(`server exited (${code}) before it was ready:\n${logs.slice(-20).join('')}`)),
    );
  });
  const ready = JSON.parse(line) as { url: string; error: string | null };
  if (ready.error) throw new Error(`real time failed: ${ready.error}`);
  childUrl = ready.url;
}

async function stopChild(signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
  const c = child!;
  if (c.exitCode !== null) return;
  const exited = new Promise((r) => c.once('exit', r));
  c.kill(signal);
  await exited;
}

async function get(base: string, route: string, key: string, method = 'GET'): Promise<Json> {
  const res = await fetch(base + route, { method, headers: { authorization: `Bearer ${key}` } });
  expect(res.status, route).toBe(200);
  return res.json();
}

const tagOf = (p: Json, name: string) =>
  Object.values(p.categories as Record<string, { name: string; value: unknown }[]>)
    .flat()
    .find((t) => t.name === name)?.value as number;

async function served(base: string): Promise<Map<string, { n: number; spend: number }>> {
  const out = new Map<string, { n: number; spend: number }>();
  for (const id of CUSTOMERS) {
    const p = await get(base, `/v1/profiles/${id}?tags=txn_count_90d,spend_90d`, a.keys.admin);
    out.set(id, { n: tagOf(p, 'txn_count_90d'), spend: tagOf(p, 'spend_90d') });
  }
  return out;
}

beforeAll(async () => {
  if (!NATS_SERVER) return;
  const port = await freePort();
  const store = tempDir();
  natsProc = spawn(NATS_SERVER, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', store], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  natsProc.stderr!.on('data', (d: Buffer) => logs.push(`[nats] ${d.toString()}`));
  natsUrl = `nats://127.0.0.1:${port}`;
  nc = await eventually(
    () => connect({ servers: natsUrl, reconnect: false }).catch(() => undefined),
    20_000,
    'nats-server',
  );
  js = nc.jetstream();

  a = await cardWorld({ customers: 40, months: 2, seed: 13, tags: ['spending.yaml'] });
  // The second instance: the same project and warehouse, its own consumer.
  bDir = tempDir();
  cpSync(a.dir, bDir, { recursive: true });
  setRealtime(a.dir, 'tagverse-a');
  setRealtime(bDir, 'tagverse-b');
  await startChild(await freePort());
  b = await startRealtimeServer(bDir, a.keysEnv);
}, 240_000);

afterAll(async () => {
  if (child && child.exitCode === null) await stopChild('SIGKILL');
  await b?.close();
  await nc?.close();
  natsProc?.kill('SIGTERM');
});

describe.skipIf(!NATS_SERVER)('NATS JetStream', () => {
  it(`two instances share a stream; every event counted once, across ${KILLS} SIGKILLs of one`, async () => {
    const baseline = await served(childUrl);
    expect(await served(b!.url)).toEqual(baseline);
    const status0 = await get(childUrl, '/v1/realtime/status', a.keys.admin);
    const stamp = new Date(Date.parse(status0.asOf) - 3600_000).toISOString();

    // What the producer publishes: single messages, batches, messages without an id, and retries.
    const expected = new Map<string, { n: number; spend: number }>(
      CUSTOMERS.map((c) => [c, { n: 0, spend: 0 }]),
    );
    let published = 0;
    let badPublished = 0;
    const payment = (k: number, withId: boolean) => {
      const id = CUSTOMERS[k % CUSTOMERS.length]!;
      const amount = 100 + (k % 89);
      const e = expected.get(id)!;
      e.n++;
      e.spend += amount;
      return {
        type: 'track',
        userId: id,
        event: 'Card Payment',
        ...(withId ? { messageId: `nats-${k}` } : {}),
        timestamp: stamp,
        properties: {
          merchant_id: 'M000758',
          mcc: '5499',
          amount,
          currency: 'KRW',
          original_amount: amount,
          channel: 'offline',
          city: 'Seoul',
          country: 'KR',
        },
      };
    };
    const publish = async (body: unknown) => {
      await js.publish('card.payments', JSON.stringify(body));
      published++;
    };
    let k = 0;
    const producer = async (rounds: number) => {
      for (let r = 0; r < rounds; r++) {
        const single = payment(k++, true);
        await publish(single);
        if (r % 5 === 0) await publish(single); // the producer retried: same messageId
        await publish({ batch: Array.from({ length: 1 + (r % 7) }, () => payment(k++, r % 3 !== 0)) });
        if (r % 4 === 0) await publish(payment(k++, false));
        if (r === 3) {
          await js.publish('card.payments', 'not json {');
          badPublished++;
        }
        await new Promise((res) => setTimeout(res, 5));
      }
    };

    const port = Number(new URL(childUrl).port);
    for (let kill = 0; kill < KILLS; kill++) {
      await producer(40);
      // Kill the child while it consumes what was just published.
      await new Promise((res) => setTimeout(res, Math.random() * 150));
      await stopChild('SIGKILL');
      await producer(20); // published while it is down: waits in the stream
      await startChild(port);
    }
    await producer(20);

    const want = new Map(
      CUSTOMERS.map((c) => [
        c,
        {
          n: baseline.get(c)!.n + expected.get(c)!.n,
          spend: baseline.get(c)!.spend + expected.get(c)!.spend,
        },
      ]),
    );
    const total = [...expected.values()].reduce((s, e) => s + e.n, 0);
    for (const [name, base] of [
      ['the killed instance', () => childUrl],
      ['the other instance', () => b!.url],
    ] as const) {
      await eventually(
        async () => {
          const s = await served(base());
          return JSON.stringify([...s]) === JSON.stringify([...want]) ? true : undefined;
        },
        30_000,
        `${name} to serve every event once`,
      ).catch(async (e) => {
        expect(await served(base()), name).toEqual(want); // shows the difference
        throw e;
      });
      const status = await get(base(), '/v1/realtime/flush', a.keys.admin, 'POST');
      expect(status.flushedSeq).toBe(status.durableSeq);
    }
    const bStatus = b!.realtime!.handle.runtime!.status();
    expect(bStatus.duplicates, 'the producer’s retries dropped').toBeGreaterThanOrEqual(8);

    await stopChild('SIGTERM');
    // Each bad message reported (by the killed instance) and dropped, not redelivered forever.
    const bad = new Set(
      [...logs.join('').matchAll(/message (\d+) of CARD is not a valid Segment message/g)].map((m) => m[1]),
    );
    expect(bad.size).toBe(badPublished);
    for (const dir of [a.dir, bDir]) {
      if (dir === bDir) await b!.close();
      const rows = await query<{ n: number; ids: number; named: number }>(
        requireProject(dir).engine.path,
        `SELECT count(*)::INTEGER AS n, count(DISTINCT txn_id)::INTEGER AS ids,
                count(*) FILTER (WHERE txn_id LIKE 'nats-%')::INTEGER AS named
         FROM raw.transactions WHERE txn_id LIKE 'nats-%' OR txn_id LIKE 'nats:${STREAM}:%'`,
      );
      expect(rows[0], dir).toMatchObject({ n: total, ids: total });
      expect(rows[0]!.named).toBeLessThan(total); // messages without an id were stored under their stream sequence
    }
    b = undefined;
    console.log(`nats test: ${published} NATS messages, ${total} events, ${KILLS} kills`);
  }, 240_000);
});
