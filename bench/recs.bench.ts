/**
 * Recommendations and decisions:
 * - quality: every algorithm on The Complete Journey (household x product, household x category) and
 *   the generated card world (customer x merchant, customer x category), with the protocol of
 *   `tagverse evaluate recs` (temporal split 80% through the data, new items relevant, K = 10):
 *   Recall/NDCG/MAP@10, coverage, NDCG@10 over popularity's, training time;
 * - `POST /v1/decide` p99 over HTTP against `tagverse serve` in its own process (from the sources), with
 *   50 offers and 1M entities (quick: 100k), granting (ledger writes) at a fixed rate, the load
 *   generator in a third process (load-generator.ts), with the server's CPU µs per decision
 *   (target p99 < 10 ms); and the same decisions in process (latency and CPU per decision).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateKey } from '../src/api/keys.js';
import { requireProject } from '../src/config/project.js';
import { generateWorld } from '../src/generate/index.js';
import { ingest } from '../src/ingest/ingest.js';
import { OfferLedger } from '../src/offers/ledger.js';
import { ActionService } from '../src/offers/service.js';
import { openStore } from '../src/online/store-holder.js';
import { datasetsDir } from '../src/packs/index.js';
import { initProject } from '../src/project/init.js';
import { evaluateRecommender } from '../src/recs/evaluate.js';
import { trainRecommender } from '../src/recs/train.js';
import { Warehouse } from '../src/warehouse/warehouse.js';
import type { BenchContext, Benchmark } from './harness.js';
import { runLoad, startServeChild } from './load-generator.js';

const round = (x: number, d = 4) => Math.round(x * 10 ** d) / 10 ** d;

async function quality(ctx: BenchContext, dir: string, name: string): Promise<Record<string, unknown>> {
  const e = await evaluateRecommender(dir, name, { k: 10 });
  const out: Record<string, unknown> = {
    split: e.protocol.splitAt,
    entities: e.entities,
    catalogue: e.catalogue,
    events: e.events,
  };
  for (const r of e.results) {
    out[r.algorithm] = {
      recall10: round(r.recall),
      ndcg10: round(r.ndcg),
      map10: round(r.map),
      coverage: round(r.coverage),
      ndcgVsPopularity: r.ndcgVsPopularity !== undefined ? round(r.ndcgVsPopularity, 2) : null,
      trainSeconds: round(r.trainSeconds, 2),
    };
    ctx.log(
      `${name} ${r.algorithm}: NDCG@10 ${r.ndcg.toFixed(4)} (x${r.ndcgVsPopularity?.toFixed(2)}) recall ${r.recall.toFixed(4)} train ${r.trainSeconds.toFixed(2)} s`,
    );
  }
  return out;
}

const RECS = (name: string, item: string, where?: string) =>
  `name: ${name}\ndescription: bench\nfrom: transactions\nitem: ${item}\n${where ? `where: ${where}\n` : ''}algorithm: ease\n`;

async function qualityAll(ctx: BenchContext): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const data = datasetsDir();
  if (data && existsSync(path.join(data, 'completejourney'))) {
    const g = path.join(ctx.tmpDir, 'grocery');
    await initProject(g, { template: 'grocery', datasets: data });
    mkdirSync(path.join(g, 'recs'), { recursive: true });
    writeFileSync(path.join(g, 'recs', 'products.yaml'), RECS('products', 'product_id'));
    writeFileSync(path.join(g, 'recs', 'categories.yaml'), RECS('categories', 'product_category'));
    await ingest(g);
    out.completejourney_household_x_product = await quality(ctx, g, 'products');
    out.completejourney_household_x_category = await quality(ctx, g, 'categories');
  } else out.completejourney = 'skipped: ../shared/datasets/completejourney not found';
  const customers = ctx.scale === 'quick' ? 1000 : 5000;
  const months = ctx.scale === 'quick' ? 6 : 12;
  const w = path.join(ctx.tmpDir, 'card');
  await generateWorld({ customers, months, seed: 7, out: w });
  mkdirSync(path.join(w, 'recs'), { recursive: true });
  writeFileSync(
    path.join(w, 'recs', 'merchants.yaml'),
    RECS('merchants', 'merchant_id', "channel = 'offline' and category not in ('utilities', 'telecom')"),
  );
  writeFileSync(path.join(w, 'recs', 'categories.yaml'), RECS('categories', 'category'));
  await ingest(w);
  out.world = `${customers} customers x ${months} months, seed 7`;
  out.card_customer_x_merchant = await quality(ctx, w, 'merchants');
  out.card_customer_x_category = await quality(ctx, w, 'categories');
  const t = await trainRecommender(w, 'merchants');
  out.card_merchants_full_train_seconds = round(t.card.trainSeconds, 2);
  return out;
}

// ---- /v1/decide at scale --------------------------------------------------------------------------
const CUISINES = [
  'korean_bbq',
  'korean',
  'japanese',
  'chinese',
  'italian',
  'western',
  'thai',
  'vietnamese',
  'indian',
  'mexican',
];
const CITIES: [string, number, number][] = [
  ['Seoul', 37.5665, 126.978],
  ['Busan', 35.1796, 129.0756],
  ['Incheon', 37.4563, 126.7052],
  ['Daegu', 35.8714, 128.6014],
  ['Daejeon', 36.3504, 127.3845],
  ['Gwangju', 35.1595, 126.8526],
  ['Suwon', 37.2636, 127.0286],
  ['Ulsan', 35.5384, 129.3114],
];

function writeDecideProject(dir: string): void {
  const tag = (name: string, value: string, from?: string) =>
    `- name: ${name}\n  description: Synthetic ${name}.\n  category: preference\n${from ? `  from: ${from}\n` : ''}  value: ${value}\n`;
  mkdirSync(path.join(dir, 'tags'), { recursive: true });
  mkdirSync(path.join(dir, 'offers'), { recursive: true });
  mkdirSync(path.join(dir, 'recs'), { recursive: true });
  writeFileSync(
    path.join(dir, 'tags', 'synthetic.yaml'),
    [
      tag('cuisine_affinity', 'top(merchant_id, 3, by count())', 'transactions'),
      tag('diaper_cycle', 'age > 30'),
      tag('diaper_cycle_next_due', 'last_time()', 'transactions'),
      tag('spend_score', 'age / 100'),
      tag('dormant_60d', 'age > 75'),
    ].join(''),
  );
  writeFileSync(
    path.join(dir, 'tagverse.yaml'),
    `name: decide_bench
timezone: Asia/Seoul
entity: { name: customer }
api:
  limits: { requests_per_second: 1000000, burst: 1000000 }
sources:
  transactions:
    kind: events
    files: data/transactions.csv
    entity_key: customer_id
    timestamp: ts
  customers:
    kind: profile
    files: data/customers.csv
    entity_key: customer_id
  merchants:
    kind: lookup
    files: data/merchants.csv
    key: merchant_id
`,
  );
  writeFileSync(
    path.join(dir, 'recs', 'merchants.yaml'),
    'name: merchants\ndescription: bench\nfrom: transactions\nitem: merchant_id\nalgorithm: ease\nfilters: { eligibility: not dormant_60d }\n',
  );
  const offers: string[] = [];
  for (let k = 0; k < 50; k++) {
    const cuisine = CUISINES[k % CUISINES.length]!;
    const kind = Math.floor(k / 10);
    const lines = [`- id: offer-${k}`, `  title: Offer ${k}`, '  value: { kind: percent, amount: 10 }'];
    lines.push(`  eligibility: ${kind === 3 ? `spend_score > 0.${(k % 5) + 2}` : 'not dormant_60d'}`);
    lines.push('  channels: [app, push]', '  frequency_cap: { max: 3, per: 7d }');
    if (kind === 0 || kind === 4) {
      lines.push(`  target: { categories: [restaurant], match: { cuisine: [${cuisine}] } }`);
      lines.push(
        `  signals: { affinity: { tag: cuisine_affinity, value: M${String(k * 7).padStart(5, '0')} }, recommender: merchants }`,
      );
      lines.push(`  context: { hours: [${kind === 0 ? '11, 14' : '0, 24'}], max_distance_km: 10 }`);
    } else if (kind === 1) {
      lines.push('  signals: { due: diaper_cycle, model: spend_score }');
    } else if (kind === 2) {
      lines.push(
        `  target: { merchants: [M${String(k * 3).padStart(5, '0')}, M${String(k * 5).padStart(5, '0')}] }`,
      );
      lines.push('  signals: { recommender: merchants, model: spend_score }');
    } else {
      lines.push('  signals: { model: spend_score }', `  priority: ${1 + (k % 3) / 10}`);
    }
    offers.push(lines.join('\n'));
  }
  writeFileSync(path.join(dir, 'offers', 'offers.yaml'), `${offers.join('\n')}\n`);
}

/** tags.current for n entities, the merchants lookup, and events for the first `withEvents` entities. */
async function writeDecideWarehouse(file: string, n: number, withEvents: number): Promise<void> {
  const wh = await Warehouse.open(file);
  try {
    const id = (x: string) => `'E' || lpad(CAST(${x} AS VARCHAR), 7, '0')`;
    const merchants = 2000;
    await wh.run(`CREATE OR REPLACE TABLE main.merchants AS SELECT 'M' || lpad(CAST(i AS VARCHAR), 5, '0') AS merchant_id,
      [${CITIES.map((c) => `'${c[0]}'`).join(', ')}][CAST(i % ${CITIES.length} AS INTEGER) + 1] AS city,
      [${CITIES.map((c) => c[1]).join(', ')}][CAST(i % ${CITIES.length} AS INTEGER) + 1] + (CAST(hash(i, 1) % 1000 AS INTEGER) - 500) / 10000.0 AS lat,
      [${CITIES.map((c) => c[2]).join(', ')}][CAST(i % ${CITIES.length} AS INTEGER) + 1] + (CAST(hash(i, 2) % 1000 AS INTEGER) - 500) / 10000.0 AS lon,
      'restaurant' AS category,
      [${CUISINES.map((c) => `'${c}'`).join(', ')}][CAST(hash(i, 3) % ${CUISINES.length} AS INTEGER) + 1] AS cuisine
      FROM range(${merchants}) t(i)`);
    await wh.run(
      `CREATE OR REPLACE TABLE main.customers AS SELECT ${id('i')} AS customer_id, CAST(18 + hash(i, 998) % 60 AS INTEGER) AS age FROM range(${n}) t(i)`,
    );
    // Each customer with events pays at ~8 merchants of one city neighbourhood (so EASE learns something).
    await wh.run(`CREATE OR REPLACE TABLE main.transactions AS
      SELECT ${id('i')} AS customer_id,
        TIMESTAMPTZ '2025-01-01 00:00:00+00' + to_seconds(CAST(hash(i, j, 5) % 15552000 AS BIGINT)) AS ts,
        'M' || lpad(CAST(((i % 200) * 10 + hash(i, j, 6) % 12) % ${merchants} AS VARCHAR), 5, '0') AS merchant_id
      FROM range(${withEvents}) t(i), range(8) u(j)`);
    const item = (j: number) =>
      `struct_pack("value" := 'M' || lpad(CAST((hash(i, ${j}) % ${merchants}) AS VARCHAR), 5, '0'), score := CAST(1 + hash(i, ${10 + j}) % 500 / 100.0 AS DOUBLE))`;
    await wh.run('CREATE SCHEMA IF NOT EXISTS tags');
    await wh.run(`CREATE OR REPLACE TABLE tags.current AS SELECT ${id('i')} AS entity_id,
      CASE WHEN hash(i, 7) % 4 = 0 THEN [${item(0)}, ${item(1)}, ${item(2)}] ELSE [] END AS cuisine_affinity,
      hash(i, 8) % 10 = 0 AS diaper_cycle,
      TIMESTAMPTZ '2025-07-01 00:00:00+00' + to_seconds(CAST(hash(i, 9) % 1209600 AS BIGINT)) AS diaper_cycle_next_due,
      CAST(hash(i, 11) % 1000 AS DOUBLE) / 1000 AS spend_score,
      hash(i, 12) % 20 = 0 AS dormant_60d
      FROM range(${n}) t(i) ORDER BY 1`);
    await wh.run(`CREATE OR REPLACE TABLE tags.builds (build_id BIGINT, as_of TIMESTAMPTZ, started_at TIMESTAMPTZ,
      finished_at TIMESTAMPTZ, duration_ms BIGINT, tags VARCHAR[], entities BIGINT)`);
    await wh.run(
      `INSERT INTO tags.builds VALUES (1, TIMESTAMPTZ '2025-06-30 23:59:59+00', now(), now(), 0, [], ${n})`,
    );
  } finally {
    wh.close();
  }
}

