/**
 * The server side of the console against a real server on 127.0.0.1: the read-only routes it reads
 * (every role on each, exact values against the warehouse and the store), their types against the
 * console's own, and the built bundle served at `/` with deep links, caching, compression and the
 * API's paths left alone.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { brotliDecompressSync } from 'node:zlib';
import type { z } from '@hono/zod-openapi';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { rocAtDeciles } from '../../src/api/console-models.js';
import type * as S from '../../src/api/console-schemas.js';
import { generateKey } from '../../src/api/keys.js';
import { ROLE_PERMISSIONS } from '../../src/api/roles.js';
import { type RunningServer, startServer } from '../../src/api/server.js';
import { API_ROLES, type ApiRole } from '../../src/config/schema.js';
import { build } from '../../src/engine/build.js';
import type { DecisionSchema, RecommendationSchema } from '../../src/offers/routes.js';
import type * as W from '../../web/src/api/types.js';
import { query, tempDir } from '../helpers.js';
import { builtFixture, CUSTOMERS } from '../online/fixture.js';

// biome-ignore lint/suspicious/noExplicitAny: response bodies are read field by field and asserted
type Json = any;

let dir: string;
let server: RunningServer;
let bundled: RunningServer;
let bare: RunningServer;
const keys = {} as Record<ApiRole, string>;
const INDEX =
  '<!doctype html><html><head><title>console</title></head><body><div id="root"></div></body></html>';
const WILL_SPEND = `name: will_spend
title: Will spend
description: Pays anything in the next 30 days.
category: behavior
label:
  from: transactions
  value: count() > 0
  horizon: 30d
features: [spend_90d, txn_count]
cutoffs: [2025-05-31]
`;
const SCRIPT = `console.log(${JSON.stringify('x'.repeat(5000))});`;

beforeAll(async () => {
  dir = await builtFixture();
  // A model defined but not trained: the models routes list it as such (console.test.ts trains one).
  mkdirSync(path.join(dir, 'models'), { recursive: true });
  writeFileSync(path.join(dir, 'models', 'will_spend.yaml'), WILL_SPEND);
  // A second build at a later as-of time: tag history gains a second point (same definitions, so
  // every tag stays at version 1).
  await build(dir, { asOf: '2025-07-01' });
  const records = API_ROLES.map((role) => {
    const k = generateKey(role, `${role} console test`);
    keys[role] = k.key;
    return `${k.record.id}:${role}:${k.record.hash}`;
  });
  const env = { TAGVERSE_API_KEYS: records.join(',') };
  const bundleDir = tempDir();
  mkdirSync(path.join(bundleDir, 'assets'));
  writeFileSync(path.join(bundleDir, 'index.html'), INDEX);
  writeFileSync(path.join(bundleDir, 'assets', 'index-abc123.js'), SCRIPT);
  writeFileSync(path.join(bundleDir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  server = await startServer(dir, { port: 0, env, watch: false, consoleDir: null });
  bundled = await startServer(dir, { port: 0, env, watch: false, consoleDir: bundleDir });
  bare = await startServer(dir, { port: 0, env, watch: false, consoleDir: path.join(bundleDir, 'missing') });
});
afterAll(async () => {
  await Promise.all([server?.close(), bundled?.close(), bare?.close()]);
});

async function call(
  url: string,
  opts: { key?: string; base?: RunningServer; headers?: Record<string, string>; method?: string } = {},
): Promise<{ status: number; body: Json; headers: Headers; text: string; bytes: Buffer }> {
  const res = await fetch((opts.base ?? server).url + url, {
    method: opts.method ?? 'GET',
    headers: { ...(opts.key ? { authorization: `Bearer ${opts.key}` } : {}), ...(opts.headers ?? {}) },
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  const text = bytes.toString('utf8');
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res.status, body, headers: res.headers, text, bytes };
}

const ROUTES = [
  { url: '/v1/me', permission: undefined },
  { url: '/v1/sources', permission: 'tags:read' },
  { url: '/v1/builds?limit=5', permission: 'tags:read' },
  { url: '/v1/tags/big_spender/history', permission: 'tags:read' },
  { url: '/v1/tags/big_spender/lineage', permission: 'tags:read' },
  { url: '/v1/attributes', permission: 'tags:read' },
  { url: '/v1/profiles/C0001/events?limit=5', permission: 'profiles:read' },
  { url: '/v1/models', permission: 'tags:read' },
  { url: '/v1/actions', permission: 'tags:read' },
  { url: '/v1/models/will_spend', permission: 'tags:read' },
] as const;

describe('console routes: keys and roles', () => {
  for (const role of API_ROLES) {
    it(`${role}: each console route answers 2xx when the role has its permission, else 403`, async () => {
      for (const r of ROUTES) {
        const res = await call(r.url, { key: keys[role] });
        const allowed =
          r.permission === undefined || (ROLE_PERMISSIONS[role] as readonly string[]).includes(r.permission);
        if (allowed) expect(res.status, `${role} ${r.url}: ${res.text.slice(0, 200)}`).toBe(200);
        else {
          expect(res.status, `${role} ${r.url}`).toBe(403);
          expect(res.body.code).toBe('auth.forbidden');
          expect(res.headers.get('content-type')).toContain('application/problem+json');
        }
      }
    });
  }

  it('no key is 401 on every console route', async () => {
    for (const r of ROUTES) {
      const res = await call(r.url);
      expect(res.status, r.url).toBe(401);
      expect(res.body.code).toBe('auth.missing_key');
    }
  });

  it('/v1/me tells the key its role and permissions, for every role', async () => {
    for (const role of API_ROLES) {
      const me = (await call('/v1/me', { key: keys[role] })).body;
      expect(me.role).toBe(role);
      expect(me.name).toBeUndefined(); // keys from TAGVERSE_API_KEYS carry no name
      expect(me.permissions).toEqual([...ROLE_PERMISSIONS[role]]);
      expect(keys[role]).toContain(me.keyId);
    }
  });

  it('the console routes are in /openapi.json with their schemas', async () => {
    const doc = (await call('/openapi.json')).body;
    for (const p of [
      '/v1/me',
      '/v1/sources',
      '/v1/builds',
      '/v1/tags/{name}/history',
      '/v1/tags/{name}/lineage',
      '/v1/profiles/{id}/events',
      '/v1/attributes',
      '/v1/models',
      '/v1/models/{name}',
    ])
      expect(doc.paths[p]?.get, p).toBeDefined();
    expect(doc.components.schemas.ModelCard).toBeDefined();
    expect(doc.components.schemas.TagLineage).toBeDefined();
    expect(doc.paths['/v1/sources'].get.security).toEqual([{ bearer: [] }]);
  });
});

describe('console routes: values', () => {
  it('sources: rows, rejects and the event time range are the warehouse’s', async () => {
    const s = (await call('/v1/sources', { key: keys.viewer })).body;
    const [raw] = await query<{ n: number; first: string; last: string }>(
      path.join(dir, '.tagverse', 'warehouse.duckdb'),
      'SELECT count(*)::INTEGER AS n, min(ts) AS first, max(ts) AS last FROM raw.transactions',
    );
    const tx = s.sources.find((x: Json) => x.name === 'transactions');
    expect(tx).toMatchObject({ kind: 'events', rows: raw!.n, rejected: 0, files: 1, rejectsByKind: [] });
    expect(tx.firstEventAt).toBe(raw!.first);
    expect(tx.lastEventAt).toBe(raw!.last);
    const customers = s.sources.find((x: Json) => x.name === 'customers');
    expect(customers).toMatchObject({ kind: 'profile', rows: CUSTOMERS });
    expect(customers.lastEventAt).toBeUndefined();
    expect(s.loads).toHaveLength(1);
    expect(s.loads[0].rowsLoaded).toBe(raw!.n + CUSTOMERS);
  });

  it('builds: newest first, with their as-of times and sizes', async () => {
    const b = (await call('/v1/builds', { key: keys.viewer })).body.builds;
    expect(b.map((x: Json) => x.buildId)).toEqual([2, 1]);
    expect(b[0].asOf).toBe('2025-07-01T23:59:59.999Z');
    expect(b[1].asOf).toBe('2025-06-30T23:59:59.999Z');
    expect(b[0]).toMatchObject({ tags: 11, entities: CUSTOMERS });
    expect((await call('/v1/builds?limit=1', { key: keys.viewer })).body.builds).toHaveLength(1);
    expect((await call('/v1/builds?limit=0', { key: keys.viewer })).body.code).toBe('request.invalid');
  });

  it('tag history: one version, and coverage at each build equal to the values of that build', async () => {
    const h = (await call('/v1/tags/big_spender/history', { key: keys.viewer })).body;
    expect(h.versions).toHaveLength(1);
    expect(h.versions[0]).toMatchObject({ version: 1, buildId: 1 });
    expect(h.versions[0].definition.value).toBe('sum(amount, last 90d) > 500');
    expect(h.coverage.map((c: Json) => c.at)).toEqual([
      '2025-06-30T23:59:59.999Z',
      '2025-07-01T23:59:59.999Z',
    ]);
    // The latest point is what the store serves now.
    const d = (await call('/v1/tags/big_spender', { key: keys.viewer })).body.distribution;
    const last = h.coverage[1];
    expect(last).toEqual({ at: last.at, entities: CUSTOMERS, nonNull: d.true + d.false, true: d.true });
    // Numbers have no `true` count.
    expect(
      (await call('/v1/tags/spend_90d/history', { key: keys.viewer })).body.coverage[0].true,
    ).toBeUndefined();
    expect((await call('/v1/tags/nope/history', { key: keys.viewer })).body.code).toBe('tags.not_found');
  });

  it('lineage: what a derived tag reads and what reads a tag, with depths and edges', async () => {
    const up = (await call('/v1/tags/vip_big/lineage', { key: keys.viewer })).body;
    expect(up.nodes.map((n: Json) => [n.name, n.depth])).toEqual([
      ['vip_big', 0],
      ['big_spender', -1],
    ]);
    expect(up.edges).toEqual([{ from: 'big_spender', to: 'vip_big' }]);
    const down = (await call('/v1/tags/big_spender/lineage', { key: keys.viewer })).body;
    expect(down.nodes.map((n: Json) => [n.name, n.depth])).toEqual([
      ['big_spender', 0],
      ['vip_big', 1],
    ]);
    expect(down.nodes[1]).toMatchObject({ category: 'condition', kind: 'derived', type: 'boolean' });
    expect((await call('/v1/tags/nope/lineage', { key: keys.viewer })).status).toBe(404);
  });

  it("events: an entity's events newest first, every column, with the total", async () => {
    const file = path.join(dir, '.tagverse', 'warehouse.duckdb');
    const [c] = await query<{ id: string; n: number }>(
      file,
      'SELECT customer_id AS id, count(*)::INTEGER AS n FROM raw.transactions GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1',
    );
    const e = (await call(`/v1/profiles/${c!.id}/events?limit=3`, { key: keys.viewer })).body;
    expect(e).toMatchObject({
      entityId: c!.id,
      source: 'transactions',
      sources: ['transactions'],
      timeColumn: 'ts',
    });
    expect(e.total).toBe(c!.n);
    expect(e.events).toHaveLength(3);
    expect(e.columns.map((x: Json) => x.name)).toEqual([
      'txn_id',
      'customer_id',
      'ts',
      'amount',
      'category',
      'channel',
    ]);
    const times = e.events.map((x: Json) => x.ts);
    expect([...times].sort().reverse()).toEqual(times);
    const newest = await query<{ txn_id: string }>(
      file,
      `SELECT txn_id FROM raw.transactions WHERE customer_id = '${c!.id}' ORDER BY ts DESC LIMIT 3`,
    );
    expect(e.events.map((x: Json) => x.txn_id)).toEqual(newest.map((r) => r.txn_id));
    const none = (await call('/v1/profiles/C9999/events', { key: keys.viewer })).body;
    expect(none).toMatchObject({ total: 0, events: [] });
    const bad = await call('/v1/profiles/C0001/events?source=nope', { key: keys.viewer });
    expect(bad.status).toBe(404);
    expect(bad.body).toMatchObject({ code: 'events.unknown_source', field: 'query.source' });
    expect((await call('/v1/profiles/C0001/events?limit=5001', { key: keys.viewer })).status).toBe(400);
  });

  it('attributes: the profile columns segments can name, with their values', async () => {
    const a = (await call('/v1/attributes', { key: keys.viewer })).body.attributes;
    const byName = Object.fromEntries(a.map((x: Json) => [x.name, x]));
    expect(Object.keys(byName).sort()).toEqual(['age', 'region', 'signup', 'vip']);
    expect(byName.region.type).toBe('string');
    expect(byName.region.values.map((v: Json) => v.value).sort()).toEqual([
      'Busan',
      'Daegu',
      'Incheon',
      'Seoul',
    ]);
    const preview = (
      await fetch(`${server.url}/v1/segments/preview`, {
        method: 'POST',
        headers: { authorization: `Bearer ${keys.viewer}`, 'content-type': 'application/json' },
        body: JSON.stringify({ expression: "region = 'Seoul'" }),
      })
    ).json() as Promise<Json>;
    expect(byName.region.values.find((v: Json) => v.value === 'Seoul').count).toBe((await preview).count);
    expect(byName.age).toMatchObject({ type: 'number' });
    expect(typeof byName.age.min).toBe('number');
    expect(byName.signup.type).toBe('date');
  });

  it("the console's types are the server's schemas", () => {
    expectTypeOf<W.Me>().toEqualTypeOf<z.infer<typeof S.MeSchema>>();
    expectTypeOf<W.Sources>().toEqualTypeOf<z.infer<typeof S.SourcesSchema>>();
    expectTypeOf<W.Builds>().toEqualTypeOf<z.infer<typeof S.BuildsSchema>>();
    expectTypeOf<W.TagHistory>().toEqualTypeOf<z.infer<typeof S.TagHistorySchema>>();
    expectTypeOf<W.Lineage>().toEqualTypeOf<z.infer<typeof S.LineageSchema>>();
    expectTypeOf<W.EntityEvents>().toEqualTypeOf<z.infer<typeof S.EventsSchema>>();
    expectTypeOf<W.Attributes>().toEqualTypeOf<z.infer<typeof S.AttributesSchema>>();
    expectTypeOf<W.Actions>().toEqualTypeOf<z.infer<typeof S.ActionsSchema>>();
    expectTypeOf<W.Recommendations>().toEqualTypeOf<z.infer<typeof RecommendationSchema>>();
    expectTypeOf<W.Decision>().toEqualTypeOf<z.infer<typeof DecisionSchema>>();
    expectTypeOf<W.Models>().toEqualTypeOf<z.infer<typeof S.ModelsSchema>>();
    expectTypeOf<W.ModelDetail>().toEqualTypeOf<z.infer<typeof S.ModelDetailSchema>>();
  });
});

describe('the console bundle at /', () => {
  it('/ is index.html with a content security policy, revalidated every time', async () => {
    const r = await call('/', { base: bundled });
    expect(r.status).toBe(200);
    expect(r.text).toBe(INDEX);
    expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(r.headers.get('cache-control')).toBe('no-cache');
    expect(r.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(r.headers.get('content-security-policy')).toContain("connect-src 'self'");
  });

  it('hashed assets are cached for a year and compressed as the browser accepts', async () => {
    const plain = await call('/assets/index-abc123.js', { base: bundled });
    expect(plain.text).toBe(SCRIPT);
    expect(plain.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(plain.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const res = await fetch(`${bundled.url}/assets/index-abc123.js`, {
      headers: { 'accept-encoding': 'br' },
    });
    expect(res.headers.get('content-encoding')).toBe('br');
    expect(res.headers.get('vary')).toBe('accept-encoding');
    // fetch decodes br itself; the bytes on the wire are smaller than the script.
    expect(await res.text()).toBe(SCRIPT);
    const raw = await rawGet(`${bundled.url}/assets/index-abc123.js`, { 'accept-encoding': 'br' });
    expect(raw.length).toBeLessThan(SCRIPT.length / 10);
    expect(brotliDecompressSync(raw).toString()).toBe(SCRIPT);
    expect((await call('/favicon.svg', { base: bundled })).headers.get('content-type')).toBe('image/svg+xml');
  });

  it('deep links get index.html; API paths, files and non-HTML requests keep their problem+json 404', async () => {
    const html = { accept: 'text/html,application/xhtml+xml' };
    for (const p of ['/tags/big_spender', '/customers/C0001', '/segments', '/anything/else']) {
      const r = await call(p, { base: bundled, headers: html });
      expect(r.status, p).toBe(200);
      expect(r.text).toBe(INDEX);
    }
    for (const p of ['/v1/nope', '/docs/nothing.js', '/assets/missing.js', '/tags/big_spender']) {
      const r = await call(p, {
        base: bundled,
        headers: p.startsWith('/tags') ? {} : html,
        ...(p.startsWith('/v1') ? { key: keys.viewer } : {}),
      });
      expect(r.status, p).toBe(404);
      expect(r.body.code, p).toBe('route.not_found');
    }
    expect((await call('/tags/x', { base: bundled, headers: html, method: 'POST' })).status).toBe(404);
  });

  it('the API is unchanged under the console', async () => {
    expect((await call('/healthz', { base: bundled })).body.ok).toBe(true);
    expect((await call('/docs', { base: bundled })).text).toContain('swagger-ui-bundle.js');
    expect((await call('/openapi.json', { base: bundled })).body.openapi).toBe('3.1.0');
    expect((await call('/v1/store', { base: bundled })).status).toBe(401);
    expect((await call('/v1/store', { base: bundled, key: keys.viewer })).body.entities).toBe(CUSTOMERS);
  });

  it('without a built bundle, / is a 404 problem and the API works', async () => {
    const r = await call('/', { base: bare, headers: { accept: 'text/html' } });
    expect(r.status).toBe(404);
    expect(r.body.code).toBe('route.not_found');
    expect((await call('/v1/me', { base: bare, key: keys.viewer })).body.role).toBe('viewer');
  });
});

/** The body bytes as sent (no decoding), over node:http. */
async function rawGet(url: string, headers: Record<string, string>): Promise<Buffer> {
  const http = await import('node:http');
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks)));
      })
      .on('error', reject);
  });
}

