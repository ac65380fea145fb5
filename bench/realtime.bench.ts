/**
 * Real time, end to end against `tagverse serve` in its own process (the built CLI), fsync on:
 * - sustained ingestion over HTTP `/v1/batch` (Segment batches of 500 card payments from several
 *   keep-alive connections, each sending its next batch when the last was acknowledged): events/s
 *   acknowledged (target >= 50,000 on 2 cores; the load generator shares those cores),
 * - under that load, probes: a single payment for a probe customer, timed from just before its request
 *   is sent to (a) the first `/v1/profiles` read that shows the new `txn_count_90d` (polled every 5 ms;
 *   target p99 < 250 ms) and (b) the arrival of the trigger's signed webhook at a receiver in this
 *   process (target p99 < 500 ms),
 * - the same probes at half the maximum rate just measured, paced (a heavy load the server keeps up
 *   with: at the maximum, evaluation falls behind ingestion by design), and at a fixed 1,000 events/s,
 * - the server's own view (/v1/realtime/status): acceptance-to-served latency, log groups, flushes,
 *   and how long the backlog takes to reach the warehouse after the load stops.
 * The project is a generated card world with the whole card pack (every tag evaluated live).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { generateKey } from '../src/api/keys.js';
import { requireProject } from '../src/config/project.js';
import { build } from '../src/engine/build.js';
import { requireProgram } from '../src/engine/program.js';
import { generateWorld } from '../src/generate/index.js';
import { ingest } from '../src/ingest/ingest.js';
import { Warehouse } from '../src/warehouse/warehouse.js';
import type { BenchContext, Benchmark } from './harness.js';
import { processCpuSeconds } from './load-generator.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const PACK_TAGS = path.join(here, '..', 'packs', 'card', 'tags');
const PROBE_AMOUNT = 777_777;
const BATCH = 500;

/**
 * Node flags of the server: what docs/realtime.md recommends for heavy ingestion (64 MB semi-spaces),
 * plus BENCH_SERVE_NODE_ARGS (e.g. --cpu-prof; a semi-space size given there replaces ours).
 */
const EXTRA_NODE_ARGS = (process.env.BENCH_SERVE_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
const SERVER_NODE_ARGS = [
  ...(EXTRA_NODE_ARGS.some((a) => a.includes('semi-space')) ? [] : ['--max-semi-space-size=64']),
  ...EXTRA_NODE_ARGS,
];
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
function percentiles(values: number[]): {
  count: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
} {
  const s = [...values].sort((a, b) => a - b);
  const at = (p: number) =>
    s.length === 0 ? null : round(s[Math.min(s.length - 1, Math.floor(s.length * p))]!);
  return {
    count: s.length,
    p50: at(0.5),
    p99: at(0.99),
    max: s.length === 0 ? null : round(s[s.length - 1]!),
  };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Sizes {
  customers: number;
  months: number;
  seconds: number;
  connections: number;
}

/** Which tags are live: the whole card pack, or its spending file alone (a lighter program). */
interface TagSet {
  readonly name: string;
  /** Files of packs/card/tags; undefined = all of them. */
  readonly files?: readonly string[];
}
/** Where the server evaluates live tags (realtime.evaluator). */
type Evaluator = 'worker' | 'inline';

const TAG_SETS: readonly TagSet[] = [{ name: 'card-pack' }, { name: 'spending', files: ['spending.yaml'] }];

async function makeProject(
  dir: string,
  sizes: Sizes,
  tagSet: TagSet,
  hookUrl: string,
  evaluator: Evaluator,
): Promise<void> {
  await generateWorld({
    customers: sizes.customers,
    months: sizes.months,
    seed: 21,
    out: dir,
    start: '2025-01-01',
  });
  // The generated world carries the card library already: replace it with the set asked for.
  rmSync(path.join(dir, 'tags'), { recursive: true, force: true });
  if (tagSet.files) {
    mkdirSync(path.join(dir, 'tags'), { recursive: true });
    for (const f of tagSet.files) cpSync(path.join(PACK_TAGS, f), path.join(dir, 'tags', f));
  } else cpSync(PACK_TAGS, path.join(dir, 'tags'), { recursive: true });
  const file = path.join(dir, 'tagverse.yaml');
  const doc = YAML.parseDocument(readFileSync(file, 'utf8'));
  doc.set(
    'api',
    doc.createNode({
      limits: { requests_per_second: 1_000_000, burst: 1_000_000, max_body_bytes: 1_048_576 },
    }),
  );
  doc.set(
    'realtime',
    doc.createNode({
      segment: {
        track: [{ events: ['Card Payment'], source: 'transactions' }],
        identify: { source: 'customers' },
      },
      evaluator,
    }),
  );
  writeFileSync(file, doc.toString());
  mkdirSync(path.join(dir, 'triggers'), { recursive: true });
  writeFileSync(
    path.join(dir, 'triggers', 'probe.yaml'),
    `- name: probe_payment
  description: A probe payment of a customer with spending (the benchmark's webhook).
  on: event
  source: transactions
  when: event.amount = ${PROBE_AMOUNT} and txn_count_90d > 0
  webhook: { url: '${hookUrl}/probe', secret: bench-secret }
`,
  );
  await ingest(dir);
  await build(requireProject(dir));
}

function startServe(
  dir: string,
  keysEnv: string,
): Promise<{ child: ChildProcess; url: string; log: string[] }> {
  const main = path.join(here, '..', 'dist', 'cli', 'main.js');
  const child = spawn(
    process.execPath,
    [...SERVER_NODE_ARGS, main, 'serve', '--project', dir, '--port', '0', '--no-watch'],
    {
      env: { ...process.env, TAGVERSE_API_KEYS: keysEnv },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const log: string[] = [];
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      log.push(d.toString());
      const m = /at (http:\/\/\S+)/.exec(err);
      if (m) resolve({ child, url: m[1]!, log });
    });
    child.once('exit', (code) => reject(new Error(`tagverse serve exited with ${code}: ${err}`)));
  });
}

