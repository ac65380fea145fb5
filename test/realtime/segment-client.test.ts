/**
 * The Segment tracking API with the real `@segment/analytics-node` client pointed at a real server
 * (127.0.0.1, random port): its batches are accepted, logged, turned into transactions rows and
 * profile updates, re-tag the customer, land in the warehouse with provenance; and the API's rules
 * (write key as Basic user or in the body, dedupe by messageId, clock skew, size limits, 4xx shapes,
 * aliases, rejects) hold.
 */
import http from 'node:http';
import { Analytics } from '@segment/analytics-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { KeyRing, keysFromEnv } from '../../src/api/keys.js';
import type { RunningServer } from '../../src/api/server.js';
import { requireProject } from '../../src/config/project.js';
import { StoreHolder } from '../../src/online/store-holder.js';
import { query } from '../helpers.js';
import {
  cardWorld,
  eventually,
  REALTIME_SECTION,
  type RealtimeFixture,
  startRealtimeServer,
} from './fixture.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies are read field by field and asserted
type Json = any;

let fx: RealtimeFixture;
let server: RunningServer;
/** The world's as-of time (ms): events are stamped near it so the live clock stays in the world. */
let worldMs: number;
const near = (offsetMs = 0) => new Date(worldMs + offsetMs).toISOString();

beforeAll(async () => {
  fx = await cardWorld({
    customers: 80,
    months: 3,
    tags: ['spending.yaml', 'conditions.yaml'],
    // Page views named 'Card Payment Page' are payments too (a mapping for page calls).
    realtime: {
      ...REALTIME_SECTION,
      segment: {
        ...REALTIME_SECTION.segment,
        page: [{ events: ['Card Payment Page'], source: 'transactions' }],
      },
    },
  });
  server = await startRealtimeServer(fx.dir, fx.keysEnv);
  worldMs = Math.floor(server.holder.current.info.asOfMicros / 1000);
}, 180_000);
afterAll(async () => {
  await server?.close();
});

async function call(
  method: string,
  url: string,
  opts: { key?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Json; headers: Headers }> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  const payload = opts.raw ?? (opts.body !== undefined ? JSON.stringify(opts.body) : undefined);
  if (payload !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(server.url + url, {
    method,
    headers,
    ...(payload !== undefined ? { body: payload } : {}),
  });
  const text = await res.text();
  let body: Json = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body, headers: res.headers };
}

const profile = async (id: string, tags: string) =>
  (await call('GET', `/v1/profiles/${id}?tags=${tags}`, { key: fx.keys.viewer })).body;
const tagValue = (p: Json, name: string) =>
  Object.values(p.categories as Record<string, { name: string; value: unknown }[]>)
    .flat()
    .find((t) => t.name === name)?.value;

const payment = (amount: number, extra: Record<string, unknown> = {}) => ({
  merchant_id: 'M000758',
  mcc: '5499',
  amount,
  currency: 'KRW',
  original_amount: amount,
  channel: 'offline',
  city: 'Seoul',
  country: 'KR',
  ...extra,
});