describe('console routes: models', () => {
  it('lists every model the project defines, untrained ones with their state and no metrics', async () => {
    const r = await call('/v1/models', { key: keys.viewer });
    expect(r.body).toEqual({
      problems: [],
      models: [
        {
          name: 'will_spend',
          title: 'Will spend',
          description: 'Pays anything in the next 30 days.',
          algorithm: 'gbdt',
          file: 'models/will_spend.yaml',
          state: 'untrained',
          tags: ['will_spend_score', 'will_spend_decile'],
        },
      ],
    });
    const one = await call('/v1/models/will_spend', { key: keys.viewer });
    expect(one.body).toEqual({ model: r.body.models[0], card: null, roc: [] });
  });

  it('an unknown model is a 404 problem', async () => {
    const r = await call('/v1/models/nope', { key: keys.viewer });
    expect(r.status).toBe(404);
    expect(r.body.code).toBe('models.not_found');
  });

  it('the ROC curve at decile cut-offs: cumulative true and false positive rates from the gains table', () => {
    // 3 groups of 10 rows with 8, 2 and 0 positives: 10 positives, 20 negatives.
    const gains = [
      { count: 10, rate: 0.8 },
      { count: 10, rate: 0.2 },
      { count: 10, rate: 0 },
    ];
    expect(rocAtDeciles(gains)).toEqual([
      { fpr: 0, tpr: 0 },
      { fpr: 2 / 20, tpr: 8 / 10 },
      { fpr: 10 / 20, tpr: 10 / 10 },
      { fpr: 20 / 20, tpr: 10 / 10 },
    ]);
    // One class only: no curve.
    expect(rocAtDeciles([{ count: 10, rate: 0 }])).toEqual([]);
    expect(rocAtDeciles([{ count: 10, rate: 1 }])).toEqual([]);
  });
});