/**
 * One HTTP request on a keep-alive agent, resolving with status and body. A socket the server closed
 * while idle (it may, when its event loop was busy past the keep-alive timeout) is retried on a new
 * one: batches carry messageIds, so a resend is never counted twice.
 */
async function request(
  agent: http.Agent,
  url: string,
  method: string,
  key: string,
  body?: string,
): Promise<{ status: number; body: string }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await requestOnce(agent, url, method, key, body);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (attempt >= 3 || (code !== 'ECONNRESET' && code !== 'EPIPE')) throw e;
    }
  }
}

function requestOnce(
  agent: http.Agent,
  url: string,
  method: string,
  key: string,
  body?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method,
        agent,
        headers: {
          authorization: `Bearer ${key}`,
          ...(body !== undefined
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
            : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function runOne(
  ctx: BenchContext,
  sizes: Sizes,
  tagSet: TagSet,
  evaluator: Evaluator,
): Promise<Record<string, unknown>> {
  // The webhook receiver: arrival time (performance.now) by message id.
  const hooks = new Map<string, number>();
  const receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as { event?: { messageId?: string } };
        if (body.event?.messageId) hooks.set(body.event.messageId, at);
      } catch {
        // not ours
      }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;

  // A fresh project per run: a warehouse left by an earlier run would hold its messageIds, and the
  // same batches would be dropped as duplicates.
  const dir = path.join(ctx.tmpDir, `${tagSet.name}-${evaluator}`);
  rmSync(dir, { recursive: true, force: true });
  let t = performance.now();
  await makeProject(dir, sizes, tagSet, hookUrl, evaluator);
  ctx.log(
    `world of ${sizes.customers} customers x ${sizes.months} months built in ${round((performance.now() - t) / 1000)} s`,
  );

  // Customers, merchants and the world's time.
  const config = requireProject(dir);
  const tagCount = (await requireProgram(config)).program.tags.length;
  const wh = await Warehouse.open(config.engine.path, { readOnly: true });
  const ids = (await wh.rows<{ id: string }>(`SELECT customer_id AS id FROM raw.customers ORDER BY 1`)).map(
    (r) => r.id,
  );
  const merchants = await wh.rows<{ merchant_id: string; mcc: string; city: string }>(
    `SELECT merchant_id, mcc, city FROM raw.merchants WHERE country = 'KR' AND category NOT IN ('airport') ORDER BY merchant_id LIMIT 400`,
  );
  const lastTs = Number(await wh.scalar(`SELECT epoch_ms(max(ts)) FROM raw.transactions`));
  wh.close();
  const stamp = new Date(lastTs).toISOString();

  const made = (['ingest', 'admin'] as const).map((role) => ({
    role,
    ...generateKey(role, `bench ${role}`),
  }));
  const keysEnv = made.map((m) => `${m.record.id}:${m.role}:${m.record.hash}`).join(',');
  const ingestKey = made[0]!.key;
  const adminKey = made[1]!.key;

  t = performance.now();
  const serve = await startServe(dir, keysEnv);
  try {
    return await measure(ctx, sizes, serve, {
      adminKey,
      ingestKey,
      ids,
      merchants,
      stamp,
      hooks,
      tagCount,
      spawnedAt: t,
    });
  } finally {
    if (serve.child.exitCode === null) {
      serve.child.kill('SIGTERM');
      await new Promise((r) => serve.child.once('exit', r));
    }
    receiver.close();
  }
}

async function measure(
  ctx: BenchContext,
  sizes: Sizes,
  serve: { child: ChildProcess; url: string; log: string[] },
  w: {
    adminKey: string;
    ingestKey: string;
    ids: string[];
    merchants: { merchant_id: string; mcc: string; city: string }[];
    stamp: string;
    hooks: Map<string, number>;
    tagCount: number;
    spawnedAt: number;
  },
): Promise<Record<string, unknown>> {
  const { adminKey, ingestKey, ids, merchants, stamp, hooks, tagCount } = w;
  let t = w.spawnedAt;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  for (;;) {
    const r = await request(agent, `${serve.url}/v1/realtime/status`, 'GET', adminKey);
    if (r.status === 200) break;
    if (r.status !== 503) throw new Error(`status: ${r.status} ${r.body}`);
    await sleep(100);
  }
  const startSeconds = round((performance.now() - t) / 1000);
  ctx.log(`server with real time ready in ${startSeconds} s at ${serve.url}`);

  // Probe customers are kept out of the load, so a probe's change is theirs alone.
  const probeIds = ids.slice(0, 40);
  const loadIds = ids.slice(40);

  // Batch bodies: a few fixed sets of 500 payments; each batch gets its own messageId prefix.
  const templates: string[][] = [];
  for (let s = 0; s < 16; s++) {
    const parts: string[] = [];
    for (let i = 0; i < BATCH; i++) {
      const id = loadIds[(s * 7919 + i * 104729) % loadIds.length]!;
      const m = merchants[(s * 31 + i) % merchants.length]!;
      const amount = 1000 + ((s * 977 + i * 131) % 90_000);
      parts.push(
        `{"type":"track","userId":"${id}","event":"Card Payment","timestamp":"${stamp}","properties":{"merchant_id":"${m.merchant_id}","mcc":"${m.mcc}","amount":${amount},"currency":"KRW","original_amount":${amount},"channel":"offline","city":"${m.city}","country":"KR"},"messageId":"`,
      );
      parts.push(`-${i}"}`);
    }
    templates.push(parts);
  }
  let batchNo = 0;
  const nextBody = (size = BATCH): string => {
    const b = batchNo++;
    const parts = templates[b % templates.length]!;
    let out = '{"batch":[';
    for (let i = 0; i < Math.min(parts.length, size * 2); i += 2) {
      if (i > 0) out += ',';
      out += `${parts[i]}b${b}${parts[i + 1]}`;
    }
    return `${out}]}`;
  };

  // Warm up (JIT, first evaluations) before measuring.
  const warmEnd = performance.now() + (ctx.scale === 'quick' ? 1500 : 4000);
  while (performance.now() < warmEnd) {
    const r = await request(agent, `${serve.url}/v1/batch`, 'POST', ingestKey, nextBody());
    if (r.status !== 200) throw new Error(`warm-up batch: ${r.status} ${r.body}`);
  }

  // Probes during the load: a payment, then poll the profile until the count moves.
  const probeAgent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const counts = new Map<string, number>();
  const countOf = async (id: string): Promise<number> => {
    const r = await request(probeAgent, `${serve.url}/v1/profiles/${id}?tags=txn_count_90d`, 'GET', adminKey);
    const p = JSON.parse(r.body) as { categories: Record<string, { name: string; value: unknown }[]> };
    const v = Object.values(p.categories)
      .flat()
      .find((x) => x.name === 'txn_count_90d')?.value;
    return typeof v === 'number' ? v : 0;
  };
  for (const id of probeIds) counts.set(id, await countOf(id));

  // A load phase with probes: a payment of a probe customer, then poll the profile until it shows.
  const phase = async (label: string, seconds: number, rate?: number) => {
    let acked = 0;
    let failed = 0;
    let running = true;
    const ackLatencies: number[] = [];
    const loadStart = performance.now();
    const cpuAtStart = serve.child.pid !== undefined ? processCpuSeconds(serve.child.pid) : undefined;
    // Closed loop (rate undefined): each connection sends its next batch when the last is acknowledged.
    // Paced: a batch of `rate / 10` events (at most BATCH) every 100 ms (or as often as the rate needs),
    // whatever the answers.
    const paced = rate !== undefined ? Math.min(BATCH, Math.max(1, Math.round(rate / 10))) : undefined;
    const everyMs = rate !== undefined && paced !== undefined ? (1000 * paced) / rate : 0;
    const workers = Array.from({ length: paced ? 1 : sizes.connections }, async () => {
      let slot = performance.now();
      while (running) {
        if (paced) {
          slot += everyMs;
          await sleep(Math.max(0, slot - performance.now()));
          if (!running) break;
        }
        const body = nextBody(paced);
        const t0 = performance.now();
        const r = await request(agent, `${serve.url}/v1/batch`, 'POST', ingestKey, body);
        if (r.status === 200) {
          acked += paced ?? BATCH;
          ackLatencies.push(performance.now() - t0);
        } else {
          failed++;
          if (failed < 5) ctx.log(`batch refused: ${r.status} ${r.body.slice(0, 200)}`);
        }
      }
    });

    const tagLatencies: number[] = [];
    const probeSent = new Map<string, number>();
    let probeTimeouts = 0;
    let probeNo = 0;
    const probeEnd = loadStart + seconds * 1000;
    await sleep(500);
    while (performance.now() < probeEnd - 300) {
      const id = probeIds[probeNo % probeIds.length]!;
      const messageId = `probe-${label}-${probeNo++}`;
      const want = counts.get(id)! + 1;
      const m = merchants[probeNo % merchants.length]!;
      const body = JSON.stringify({
        userId: id,
        event: 'Card Payment',
        messageId,
        timestamp: stamp,
        properties: {
          merchant_id: m.merchant_id,
          mcc: m.mcc,
          amount: PROBE_AMOUNT,
          currency: 'KRW',
          original_amount: PROBE_AMOUNT,
          channel: 'offline',
          city: m.city,
          country: 'KR',
        },
      });
      const t0 = performance.now();
      probeSent.set(messageId, t0);
      const r = await request(probeAgent, `${serve.url}/v1/track`, 'POST', ingestKey, body);
      if (r.status !== 200) throw new Error(`probe: ${r.status} ${r.body}`);
      for (;;) {
        const n = await countOf(id);
        if (n >= want) {
          tagLatencies.push(performance.now() - t0);
          counts.set(id, n);
          break;
        }
        if (performance.now() - t0 > 10_000) {
          probeTimeouts++;
          counts.set(id, want);
          break;
        }
        await sleep(5);
      }
      await sleep(150);
    }
    while (performance.now() < probeEnd) await sleep(20);
    running = false;
    await Promise.all(workers);
    const loadSeconds = (performance.now() - loadStart) / 1000;
    const eventsPerSecond = Math.round(acked / loadSeconds);
    // The server's CPU (all its threads) per acknowledged event: far less distorted by a shared,
    // loaded machine than events/s.
    const cpuAtEnd = serve.child.pid !== undefined ? processCpuSeconds(serve.child.pid) : undefined;
    const serverCpuUsPerEvent =
      cpuAtStart !== undefined && cpuAtEnd !== undefined && acked > 0
        ? round(((cpuAtEnd - cpuAtStart) * 1e6) / acked)
        : null;

    // Webhooks of the probes (give stragglers a few seconds).
    const waitHooks = performance.now() + 10_000;
    while (performance.now() < waitHooks && [...probeSent.keys()].some((k) => !hooks.has(k))) await sleep(50);
    const hookLatencies = [...probeSent].filter(([k]) => hooks.has(k)).map(([k, t0]) => hooks.get(k)! - t0);
    const hooksMissing = [...probeSent.keys()].filter((k) => !hooks.has(k)).length;
    const tag = percentiles(tagLatencies);
    const hook = percentiles(hookLatencies);
    ctx.log(
      `${label}: ${acked} events acknowledged in ${round(loadSeconds)} s: ${eventsPerSecond} events/s ` +
        `(server CPU ${serverCpuUsPerEvent} us/event); ` +
        `tag p50/p99 ${tag.p50}/${tag.p99} ms, webhook p50/p99 ${hook.p50}/${hook.p99} ms`,
    );
    return {
      seconds: round(loadSeconds),
      ...(paced
        ? { targetRate: rate, batchSize: paced }
        : { connections: sizes.connections, batchSize: BATCH }),
      eventsAcknowledged: acked,
      eventsPerSecond,
      serverCpuUsPerEvent,
      batchesRefused: failed,
      batchAckMs: percentiles(ackLatencies),
      eventToTagMs: { ...tag, probeTimeouts },
      eventToWebhookMs: { ...hook, missing: hooksMissing },
    };
  };

  const max = await phase('max', sizes.seconds);
  // Let the backlog clear, then half the rate just measured: how fresh tags stay under a heavy load
  // the server keeps up with (at the maximum, evaluation falls behind ingestion by design).
  await request(agent, `${serve.url}/v1/realtime/flush`, 'POST', adminKey);
  const halfRate = Math.max(1, Math.round(max.eventsPerSecond / 2));
  const half = await phase('half of max', sizes.seconds, halfRate);
  // Then a fixed, ordinary load.
  await request(agent, `${serve.url}/v1/realtime/flush`, 'POST', adminKey);
  const steadyRate = Number(process.env.BENCH_REALTIME_RATE ?? 1000);
  const steady = await phase('steady', sizes.seconds, steadyRate);

  const statusAtEnd = JSON.parse(
    (await request(agent, `${serve.url}/v1/realtime/status`, 'GET', adminKey)).body,
  );
  t = performance.now();
  const flushed = JSON.parse((await request(agent, `${serve.url}/v1/realtime/flush`, 'POST', adminKey)).body);
  const drainSeconds = round((performance.now() - t) / 1000, 2);
  agent.destroy();
  probeAgent.destroy();
  // Problems the server reported (a failed evaluation or flush makes the figures meaningless).
  const problems = serve.log
    .join('')
    .split('\n')
    .filter((l) => /failed|error/i.test(l));
  for (const p of problems.slice(0, 5)) ctx.log(`server: ${p.slice(0, 2000)}`);

  const met = (m: Awaited<ReturnType<typeof phase>>) => ({
    tagP99Under250ms:
      m.eventToTagMs.p99 !== null && m.eventToTagMs.p99 < 250 && m.eventToTagMs.probeTimeouts === 0,
    webhookP99Under500ms:
      m.eventToWebhookMs.p99 !== null && m.eventToWebhookMs.p99 < 500 && m.eventToWebhookMs.missing === 0,
  });
  return {
    world: { customers: sizes.customers, months: sizes.months },
    liveTags: tagCount,
    maxLoad: max,
    halfOfMaxLoad: half,
    steadyLoad: steady,
    server: {
      startSeconds,
      internalAcceptToServedMs: statusAtEnd.latencyMs,
      walGroups: statusAtEnd.walGroups,
      eventsPerWalGroup:
        statusAtEnd.walGroups > 0 ? round(statusAtEnd.accepted / statusAtEnd.walGroups) : null,
      dirtyEntitiesAtEnd: statusAtEnd.dirtyEntities,
      pendingFlushAtEnd: statusAtEnd.pendingFlush,
      lastFlush: statusAtEnd.lastFlush ?? null,
      drainToWarehouseSeconds: drainSeconds,
      flushedAll: flushed.flushedSeq === flushed.durableSeq,
    },
    targets: {
      eventsPerSecondAtLeast50000: max.eventsPerSecond >= 50_000,
      underMaxLoad: met(max),
      atHalfOfMaxLoad: met(half),
      atSteadyLoad: met(steady),
    },
  };
}

const bench: Benchmark = {
  name: 'realtime',
  description:
    'real time: sustained /v1/batch ingestion with fsync (events/s), event-to-tag and event-to-webhook latency under that load',
  async run(ctx) {
    const sizes: Sizes =
      ctx.scale === 'quick'
        ? { customers: 1000, months: 2, seconds: 8, connections: 4 }
        : {
            customers: Number(process.env.BENCH_CUSTOMERS ?? 10_000),
            months: 3,
            seconds: 30,
            connections: 6,
          };
    const out: Record<string, unknown> = { serverNodeArgs: SERVER_NODE_ARGS.join(' ') };
    // BENCH_REALTIME_TAGS=spending runs one tag set.
    const only = process.env.BENCH_REALTIME_TAGS;
    // BENCH_REALTIME_EVALUATORS=worker,inline runs both, one after the other (same world and load).
    const evaluators = (process.env.BENCH_REALTIME_EVALUATORS ?? 'worker').split(',') as Evaluator[];
    for (const e of evaluators) {
      if (e !== 'worker' && e !== 'inline') throw new Error(`BENCH_REALTIME_EVALUATORS: unknown '${e}'`);
    }
    for (const tagSet of TAG_SETS.filter((t) => only === undefined || t.name === only)) {
      const byEvaluator: Record<string, unknown> = {};
      for (const evaluator of evaluators) {
        ctx.log(`-- live tags: ${tagSet.name}, evaluator: ${evaluator}`);
        byEvaluator[evaluator] = await runOne(ctx, sizes, tagSet, evaluator);
      }
      out[tagSet.name] = byEvaluator;
    }
    return out;
  },
};

export default bench;