describe('the Segment API with @segment/analytics-node', () => {
  it('batches from the real client re-tag the customer and reach the warehouse exactly once', async () => {
    const before = await profile('C0000001', 'txn_count_90d,spend_90d');
    const count0 = tagValue(before, 'txn_count_90d') as number;
    const spend0 = tagValue(before, 'spend_90d') as number;
    const asOf = new Date(worldMs);
    const responses: number[] = [];
    const client = new Analytics({
      writeKey: fx.keys.ingest,
      host: server.url,
      flushAt: 4,
      flushInterval: 20,
    });
    client.on('http_response', (r) => responses.push(r.status));
    for (let i = 0; i < 10; i++) {
      client.track({
        userId: 'C0000001',
        event: 'Card Payment',
        messageId: `seg-client-${i}`,
        timestamp: new Date(asOf.getTime() - 60_000 + i * 1000),
        properties: payment(1000 + i),
      });
    }
    // Not a card payment: accepted, mapped to nothing.
    client.track({ userId: 'C0000001', event: 'App Opened', properties: {} });
    await client.closeAndFlush({ timeout: 20_000 });
    expect(responses.length).toBeGreaterThanOrEqual(3);
    expect(responses.every((s) => s === 200)).toBe(true);
    const after = await eventually(async () => {
      const p = await profile('C0000001', 'txn_count_90d,spend_90d');
      return tagValue(p, 'txn_count_90d') === count0 + 10 ? p : undefined;
    });
    expect(tagValue(after, 'spend_90d')).toBe(spend0 + 10 * 1000 + 45);
    const status = (await call('POST', '/v1/realtime/flush', { key: fx.keys.admin })).body;
    expect(status.flushedSeq, JSON.stringify(status)).toBe(status.durableSeq);
    expect(status.ignored).toBeGreaterThanOrEqual(1);
    const config = requireProject(fx.dir);
    const rows = await query<{ n: number; files: number; min_row: number }>(
      config.engine.path,
      `SELECT count(*)::INTEGER AS n, count(DISTINCT _file_id)::INTEGER AS files, min(_row)::INTEGER AS min_row
       FROM raw.transactions WHERE txn_id LIKE 'seg-client-%'`,
    );
    expect(rows[0]!.n).toBe(10);
    const files = await query<{ format: string; path: string }>(
      config.engine.path,
      `SELECT format, path FROM tagverse.files WHERE file_id IN (SELECT DISTINCT _file_id FROM raw.transactions WHERE txn_id LIKE 'seg-client-%')`,
    );
    expect(files.every((f) => f.format === 'realtime' && f.path.startsWith('realtime:transactions:'))).toBe(
      true,
    );
  }, 60_000);

  it('takes the write key as HTTP Basic user or in the body; other roles and wrong keys are refused', async () => {
    const msg = (id: string) => ({
      userId: 'C0000002',
      event: 'Card Payment',
      messageId: id,
      timestamp: near(),
      properties: payment(5),
    });
    const basic = `Basic ${Buffer.from(`${fx.keys.ingest}:`).toString('base64')}`;
    expect(
      (await call('POST', '/v1/track', { body: msg('auth-1'), headers: { authorization: basic } })).status,
    ).toBe(200);
    expect(
      (await call('POST', '/v1/track', { body: { ...msg('auth-2'), writeKey: fx.keys.ingest } })).status,
    ).toBe(200);
    const none = await call('POST', '/v1/track', { body: msg('auth-3') });
    expect(none.status).toBe(401);
    expect(none.body.code).toBe('auth.missing_key');
    expect(none.headers.get('content-type')).toContain('application/problem+json');
    const wrong = await call('POST', '/v1/track', {
      body: { ...msg('auth-4'), writeKey: `${fx.keys.ingest.slice(0, -3)}AAA` },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe('auth.invalid_key');
    const viewer = await call('POST', '/v1/track', { key: fx.keys.viewer, body: msg('auth-5') });
    expect(viewer.status).toBe(403);
    expect(viewer.body.code).toBe('auth.forbidden');
    // And an ingest key reads nothing.
    expect((await call('GET', '/v1/profiles/C0000002', { key: fx.keys.ingest })).status).toBe(403);
    expect((await call('GET', '/v1/realtime/status', { key: fx.keys.ingest })).status).toBe(403);
  });

  it('drops a messageId seen before (within the window), in the same batch or a later request', async () => {
    const p0 = tagValue(await profile('C0000003', 'txn_count_90d'), 'txn_count_90d') as number;
    const m = {
      type: 'track',
      userId: 'C0000003',
      event: 'Card Payment',
      messageId: 'dup-1',
      timestamp: near(),
      properties: payment(7),
    };
    const first = await call('POST', '/v1/batch', { key: fx.keys.ingest, body: { batch: [m, m] } });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ success: true, accepted: 1, duplicates: 1 });
    const again = await call('POST', '/v1/batch', { key: fx.keys.ingest, body: { batch: [m] } });
    expect(again.body).toMatchObject({ accepted: 0, duplicates: 1 });
    await eventually(async () =>
      tagValue(await profile('C0000003', 'txn_count_90d'), 'txn_count_90d') === p0 + 1 ? true : undefined,
    );
    await call('POST', '/v1/realtime/flush', { key: fx.keys.admin });
    const n = await query<{ n: number }>(
      requireProject(fx.dir).engine.path,
      `SELECT count(*)::INTEGER AS n FROM raw.transactions WHERE txn_id = 'dup-1'`,
    );
    expect(n[0]!.n).toBe(1);
  });

  it('corrects the device clock: event time = receivedAt - (sentAt - timestamp)', async () => {
    const skew = 3 * 3600_000; // the device is three hours fast
    const now = Date.now();
    // The event happened ten minutes before the world's as-of on the server's clock: on the device's
    // clock, that is (device now) - (now - world + 10 min).
    const deviceTs = now + skew - (now - worldMs + 10 * 60_000);
    const r = await call('POST', '/v1/batch', {
      key: fx.keys.ingest,
      body: {
        sentAt: new Date(now + skew).toISOString(),
        batch: [
          {
            type: 'track',
            userId: 'C0000004',
            event: 'Card Payment',
            messageId: 'skew-1',
            timestamp: new Date(deviceTs).toISOString(),
            properties: payment(11),
          },
        ],
      },
    });
    expect(r.status).toBe(200);
    await call('POST', '/v1/realtime/flush', { key: fx.keys.admin });
    const rows = await query<{ ms: number }>(
      requireProject(fx.dir).engine.path,
      `SELECT epoch_ms(ts)::DOUBLE AS ms FROM raw.transactions WHERE txn_id = 'skew-1'`,
    );
    // Ten minutes before the world's as-of (give or take the request's own time).
    expect(Math.abs(rows[0]!.ms - (worldMs - 10 * 60_000))).toBeLessThan(5_000);
  });

  it('refuses what breaks the limits or the spec with a 4xx naming the problem, accepting nothing', async () => {
    const big = 'x'.repeat(33 * 1024);
    const tooBigEvent = await call('POST', '/v1/batch', {
      key: fx.keys.ingest,
      body: { batch: [{ type: 'track', userId: 'C1', event: 'E', properties: { big } }] },
    });
    expect(tooBigEvent.status).toBe(400);
    expect(tooBigEvent.body.code).toBe('event.too_large');
    expect(tooBigEvent.body.field).toBe('batch.0');
    const single = await call('POST', '/v1/track', {
      key: fx.keys.ingest,
      body: { userId: 'C1', event: 'E', properties: { big } },
    });
    expect(single.status).toBe(413);
    const tooBigBatch = await call('POST', '/v1/batch', {
      key: fx.keys.ingest,
      raw: JSON.stringify({
        batch: Array.from({ length: 20 }, () => ({
          type: 'track',
          userId: 'C1',
          event: 'E',
          properties: { s: 'y'.repeat(30_000) },
        })),
      }),
    });
    expect(tooBigBatch.status).toBe(413);
    expect(tooBigBatch.body.code).toBe('request.too_large');
    // Without a length, in chunks that never end: the 413 comes once the limit is passed, not after
    // the whole body (the server stops reading; before, it buffered whatever came).
    const endless = await endlessChunkedBatch(fx.keys.ingest, 20 * 1024 * 1024);
    expect(endless.status).toBe(413);
    expect(endless.code).toBe('request.too_large');
    expect(endless.sentBeforeAnswer).toBeLessThan(8 * 1024 * 1024);
    expect((await call('GET', '/healthz', {})).status).toBe(200);
    const noId = await call('POST', '/v1/batch', {
      key: fx.keys.ingest,
      body: {
        batch: [
          {
            type: 'track',
            userId: 'C1',
            event: 'Card Payment',
            messageId: 'never-1',
            timestamp: near(),
            properties: payment(1),
          },
          { type: 'track', event: 'E' },
        ],
      },
    });
    expect(noId.status).toBe(400);
    expect(noId.body).toMatchObject({ code: 'event.invalid', field: 'batch.1.userId' });
    expect(
      (await call('POST', '/v1/track', { key: fx.keys.ingest, body: { userId: 'C1' } })).body.field,
    ).toBe('event');
    expect(
      (await call('POST', '/v1/alias', { key: fx.keys.ingest, body: { userId: 'C1' } })).body.field,
    ).toBe('previousId');
    expect(
      (
        await call('POST', '/v1/batch', {
          key: fx.keys.ingest,
          body: { batch: [{ type: 'nope', userId: 'x' }] },
        })
      ).body.field,
    ).toBe('batch.0.type');
    expect((await call('POST', '/v1/track', { key: fx.keys.ingest, raw: '{not json' })).status).toBe(400);
    // Nothing of the refused batch was accepted.
    await call('POST', '/v1/realtime/flush', { key: fx.keys.admin });
    const n = await query<{ n: number }>(
      requireProject(fx.dir).engine.path,
      `SELECT count(*)::INTEGER AS n FROM raw.transactions WHERE txn_id = 'never-1'`,
    );
    expect(n[0]!.n).toBe(0);
  });

  it('identify updates the profile (only the traits given), alias joins an anonymous id to the customer', async () => {
    const r = await call('POST', '/v1/identify', {
      key: fx.keys.ingest,
      body: {
        userId: 'C0000005',
        anonymousId: 'anon-5',
        traits: { region: 'Jeju' },
        messageId: 'id-5',
        timestamp: near(),
      },
    });
    expect(r.status).toBe(200);
    const p0 = tagValue(await profile('C0000005', 'txn_count_90d'), 'txn_count_90d') as number;
    // A payment made before logging in (anonymous id only) counts for the customer now.
    await call('POST', '/v1/track', {
      key: fx.keys.ingest,
      body: {
        anonymousId: 'anon-5',
        event: 'Card Payment',
        messageId: 'anon-pay-1',
        timestamp: near(),
        properties: payment(3),
      },
    });
    await call('POST', '/v1/alias', {
      key: fx.keys.ingest,
      body: { previousId: 'device-77', userId: 'C0000005', messageId: 'al-1', timestamp: near() },
    });
    await call('POST', '/v1/track', {
      key: fx.keys.ingest,
      body: {
        anonymousId: 'device-77',
        event: 'Card Payment',
        messageId: 'anon-pay-2',
        timestamp: near(),
        properties: payment(4),
      },
    });
    await eventually(async () =>
      tagValue(await profile('C0000005', 'txn_count_90d'), 'txn_count_90d') === p0 + 2 ? true : undefined,
    );
    await call('POST', '/v1/realtime/flush', { key: fx.keys.admin });
    const path = requireProject(fx.dir).engine.path;
    const cust = await query<{ region: string; age_band: string }>(
      path,
      `SELECT region, age_band FROM raw.customers WHERE customer_id = 'C0000005'`,
    );
    expect(cust).toHaveLength(1);
    expect(cust[0]!.region).toBe('Jeju');
    expect(cust[0]!.age_band).not.toBeNull();
    const pays = await query<{ customer_id: string }>(
      path,
      `SELECT customer_id FROM raw.transactions WHERE txn_id IN ('anon-pay-1', 'anon-pay-2')`,
    );
    expect(pays.map((x) => x.customer_id)).toEqual(['C0000005', 'C0000005']);
    const links = await query<{ alias: string; entity: string }>(
      path,
      `SELECT alias, entity FROM tagverse.identities ORDER BY seq`,
    );
    expect(links).toEqual(
      expect.arrayContaining([
        { alias: 'anon-5', entity: 'C0000005' },
        { alias: 'device-77', entity: 'C0000005' },
      ]),
    );
  });

  it('keeps a row whose values do not fit its columns as a reject with its reason', async () => {
    const r = await call('POST', '/v1/track', {
      key: fx.keys.ingest,
      body: {
        userId: 'C0000006',
        event: 'Card Payment',
        messageId: 'bad-amount',
        timestamp: near(),
        properties: payment(0, { amount: 'twelve' }),
      },
    });
    expect(r.status).toBe(200);
    expect(r.body.rejected).toBe(1);
    await call('POST', '/v1/realtime/flush', { key: fx.keys.admin });
    const rej = await query<{ kind: string; column: string; reason: string; file: string }>(
      requireProject(fx.dir).engine.path,
      `SELECT kind, "column", reason, file FROM tagverse.rejects WHERE raw LIKE '%bad-amount%'`,
    );
    expect(rej).toHaveLength(1);
    expect(rej[0]).toMatchObject({ kind: 'unreadable_value', column: 'amount' });
    expect(rej[0]!.reason).toMatch(/cannot read "twelve" as a number/);
    expect(rej[0]!.file).toMatch(/^realtime:transactions:/);
  });

  it('takes page, screen and group calls: mapped when a rule names them, else accepted and ignored', async () => {
    const p0 = tagValue(await profile('C0000009', 'txn_count_90d'), 'txn_count_90d') as number;
    const base = { userId: 'C0000009', timestamp: near() };
    const page = await call('POST', '/v1/page', {
      key: fx.keys.ingest,
      body: { ...base, name: 'Card Payment Page', messageId: 'page-1', properties: payment(21) },
    });
    expect(page.body).toMatchObject({ accepted: 1, ignored: 0 });
    const other = await call('POST', '/v1/page', {
      key: fx.keys.ingest,
      body: { ...base, name: 'Home', messageId: 'page-2', properties: {} },
    });
    expect(other.body).toMatchObject({ accepted: 1, ignored: 1 });
    const screen = await call('POST', '/v1/screen', {
      key: fx.keys.ingest,
      body: { ...base, name: 'Wallet', messageId: 'screen-1' },
    });
    expect(screen.body).toMatchObject({ accepted: 1, ignored: 1 });
    const group = await call('POST', '/v1/group', {
      key: fx.keys.ingest,
      body: { ...base, groupId: 'household-9', messageId: 'group-1', traits: { size: 3 } },
    });
    expect(group.body).toMatchObject({ accepted: 1, ignored: 1 });
    expect((await call('POST', '/v1/group', { key: fx.keys.ingest, body: base })).body.field).toBe('groupId');
    await eventually(async () =>
      tagValue(await profile('C0000009', 'txn_count_90d'), 'txn_count_90d') === p0 + 1 ? true : undefined,
    );
    await call('POST', '/v1/realtime/flush', { key: fx.keys.admin });
    const rows = await query<{ txn_id: string; amount: number }>(
      requireProject(fx.dir).engine.path,
      `SELECT txn_id, amount FROM raw.transactions WHERE customer_id = 'C0000009' AND txn_id LIKE 'page-%'`,
    );
    expect(rows).toEqual([{ txn_id: 'page-1', amount: 21 }]);
  });

  it('takes rows shaped as the source (/v1/events), deduplicated by the event id column', async () => {
    const row = { txn_id: 'native-1', customer_id: 'C0000007', ts: near(), ...payment(9) };
    const r = await call('POST', '/v1/events', {
      key: fx.keys.ingest,
      body: { source: 'transactions', rows: [row, row] },
    });
    expect(r.body).toMatchObject({ accepted: 1, duplicates: 1 });
    const bad = await call('POST', '/v1/events', { key: fx.keys.ingest, body: { source: 'nope', rows: [] } });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('event.unknown_source');
  });

  it('answers 429 with Retry-After past the per-key rate (before the role and readiness checks)', async () => {
    const config = requireProject(fx.dir);
    const limited = {
      ...config,
      api: { ...config.api, limits: { ...config.api.limits, requestsPerSecond: 1, burst: 2 } },
    };
    const holder = await StoreHolder.open(limited, { snapshot: false });
    const { app } = createApp({
      config: limited,
      holder,
      keys: new KeyRing(keysFromEnv(fx.keysEnv)),
      limits: limited.api.limits,
      now: () => 0,
      realtime: { runtime: undefined, error: undefined },
    });
    const send = () =>
      app.request('/v1/track', {
        method: 'POST',
        headers: { authorization: `Bearer ${fx.keys.ingest}`, 'content-type': 'application/json' },
        body: JSON.stringify({ userId: 'C0000008', event: 'Ping' }),
      });
    expect((await send()).status).toBe(503); // within the burst: on to the next check (still starting)
    expect((await send()).status).toBe(503);
    const r = await send();
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBe('1');
    expect(((await r.json()) as Json).code).toBe('rate_limited');
  });
});

