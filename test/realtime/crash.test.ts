/**
 * Nothing acknowledged is lost, nothing is applied twice or by halves: a client sends batches of card
 * payments with retries while the server (a child process) is killed with SIGKILL at random moments
 * and restarted, several times. Afterwards every acknowledged message is in the warehouse exactly once
 * and counted exactly once by the served tags; a batch the client gave up on is there entirely or not
 * at all.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireProject } from '../../src/config/project.js';
import { query } from '../helpers.js';
import { cardWorld, eventually, REALTIME_SECTION, type RealtimeFixture } from './fixture.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies are read field by field
type Json = any;

const CHILD = path.join(import.meta.dirname, 'serve-child.ts');
const CUSTOMERS = Array.from({ length: 10 }, (_, i) => `C${String(i + 1).padStart(7, '0')}`);
const KILLS = 5;

let fx: RealtimeFixture;
let port: number;
let child: ChildProcess | undefined;
let url = '';
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

/** Start the server child and wait until it accepts events. */
async function startChild(): Promise<void> {
  const c = spawn(process.execPath, ['--import', 'tsx', CHILD, fx.dir, String(port)], {
    cwd: path.join(import.meta.dirname, '../..'),
    env: { ...process.env, TAGVERSE_API_KEYS: fx.keysEnv },
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
  url = ready.url;
}

async function kill(): Promise<void> {
  const c = child!;
  const exited = new Promise((r) => c.once('exit', r));
  c.kill('SIGKILL');
  await exited;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function call(
  method: string,
  route: string,
  key: string,
  body?: unknown,
): Promise<{ status: number; body: Json }> {
  const res = await fetch(url + route, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(15_000),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

const tagOf = (p: Json, name: string) =>
  Object.values(p.categories as Record<string, { name: string; value: unknown }[]>)
    .flat()
    .find((t) => t.name === name)?.value as number;

beforeAll(async () => {
  fx = await cardWorld({
    customers: 40,
    months: 2,
    seed: 11,
    tags: ['spending.yaml'],
    // Short flushes and small log files: crashes land in the middle of flushes and trims too.
    realtime: { ...REALTIME_SECTION, flush_interval_ms: 150, segment_bytes: 16 * 1024 },
  });
  port = await freePort();
  await startChild();
}, 240_000);

afterAll(async () => {
  if (child && child.exitCode === null) await kill();
});

describe('crash safety', () => {
  it(`every acknowledged event is served and stored exactly once across ${KILLS} SIGKILLs`, async () => {
    const status0 = (await call('GET', '/v1/realtime/status', fx.keys.admin)).body;
    const stamp = new Date(Date.parse(status0.asOf) - 3600_000).toISOString();
    const baseline = new Map<string, { n: number; spend: number }>();
    for (const id of CUSTOMERS) {
      const p = (await call('GET', `/v1/profiles/${id}?tags=txn_count_90d,spend_90d`, fx.keys.admin)).body;
      baseline.set(id, { n: tagOf(p, 'txn_count_90d'), spend: tagOf(p, 'spend_90d') });
    }

    // The client: batches of 1-40 payments, each retried until acknowledged, except that after a
    // failed attempt a batch is sometimes abandoned (never acknowledged).
    const acked = new Set<string>();
    const abandoned: string[][] = [];
    const amountOf = new Map<string, { id: string; amount: number }>();
    let sending = true;
    let batches = 0;
    let failedAttempts = 0;
    let duplicatesSeen = 0;
    const client = (async () => {
      for (let b = 0; sending || b < 20; b++) {
        const size = 1 + Math.floor(Math.random() * 40);
        const batch = Array.from({ length: size }, (_, i) => {
          const messageId = `crash-${b}-${i}`;
          const id = CUSTOMERS[(b * 7 + i) % CUSTOMERS.length]!;
          const amount = 1 + ((b * 31 + i) % 97);
          amountOf.set(messageId, { id, amount });
          return {
            type: 'track',
            userId: id,
            event: 'Card Payment',
            messageId,
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
        });
        for (let attempt = 0; ; attempt++) {
          try {
            const r = await call('POST', '/v1/batch', fx.keys.ingest, { batch });
            if (r.status === 200) {
              for (const m of batch) acked.add(m.messageId);
              duplicatesSeen += r.body.duplicates;
              break;
            }
            failedAttempts++;
            if (r.status < 500 && r.status !== 429)
              throw new Error(`refused: ${r.status} ${JSON.stringify(r.body)}`);
          } catch (e) {
            if (e instanceof Error && e.message.startsWith('refused')) throw e;
            failedAttempts++;
            if (attempt === 0 && Math.random() < 0.3) {
              abandoned.push(batch.map((m) => m.messageId));
              break;
            }
          }
          await sleep(30);
        }
        batches++;
      }
    })();

    for (let k = 0; k < KILLS; k++) {
      // Let the client get going on this server, then kill it at a random moment.
      const from = batches;
      await eventually(() => (batches >= from + 5 ? true : undefined), 60_000, 'the client to make progress');
      await sleep(Math.random() * 400);
      await kill();
      await sleep(Math.random() * 200);
      await startChild();
    }
    sending = false;
    await client;
    expect(batches).toBeGreaterThan(20);

    // Served: every acknowledged payment counted once (and an abandoned batch entirely or not at all).
    const done = await call('POST', '/v1/realtime/flush', fx.keys.admin);
    expect(done.status).toBe(200);
    expect(done.body.flushedSeq).toBe(done.body.durableSeq);
    const served = new Map<string, { n: number; spend: number }>();
    for (const id of CUSTOMERS) {
      const p = (await call('GET', `/v1/profiles/${id}?tags=txn_count_90d,spend_90d`, fx.keys.admin)).body;
      served.set(id, { n: tagOf(p, 'txn_count_90d'), spend: tagOf(p, 'spend_90d') });
    }
    // Stop cleanly so the warehouse can be read.
    const c = child!;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await exited;

    const rows = await query<{ txn_id: string; n: number }>(
      requireProject(fx.dir).engine.path,
      `SELECT txn_id, count(*)::INTEGER AS n FROM raw.transactions WHERE txn_id LIKE 'crash-%' GROUP BY 1`,
    );
    const stored = new Map(rows.map((r) => [r.txn_id, r.n]));
    const twice = rows.filter((r) => r.n !== 1).map((r) => r.txn_id);
    expect(twice, 'stored more than once').toEqual([]);
    const lost = [...acked].filter((id) => !stored.has(id));
    expect(lost, 'acknowledged but not stored').toEqual([]);
    for (const batch of abandoned) {
      const present = batch.filter((id) => stored.has(id)).length;
      expect([0, batch.length], `abandoned batch ${batch[0]} is there by halves`).toContain(present);
    }
    const unknown = [...stored.keys()].filter((id) => !amountOf.has(id));
    expect(unknown).toEqual([]);
    // The served tags count exactly what is stored.
    for (const id of CUSTOMERS) {
      const mine = [...stored.keys()].filter((m) => amountOf.get(m)!.id === id);
      const spend = mine.reduce((s, m) => s + amountOf.get(m)!.amount, 0);
      expect(served.get(id), id).toEqual({
        n: baseline.get(id)!.n + mine.length,
        spend: baseline.get(id)!.spend + spend,
      });
    }
    expect(acked.size).toBeGreaterThan(100);
    // The kills did hit requests in flight (else this proves little).
    expect(failedAttempts).toBeGreaterThan(0);
    console.log(
      `crash test: ${batches} batches, ${acked.size} messages acknowledged, ${abandoned.length} batches abandoned ` +
        `(${abandoned.filter((b) => stored.has(b[0]!)).length} of them logged before the kill), ${failedAttempts} failed attempts, ` +
        `${duplicatesSeen} duplicates dropped on retries`,
    );
  }, 300_000);
});
