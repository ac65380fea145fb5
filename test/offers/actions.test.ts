/**
 * Recommendations and decisions end to end on a generated card world: recommender definitions with
 * positioned errors, training into versioned files, evaluation against an independent SQL count,
 * the CLI, and the HTTP routes (roles, hostile inputs, reasons checked against the store, caps and
 * budgets enforced under concurrency and kept across a restart).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKey } from '../../src/api/keys.js';
import { type RunningServer, startServer } from '../../src/api/server.js';
import { TagverseApiError, TagverseClient } from '../../src/client/index.js';
import { type ProjectConfig, requireProject } from '../../src/config/project.js';
import { API_ROLES, type ApiRole } from '../../src/config/schema.js';
import type { TagStore } from '../../src/online/store.js';
import { openStore } from '../../src/online/store-holder.js';
import { evaluateRecommender } from '../../src/recs/evaluate.js';
import { loadRecommender, trainRecommender } from '../../src/recs/train.js';
import { ProjectError } from '../../src/util/problems.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import { writeFiles } from '../helpers.js';
import { actionWorld } from './world.js';

// biome-ignore lint/suspicious/noExplicitAny: response bodies are read field by field and asserted
type Json = any;
const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');

let dir: string;
let config: ProjectConfig;
let store: TagStore;
let server: RunningServer | undefined;
const keys = {} as Record<ApiRole, string>;
let keyEnv: string;
/** A Korean BBQ restaurant of the world, and a customer who loves Korean BBQ. */
let kbbq: { id: string; lat: number; lon: number };
let lover: string;

const OFFERS = `
- id: kbbq-lunch
  title: 20% off Korean BBQ at lunch
  eligibility: prefers(cuisine_affinity, 'korean_bbq') and not dormant_60d
  target:
    categories: [restaurant]
    match: { cuisine: [korean_bbq] }
  value: { kind: percent, amount: 20 }
  channels: [app]
  frequency_cap: { max: 1, per: 7d }
  signals:
    affinity: { tag: cuisine_affinity, value: korean_bbq }
    model: spend_score
  context:
    hours: [11, 14]
    max_distance_km: 5
- id: welcome-points
  title: 500 welcome points
  value: { kind: points, amount: 500 }
  capacity: 3
  priority: 0.01
- id: rainy-delivery
  title: Free delivery when it rains
  value: { kind: amount, amount: 3000 }
  context:
    weather: [rain]
`;

async function call(method: string, url: string, key?: string, body?: unknown, raw?: string) {
  const headers: Record<string, string> = {};
  if (key) headers.authorization = `Bearer ${key}`;
  const payload = raw ?? (body !== undefined ? JSON.stringify(body) : undefined);
  if (payload !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(server!.url + url, {
    method,
    headers,
    ...(payload !== undefined ? { body: payload } : {}),
  });
  const text = await res.text();
  let parsed: Json = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: res.status, body: parsed as Json };
}

async function start(): Promise<void> {
  const c = {
    ...config,
    api: { ...config.api, limits: { ...config.api.limits, requestsPerSecond: 10_000, burst: 10_000 } },
  };
  server = await startServer(c, {
    port: 0,
    env: { TAGVERSE_API_KEYS: keyEnv },
    watch: false,
    consoleDir: null,
  });
}

beforeAll(async () => {
  dir = await actionWorld();
  config = requireProject(dir);
  writeFiles(dir, { 'offers/test.yaml': OFFERS });
  store = (await openStore(config)).store;
  const wh = await Warehouse.open(config.engine.path, { readOnly: true });
  try {
    const rows = await wh.jsonRows<{ id: string; lat: number; lon: number }>(
      `SELECT merchant_id AS id, lat, lon FROM main.merchants WHERE cuisine = 'korean_bbq' ORDER BY 1 LIMIT 1`,
    );
    kbbq = rows[0]!;
  } finally {
    wh.close();
  }
  const aff = store.tags.get('cuisine_affinity')!;
  if (aff.kind !== 'list') throw new Error('cuisine_affinity is not a list');
  const code = aff.codeOf.get('korean_bbq')!;
  const dormant = store.tags.get('dormant_60d')!;
  lover = store.ids.find(
    (_, o) => aff.sets[code]!.has(o) && dormant.kind === 'boolean' && dormant.values[o] === 0,
  )!;
  keyEnv = API_ROLES.map((role) => {
    const k = generateKey(role, `${role} key`);
    keys[role] = k.key;
    return `${k.record.id}:${role}:${k.record.hash}`;
  }).join(',');
}, 240_000);
afterAll(async () => {
  await server?.close();
});