describe('the online store, updated in place', () => {
  const preview = async (expression: string): Promise<{ count: number; total: number }> => {
    const r = await call('POST', '/v1/segments/preview', {
      key: fx.keys.admin,
      body: { expression, sample: 0 },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body;
  };

  it('segment counts follow live tags and traits (bitmaps, numeric ranges, new entities); a held bitmap never changes', async () => {
    const store = server.holder.current;
    const big = store.tags.get('big_ticket_buyer')!;
    const spend = store.tags.get('spend_90d')!;
    const count = store.tags.get('txn_count_90d')!;
    if (big.kind !== 'boolean' || spend.kind !== 'number' || count.kind !== 'number')
      throw new Error('unexpected column kinds');
    // A customer with payments who is no big-ticket buyer, whom no test above has touched.
    let o = 40;
    while (big.values[o] === 1 || !(count.values[o]! >= 1)) o++;
    const id = store.ids[o]!;
    const spend0 = spend.values[o]!;
    const threshold = spend0 + 1_500_000;
    const held = big.trueSet;
    const heldSize = held.size;
    const exprs = [
      'big_ticket_buyer',
      `spend_90d >= ${threshold}`,
      "customers.region = 'Ulsan' and big_ticket_buyer",
      'txn_count_90d >= 1',
    ];
    const before = await Promise.all(exprs.map(preview));

    await call('POST', '/v1/batch', {
      key: fx.keys.ingest,
      body: {
        batch: [
          {
            type: 'track',
            userId: id,
            event: 'Card Payment',
            messageId: 'live-big-1',
            timestamp: near(),
            properties: payment(2_000_000),
          },
          {
            type: 'identify',
            userId: id,
            traits: { region: 'Ulsan' },
            messageId: 'live-move-1',
            timestamp: near(),
          },
          // Someone the build never saw.
          {
            type: 'track',
            userId: 'C9999999',
            event: 'Card Payment',
            messageId: 'live-new-1',
            timestamp: near(),
            properties: payment(10),
          },
        ],
      },
    });
    await server.realtime!.handle.runtime!.settle();
    const after = await Promise.all(exprs.map(preview));
    // Each expression gains exactly one member: the customer, or (the last one) the new entity.
    expect(after.map((a) => a.count)).toEqual(before.map((b) => b.count + 1));
    expect(after[0]!.total).toBe(before[0]!.total + 1);
    const p = await profile(id, 'big_ticket_buyer,spend_90d');
    expect(tagValue(p, 'big_ticket_buyer')).toBe(true);
    expect(tagValue(p, 'spend_90d')).toBe(spend0 + 2_000_000);
    // Copy on write: the bitmap handed out before the change still says what it said.
    expect(held.size).toBe(heldSize);
    expect(held.has(o)).toBe(false);
  });
});

/**
 * POST /v1/batch with a chunked body (no content-length) written until the server answers, or until
 * `maxBytes` were sent: the status, the problem code, and how much was sent before the answer.
 */
function endlessChunkedBatch(
  key: string,
  maxBytes: number,
): Promise<{ status: number; code: string; sentBeforeAnswer: number }> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(server.url);
    let sent = 0;
    let answered = false;
    let sentBeforeAnswer = 0;
    const req = http.request(
      {
        hostname,
        port,
        path: '/v1/batch',
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      },
      (res) => {
        answered = true;
        sentBeforeAnswer = sent;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => {
          req.destroy();
          resolve({
            status: res.statusCode ?? 0,
            code: (JSON.parse(text) as { code: string }).code,
            sentBeforeAnswer,
          });
        });
      },
    );
    req.on('error', (e) => {
      if (!answered) reject(e);
    });
    const chunk = Buffer.from(
      `{"type":"track","userId":"C1","event":"E","properties":{"s":"${'z'.repeat(64 * 1024)}"}},`,
    );
    req.write('{"batch":[');
    const pump = (): void => {
      while (!answered && sent < maxBytes) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      if (!answered) req.end(']}');
    };
    pump();
  });
}