async function decideBench(ctx: BenchContext): Promise<Record<string, unknown>> {
  const n = ctx.scale === 'quick' ? 100_000 : 1_000_000;
  const withEvents = ctx.scale === 'quick' ? 20_000 : 200_000;
  const dir = path.join(ctx.tmpDir, 'decide');
  writeDecideProject(dir);
  const config = requireProject(dir);
  let t = performance.now();
  await writeDecideWarehouse(config.engine.path, n, withEvents);
  ctx.log(`wrote ${n} entities, 50 offers, 2000 merchants in ${Math.round(performance.now() - t)} ms`);
  t = performance.now();
  const trained = await trainRecommender(config, 'merchants');
  ctx.log(
    `trained the merchants recommender (${trained.card.events} events) in ${Math.round(performance.now() - t)} ms`,
  );
  const key = generateKey('editor');
  const { child, url } = await startServeChild(dir, {
    TAGVERSE_API_KEYS: `${key.record.id}:editor:${key.record.hash}`,
  });
  let seed = 4242;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const body = () => {
    const i = Math.floor(rnd() * n);
    const c = CITIES[i % CITIES.length]!;
    return JSON.stringify({
      entityId: `E${String(i).padStart(7, '0')}`,
      context: {
        time: '2025-07-02T12:30:00+09:00',
        channel: 'app',
        location: { lat: c[1] + (rnd() - 0.5) / 20, lon: c[2] + (rnd() - 0.5) / 20 },
      },
      limit: 3,
    });
  };
  try {
    const headers = { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' };
    const first = await fetch(`${url}/v1/decide`, { method: 'POST', headers, body: body() });
    const sample = (await first.json()) as { offers?: { reasons: string[] }[]; eligible?: number };
    if (first.status !== 200) throw new Error(`decide answered ${first.status}: ${JSON.stringify(sample)}`);
    const rate = 500;
    const r = await runLoad({
      url,
      key: key.key,
      mode: 'decide',
      entities: n,
      rate,
      connections: 16,
      warmupSeconds: 3,
      seconds: ctx.scale === 'quick' ? 5 : 15,
      ...(child.pid !== undefined ? { serverPid: child.pid } : {}),
    });
    child.kill('SIGTERM');
    // The same decisions in this process (no HTTP, no other connections): the engine's own cost.
    const { store } = await openStore(config);
    const engine = await new ActionService(config, { ledger: new OfferLedger() }).offers();
    const inProc: number[] = [];
    let cpu0 = process.cpuUsage();
    for (let k = 0; k < 22_000; k++) {
      if (k === 2000) cpu0 = process.cpuUsage();
      const b = JSON.parse(body());
      const s = performance.now();
      engine.decide(store, b);
      if (k >= 2000) inProc.push(performance.now() - s);
    }
    const cpu = process.cpuUsage(cpu0);
    inProc.sort((a, b) => a - b);
    const pct = (p: number) => round(inProc[Math.min(inProc.length - 1, Math.floor(inProc.length * p))]!, 3);
    return {
      inProcessMs: {
        p50: pct(0.5),
        p99: pct(0.99),
        max: round(inProc[inProc.length - 1]!, 3),
        cpuUsPerDecision: Math.round((cpu.user + cpu.system) / inProc.length),
      },
      loadAverage: os.loadavg().map((x) => round(x, 2)),
      entities: n,
      offers: 50,
      entitiesWithHistory: withEvents,
      ratePerSecond: rate,
      loadGenerator: 'autocannon in its own process',
      requests: r.requests,
      achievedRate: r.achievedRate,
      non2xx: r.non2xx,
      errors: r.errors,
      p50Ms: r.latencyMs.p50,
      p90Ms: r.latencyMs.p90,
      p99Ms: r.latencyMs.p99,
      maxMs: r.latencyMs.max,
      serverCpuUsPerRequest: r.serverCpuUsPerRequest ?? null,
      targetP99Ms: 10,
      meetsTarget: r.latencyMs.p99 < 10 && r.non2xx === 0 && r.errors === 0,
      sampleEligible: sample.eligible,
      sampleReasons: sample.offers?.[0]?.reasons ?? [],
      recsTrainSeconds: round(trained.card.trainSeconds, 2),
    };
  } finally {
    child.kill('SIGTERM');
  }
}

const bench: Benchmark = {
  name: 'recs',
  description:
    'recommendation quality vs popularity (Complete Journey, card world) and POST /v1/decide p99 over HTTP with 50 offers and 1M entities',
  async run(ctx) {
    const decide = await decideBench(ctx);
    ctx.log(`decide p99 ${decide.p99Ms} ms over ${decide.requests} requests`);
    const q = await qualityAll(ctx);
    return { decide, quality: q };
  },
};
export default bench;