describe('recommender definitions and training', () => {
  it('points at the offending character of an unknown item column, with a did-you-mean', async () => {
    writeFiles(dir, {
      'recs/broken.yaml': 'name: broken\ndescription: x\nfrom: transactions\nitem: merchant_idd\n',
    });
    try {
      await expect(trainRecommender(dir, 'broken')).rejects.toThrow(ProjectError);
      const e = await trainRecommender(dir, 'broken').catch((x: ProjectError) => x);
      expect((e as ProjectError).message).toMatch(
        /^recs\/broken\.yaml:4:7: .*merchant_idd.*did you mean 'merchant_id'/m,
      );
    } finally {
      writeFiles(dir, {
        'recs/broken.yaml':
          'name: broken\ndescription: x\nfrom: transactions\nitem: merchant_id\nalgorithm: popularity\n',
      });
    }
  });

  it('trains a new version each time and keeps the previous one', async () => {
    const a = await trainRecommender(dir, 'merchants');
    const b = await trainRecommender(dir, 'merchants');
    expect(b.card.version).toBe(a.card.version + 1);
    expect(existsSync(path.join(path.dirname(b.file), 'history', `merchants.v${a.card.version}.tvrec`))).toBe(
      true,
    );
    expect(b.card.algorithm).toBe('ease');
    expect(b.card.modelledItems).toBeLessThanOrEqual(400);
    await trainRecommender(dir, 'broken');
  });

  it('recommends unbought merchants to an eligible customer, nothing to a dormant one', async () => {
    const r = loadRecommender(config, 'merchants');
    const res = r.recommend(lover, { k: 5, store });
    expect(res.eligible).toBe(true);
    expect(res.items).toHaveLength(5);
    const row = r.file.entities.indexOf(lover);
    const bought = new Set(
      [...r.file.history.indices.subarray(r.file.history.indptr[row]!, r.file.history.indptr[row + 1]!)].map(
        (i) => r.file.items[i],
      ),
    );
    for (const it of res.items)
      if (!it.reasons[0]!.startsWith('repeat')) expect(bought.has(it.item)).toBe(false);
    const dormant = store.tags.get('dormant_60d')!;
    const sleeper = store.ids.find((_, o) => dormant.kind === 'boolean' && dormant.values[o] === 1);
    if (sleeper) expect(r.recommend(sleeper, { store }).eligible).toBe(false);
  });

  it('evaluates the entities an independent SQL count says it should', async () => {
    const e = await evaluateRecommender(dir, 'merchants', {
      k: 10,
      holdout: { kind: 'after', date: '2025-07-01' },
    });
    const wh = await Warehouse.open(config.engine.path, { readOnly: true });
    try {
      const n = await wh.scalar<bigint | number>(`
        WITH ev AS (SELECT customer_id AS e, merchant_id AS i, ts FROM main.transactions WHERE channel = 'offline'),
        tr AS (SELECT DISTINCT e, i FROM ev WHERE ts < TIMESTAMPTZ '2025-07-01 00:00:00+00'),
        te AS (SELECT DISTINCT e, i FROM ev WHERE ts >= TIMESTAMPTZ '2025-07-01 00:00:00+00')
        SELECT count(DISTINCT te.e) FROM te WHERE te.e IN (SELECT e FROM tr)
          AND NOT EXISTS (SELECT 1 FROM tr WHERE tr.e = te.e AND tr.i = te.i)`);
      expect(e.entities).toBe(Number(n));
    } finally {
      wh.close();
    }
    expect(e.results.map((r) => r.algorithm)).toEqual(['popularity', 'item_knn', 'ease']);
    const ease = e.results.find((r) => r.algorithm === 'ease')!;
    const pop = e.results.find((r) => r.algorithm === 'popularity')!;
    // Customers pay at merchants near home: neighbours beat the global top 10.
    expect(ease.ndcg).toBeGreaterThan(pop.ndcg * 1.5);
    for (const r of e.results)
      for (const v of [r.recall, r.ndcg, r.map, r.coverage]) expect(v).toBeGreaterThanOrEqual(0);
  });

  it('`tagverse evaluate recs` and `tagverse recommend` print JSON from the same functions', async () => {
    const cli = (...args: string[]) =>
      run(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli/main.ts'), ...args], { cwd: root });
    const rec = JSON.parse(
      (await cli('recommend', lover, '--recommender', 'merchants', '--k', '3', '--json', '--project', dir))
        .stdout,
    );
    expect(rec.items).toHaveLength(3);
    const ev = JSON.parse(
      (
        await cli(
          'evaluate',
          'recs',
          'merchants',
          '--last',
          '3',
          '--algorithms',
          'popularity',
          '--json',
          '--project',
          dir,
        )
      ).stdout,
    );
    expect(ev.protocol.holdout).toEqual({ kind: 'last', n: 3 });
    expect(ev.results).toHaveLength(1);
    const bad = await cli('recommend', lover, '--k', '0', '--project', dir).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect((bad as { code: number }).code).not.toBe(0);
  });
});

describe('HTTP: recommendations and decisions', () => {
  beforeAll(start, 60_000);

  it('lets viewers read recommendations but only editors and admins decide', async () => {
    expect(
      (await call('GET', `/v1/recommendations/${lover}?recommender=merchants&k=4`, keys.viewer)).body.items,
    ).toHaveLength(4);
    expect(
      (await call('GET', `/v1/recommendations/${lover}?recommender=merchants`, keys.ingest)).status,
    ).toBe(403);
    expect((await call('GET', `/v1/recommendations/${lover}`)).status).toBe(401);
    const body = { entityId: lover, dryRun: true };
    expect((await call('POST', '/v1/decide', keys.viewer, body)).body.code).toBe('auth.forbidden');
    expect((await call('POST', '/v1/decide', keys.ingest, body)).status).toBe(403);
    expect((await call('POST', '/v1/decide', keys.editor, body)).status).toBe(200);
    expect((await call('POST', '/v1/decide', keys.admin, body)).status).toBe(200);
    // The typed client: one method per route.
    const viewer = new TagverseClient({ baseUrl: server!.url, apiKey: keys.viewer });
    const recs = await viewer.recommendations(lover, { k: 2, recommender: 'merchants' });
    expect(recs.items.map((i) => i.rank)).toEqual([1, 2]);
    const denied = await viewer.decide({ entityId: lover, dryRun: true }).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(TagverseApiError);
    expect((denied as TagverseApiError).code).toBe('auth.forbidden');
    const editor = new TagverseClient({ baseUrl: server!.url, apiKey: keys.editor });
    expect((await editor.decide({ entityId: lover, dryRun: true })).granted).toBe(false);
  });

  it('refuses hostile and malformed requests with problems', async () => {
    const ed = keys.editor;
    expect((await call('GET', `/v1/recommendations/${lover}?k=100000`, ed)).body.code).toBe(
      'request.invalid',
    );
    expect((await call('GET', `/v1/recommendations/${lover}?recommender=nope`, ed)).status).toBe(404);
    expect(
      (await call('GET', '/v1/recommendations/NOBODY?recommender=broken', ed)).body.items.length,
    ).toBeGreaterThan(0);
    const bad = [
      { entityId: lover, context: { location: { lat: 999, lon: 0 } } },
      { entityId: lover, extra: 1 },
      { entityId: '' },
      { entityId: lover, limit: 51 },
      { entityId: lover, context: { time: 'yesterday' } },
      { entityId: lover, context: { timezone: 'Mars/Olympus' } },
    ];
    for (const b of bad) {
      const r = await call('POST', '/v1/decide', ed, b);
      expect(r.status, JSON.stringify(b)).toBe(400);
      expect(r.body.code).toBe('request.invalid');
    }
    expect((await call('POST', '/v1/decide', ed, undefined, '{"entityId":')).status).toBe(400);
    expect((await call('POST', '/v1/decide', ed, { entityId: 'NOBODY' })).body.code).toBe(
      'profile.unknown_entity',
    );
    const huge = JSON.stringify({ entityId: lover, context: { note: 'x'.repeat(2 * 1024 * 1024) } });
    expect((await call('POST', '/v1/decide', ed, undefined, huge)).status).toBe(413);
  });

  it('ranks the Korean BBQ lunch offer first for a lover at the restaurant at lunchtime, with reasons', async () => {
    const ctx = {
      time: '2025-08-20T12:30:00+09:00',
      channel: 'app',
      location: { lat: kbbq.lat, lon: kbbq.lon },
    };
    const d = (await call('POST', '/v1/decide', keys.editor, { entityId: lover, context: ctx, dryRun: true }))
      .body;
    const o = d.offers[0];
    expect(o.id).toBe('kbbq-lunch');
    expect(o.place.km).toBeLessThan(0.001);
    expect(o.reasons).toContain('lunchtime');
    expect(o.reasons).toContain('0 m away');
    // The top share in the reason, recomputed from the store: entities scoring at least as high.
    const aff = store.tags.get('cuisine_affinity')!;
    if (aff.kind !== 'list') throw new Error('list');
    const code = aff.codeOf.get('korean_bbq')!;
    const scoreOf = (ord: number) => {
      for (let k = aff.starts[ord]!; k < aff.ends[ord]!; k++)
        if (aff.items[k] === code) return aff.scores[k]!;
      return Number.NaN;
    };
    const mine = scoreOf(store.ordinal(lover)!);
    let atLeast = 0;
    for (let ord = 0; ord < store.size; ord++) if (scoreOf(ord) >= mine) atLeast++;
    const share = (atLeast / store.size) * 100;
    const expected =
      share < 1 ? `top ${Math.max(0.1, Math.round(share * 10) / 10)}%` : `top ${Math.ceil(share)}%`;
    expect(o.reasons[0]).toBe(`prefers korean bbq (${expected})`);
    expect(o.reasons.some((r: string) => r.startsWith('spend_score '))).toBe(true);
    // Outside lunch hours, on another channel, or 50 km away, the offer is not eligible.
    for (const c of [
      { ...ctx, time: '2025-08-20T16:00:00+09:00' },
      { ...ctx, channel: 'email' },
      { ...ctx, location: { lat: kbbq.lat + 0.5, lon: kbbq.lon } },
    ]) {
      const x = (await call('POST', '/v1/decide', keys.editor, { entityId: lover, context: c, dryRun: true }))
        .body;
      expect(x.offers.map((y: { id: string }) => y.id)).not.toContain('kbbq-lunch');
    }
    const rain = (
      await call('POST', '/v1/decide', keys.editor, {
        entityId: lover,
        context: { weather: 'rain' },
        dryRun: true,
        limit: 10,
      })
    ).body;
    expect(rain.offers.find((y: { id: string }) => y.id === 'rainy-delivery').reasons).toEqual([
      'rain weather',
    ]);
  });

  it('enforces capacity atomically under concurrent decisions and the frequency cap across a restart', async () => {
    const others = store.ids.filter((id) => id !== lover).slice(0, 10);
    const results = await Promise.all(
      others.map((id) => call('POST', '/v1/decide', keys.editor, { entityId: id, limit: 5 })),
    );
    const got = results.filter((r) => r.body.offers.some((o: { id: string }) => o.id === 'welcome-points'));
    expect(got).toHaveLength(3);
    const ctx = {
      time: '2025-08-20T12:30:00+09:00',
      channel: 'app',
      location: { lat: kbbq.lat, lon: kbbq.lon },
    };
    const first = (await call('POST', '/v1/decide', keys.editor, { entityId: lover, context: ctx })).body;
    expect(first.offers[0].id).toBe('kbbq-lunch');
    const second = (await call('POST', '/v1/decide', keys.editor, { entityId: lover, context: ctx })).body;
    expect(second.offers.map((o: { id: string }) => o.id)).not.toContain('kbbq-lunch');
    await server!.close();
    server = undefined;
    await start();
    const third = (await call('POST', '/v1/decide', keys.editor, { entityId: lover, context: ctx })).body;
    expect(third.offers.map((o: { id: string }) => o.id)).not.toContain('kbbq-lunch');
    const more = await call('POST', '/v1/decide', keys.editor, { entityId: others[0], limit: 5 });
    expect(more.body.offers.map((o: { id: string }) => o.id)).not.toContain('welcome-points');
    const ledger = readFileSync(
      path.join(path.dirname(config.engine.path), 'offers', 'ledger.jsonl'),
      'utf8',
    );
    expect(ledger.split('\n').filter((l) => l.includes('"welcome-points"'))).toHaveLength(3);
  });
});
