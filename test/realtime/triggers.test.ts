/**
 * Triggers end to end on the card pack: a real server, a real webhook receiver (127.0.0.1), events
 * sent over the Segment API. The airport example (packs/card/triggers/airport.yaml) sends the nearest
 * restaurants of the customer's favourite cuisine, signed; caps, quiet hours, retries with backoff,
 * the dead-letter log, enter/leave of an expression and of a saved segment; and bad definitions are
 * reported at their file position.
 */
import { cpSync, readFileSync, renameSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/api/server.js';
import { requireProject } from '../../src/config/project.js';
import { loadTriggers } from '../../src/realtime/triggers/definitions.js';
import { verifySignature } from '../../src/realtime/triggers/delivery.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import { query, writeFiles } from '../helpers.js';
import { cardWorld, eventually, PACK, type RealtimeFixture, startRealtimeServer } from './fixture.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies are read field by field and asserted
type Json = any;

const SECRET = 'test-secret-123';

interface Received {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  readonly at: number;
}

let fx: RealtimeFixture;
let server: RunningServer;
let hooks: Server;
let hookUrl = '';
const received: Received[] = [];
/** Responses by path: a list of statuses to answer in turn (then 200). */
const script = new Map<string, number[]>();
/** The wall clock real time sees (ms): tests move it. */
let clock = Date.parse('2025-06-01T03:00:00Z'); // noon in Seoul: outside quiet hours
let worldMs = 0;

const TEST_TRIGGERS = `
- name: big_week
  description: Spent over a threshold in 30 days.
  on: enter
  when: spend_30d > 5000000
  webhook: { url: '\${HOOK}/enter', secret: '${SECRET}' }
- name: left_jeju
  description: No longer lives in Jeju (per profile).
  on: leave
  when: customers.region = 'Jeju'
  webhook: { url: '\${HOOK}/leave', secret: '${SECRET}' }
- name: into_jeju_segment
  description: Entered the saved segment of Jeju customers.
  on: enter
  segment: jeju_customers
  webhook: { url: '\${HOOK}/segment', secret: '${SECRET}' }
- name: flaky_receiver
  description: Any payment over 777777 KRW, to a receiver that fails twice first.
  on: event
  source: transactions
  when: event.amount = 777777
  webhook: { url: '\${HOOK}/flaky', secret: '${SECRET}', backoff_ms: 50 }
- name: dead_receiver
  description: Any payment of 666666 KRW, to a receiver that always fails.
  on: event
  source: transactions
  when: event.amount = 666666
  webhook: { url: '\${HOOK}/dead', secret: '${SECRET}', backoff_ms: 20, max_attempts: 3 }
- name: quiet_in_seoul
  description: Payments of 555555 KRW, never between 11:00 and 13:00 in Seoul (delayed).
  on: event
  source: transactions
  when: event.amount = 555555
  webhook: { url: '\${HOOK}/quiet', secret: '${SECRET}' }
  quiet_hours: { from: '11:00', to: '13:00', timezone: Asia/Seoul }
- name: quiet_drop
  description: Payments of 444444 KRW, dropped during New York nights.
  on: event
  source: transactions
  when: event.amount = 444444
  webhook: { url: '\${HOOK}/drop', secret: '${SECRET}' }
  quiet_hours: { from: '22:00', to: '06:00', timezone: America/New_York, during: drop }
- name: after_a_crash
  description: Payments of 333333 KRW (their evaluation is cut by a stopped worker in a test).
  on: event
  source: transactions
  when: event.amount = 333333
  webhook: { url: '\${HOOK}/crash', secret: '${SECRET}' }
`;

/** How far from each airport the planted restaurant of another city is (km). */
const NEIGHBOUR_KM = 0.15;

/**
 * A world as small as this one has a single restaurant of each cuisine per city, which cannot show
 * "nearest first" nor the limit. Around every Korean airport, plant 7 restaurants of every cuisine in
 * the airport's city (written farthest first, so file order is not distance order), and the nearest of
 * all just across the city line. No customer visits them, so no tag changes.
 */
async function plantRestaurants(dir: string): Promise<void> {
  const file = path.join(dir, 'data', 'merchants.parquet');
  const src = `read_parquet('${file}')`;
  const wh = await Warehouse.open(':memory:');
  try {
    const airports = await wh.rows<{ city: string; lat: number; lon: number }>(
      `SELECT city, lat, lon FROM ${src} WHERE category = 'airport' AND country = 'KR' ORDER BY city`,
    );
    const cuisines = (
      await wh.rows<{ cuisine: string }>(
        `SELECT DISTINCT cuisine FROM ${src} WHERE category = 'restaurant' AND cuisine IS NOT NULL ORDER BY 1`,
      )
    ).map((r) => r.cuisine);
    const rows: string[] = [];
    const at = (a: { lat: number; lon: number }, km: number, bearing: number) => {
      const b = (bearing * Math.PI) / 180;
      const lat = a.lat + (km / 111.32) * Math.cos(b);
      const lon = a.lon + (km / (111.32 * Math.cos((a.lat * Math.PI) / 180))) * Math.sin(b);
      return `${lat}::DOUBLE, ${lon}::DOUBLE`;
    };
    airports.forEach((a, ai) => {
      cuisines.forEach((c, ci) => {
        for (let k = 6; k >= 0; k--) {
          const id = `MP${String(ai).padStart(2, '0')}${String(ci).padStart(2, '0')}${k}`;
          const km = 0.4 + k * 0.9 + ci * 0.03;
          rows.push(
            `('${id}', 'Planted ${c} ${k} ${a.city}', '5812', 'restaurant', '${c}', '${a.city}', 'KR', ${at(a, km, ai * 40 + k * 51)})`,
          );
        }
        rows.push(
          `('MP${String(ai).padStart(2, '0')}${String(ci).padStart(2, '0')}N', 'Across the line ${c}', '5812', 'restaurant', '${c}', 'Neighbourtown', 'KR', ${at(a, NEIGHBOUR_KM, ci * 27)})`,
        );
      });
    });
    await wh.run(
      `COPY (SELECT * FROM ${src} UNION ALL BY NAME
             SELECT * FROM (VALUES ${rows.join(', ')}) t(merchant_id, merchant_name, mcc, category, cuisine, city, country, lat, lon))
       TO '${file}.planted' (FORMAT parquet)`,
    );
  } finally {
    wh.close();
  }
  renameSync(`${file}.planted`, file);
}

beforeAll(async () => {
  hooks = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => {
      body += d.toString();
    });
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body, at: Date.now() });
      const queue = script.get(req.url ?? '');
      const status = queue && queue.length > 0 ? queue.shift()! : 200;
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(hooks.address() as { port: number }).port}`;
  fx = await cardWorld({
    customers: 150,
    months: 4,
    seed: 3,
    extra: {
      'triggers/tests.yaml': TEST_TRIGGERS,
      'segments/jeju_customers.yaml': "name: jeju_customers\nexpression: customers.region = 'Jeju'\n",
    },
    prepare: plantRestaurants,
  });
  cpSync(path.join(PACK, 'triggers'), path.join(fx.dir, 'triggers'), { recursive: true });
  script.set('/flaky', [500, 503]);
  script.set('/dead', [500, 500, 500, 500]);
  server = await startRealtimeServer(fx.dir, fx.keysEnv, {
    env: { AIRPORT_WEBHOOK_URL: `${hookUrl}/airport`, AIRPORT_WEBHOOK_SECRET: SECRET, HOOK: hookUrl },
    now: () => clock,
  });
  worldMs = Math.floor(server.holder.current.info.asOfMicros / 1000);
}, 300_000);

afterAll(async () => {
  await server?.close();
  await new Promise((r) => hooks?.close(r));
});

async function send(body: Record<string, unknown>, type = 'track'): Promise<Json> {
  const res = await fetch(`${server.url}/v1/${type}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${fx.keys.ingest}`, 'content-type': 'application/json' },
    body: JSON.stringify({ timestamp: new Date(worldMs).toISOString(), ...body }),
  });
  expect(res.status).toBe(200);
  return res.json();
}

async function profile(id: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${server.url}/v1/profiles/${id}`, {
    headers: { authorization: `Bearer ${fx.keys.viewer}` },
  });
  const p = (await res.json()) as Json;
  return Object.fromEntries(
    Object.values(p.categories as Record<string, { name: string; value: unknown }[]>)
      .flat()
      .map((t) => [t.name, t.value]),
  );
}

const pay = (
  merchant: Record<string, unknown>,
  amount: number,
  city: string,
  messageId: string,
  userId: string,
) => ({
  userId,
  event: 'Card Payment',
  messageId,
  properties: {
    merchant_id: merchant.merchant_id,
    mcc: merchant.mcc,
    amount,
    currency: 'KRW',
    original_amount: amount,
    channel: 'offline',
    city,
    country: 'KR',
  },
});

const hooksAt = (p: string) => received.filter((r) => r.path === p);

function haversineKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const r = Math.PI / 180;
  const a =
    Math.sin(((lat2 - lat1) * r) / 2) ** 2 +
    Math.cos(lat1 * r) * Math.cos(lat2 * r) * Math.sin(((lon2 - lon1) * r) / 2) ** 2;
  return 2 * 6371.0088 * Math.asin(Math.sqrt(a));
}

describe('the airport example', () => {
  it('a foodie paying at an airport away from home gets the nearest restaurants of their cuisine, signed', async () => {
    const store = server.holder.current;
    const cuisine = store.tags.get('cuisine_affinity')!;
    const home = store.tags.get('home_city_90d')!;
    const dbPath = requireProject(fx.dir).engine.path;
    const airports = await query<Record<string, unknown>>(
      dbPath,
      `SELECT * FROM raw.merchants WHERE category = 'airport' AND country = 'KR'`,
    );
    // A customer with a favourite cuisine and a home city, and an airport in another city.
    let pick: { id: string; top: string; homeCity: string; airport: Record<string, unknown> } | undefined;
    for (let o = 0; o < store.size && !pick; o++) {
      if (cuisine.kind !== 'list' || home.kind !== 'string') break;
      const start = cuisine.starts[o]!;
      if (cuisine.ends[o]! === start || home.codes[o]! < 0) continue;
      const homeCity = home.dict[home.codes[o]!]!;
      const airport = airports.find((a) => a.city !== homeCity);
      if (airport) pick = { id: store.ids[o]!, top: cuisine.dict[cuisine.items[start]!]!, homeCity, airport };
    }
    expect(pick, 'a customer with a favourite cuisine and a fitting airport').toBeDefined();
    const { id, top, homeCity, airport } = pick!;
    await send(pay(airport, 12000, airport.city as string, 'airport-1', id));
    const hook = await eventually(() => hooksAt('/airport')[0], 20_000, 'the airport webhook');
    expect(
      verifySignature(
        SECRET,
        hook.headers['x-tagverse-timestamp'] as string,
        hook.headers['x-tagverse-signature'] as string,
        hook.body,
        {
          now: clock / 1000,
        },
      ),
    ).toBe(true);
    expect(
      verifySignature(
        'wrong',
        hook.headers['x-tagverse-timestamp'] as string,
        hook.headers['x-tagverse-signature'] as string,
        hook.body,
        { now: clock / 1000 },
      ),
    ).toBe(false);
    const body = JSON.parse(hook.body) as Json;
    expect(body.trigger.name).toBe('airport_cuisine_nearby');
    expect(body.entity).toBe(id);
    expect(body.event.messageId).toBe('airport-1');
    const reasons = Object.fromEntries(
      (body.reasons as { name: string; value: unknown }[]).map((r) => [r.name, r.value]),
    );
    expect(reasons.category).toBe('airport');
    expect(reasons.city).toBe(airport.city);
    expect(reasons.home_city_90d).toBe(homeCity);
    expect((reasons.cuisine_affinity as { value: string }[])[0]!.value).toBe(top);
    // The nearest restaurants of that cuisine in that city, nearest first, as the merchants table says.
    const all = await query<{ merchant_id: string; lat: number; lon: number }>(
      dbPath,
      `SELECT merchant_id, lat, lon FROM raw.merchants WHERE category = 'restaurant' AND cuisine = '${top}' AND city = '${airport.city}'`,
    );
    expect(all.length, 'more restaurants of the cuisine there than the trigger sends').toBeGreaterThan(5);
    const expected = all
      .map((m) => ({
        id: m.merchant_id,
        km: haversineKm(airport.lat as number, airport.lon as number, m.lat, m.lon),
      }))
      .sort((a, b) => a.km - b.km)
      .slice(0, 5);
    const got = body.include.nearby_restaurants as {
      merchant_id: string;
      cuisine: string;
      city: string;
      distance_km: number;
    }[];
    expect(got.map((m) => m.merchant_id)).toEqual(expected.map((m) => m.id));
    expect(got.every((m) => m.cuisine === top)).toBe(true);
    // The nearest restaurant of that cuisine of all is across the city line: not in this city, not sent.
    expect(got.map((m) => m.city)).toEqual(Array(5).fill(airport.city));
    expect(got[0]!.distance_km).toBeGreaterThan(NEIGHBOUR_KM);
    for (const [i, m] of got.entries()) expect(m.distance_km).toBeCloseTo(expected[i]!.km, 2);

    // The cap: one per day per customer. A second airport payment an hour later sends nothing.
    clock += 3600_000;
    await send(pay(airport, 13000, airport.city as string, 'airport-2', id));
    await server.realtime!.handle.runtime!.settle();
    const status = server.realtime!.handle.runtime!.status().triggers as Json;
    expect(status.capped).toBeGreaterThanOrEqual(1);
    expect(hooksAt('/airport')).toHaveLength(1);
    // A day later it may fire again; paying at home does not.
    clock += 24 * 3600_000;
    await send(pay(airport, 14000, homeCity, 'at-home', id));
    await send(pay(airport, 15000, airport.city as string, 'airport-3', id));
    await eventually(
      () => (hooksAt('/airport').length === 2 ? true : undefined),
      20_000,
      'the second airport webhook',
    );
    expect(JSON.parse(hooksAt('/airport')[1]!.body).event.messageId).toBe('airport-3');
  }, 60_000);
});

describe('delivery', () => {
  const merchant = { merchant_id: 'M000758', mcc: '5499' };

  it('retries with exponential backoff until the receiver answers 2xx (same delivery id)', async () => {
    await send(pay(merchant, 777777, 'Seoul', 'flaky-1', 'C0000010'));
    await eventually(() => (hooksAt('/flaky').length === 3 ? true : undefined), 20_000, 'three attempts');
    const attempts = hooksAt('/flaky');
    expect(attempts.map((a) => a.headers['x-tagverse-attempt'])).toEqual(['1', '2', '3']);
    expect(new Set(attempts.map((a) => a.headers['x-tagverse-delivery'])).size).toBe(1);
    // 50 ms, then ~100 ms (±20%).
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(35);
    expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(75);
  });

  it('gives up after max_attempts and writes the delivery to the dead-letter log', async () => {
    await send(pay(merchant, 666666, 'Seoul', 'dead-1', 'C0000011'));
    const file = path.join(fx.dir, '.tagverse', 'triggers', 'dead-letter.jsonl');
    const dead = await eventually(
      () => {
        try {
          const lines = readFileSync(file, 'utf8')
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l) as Json);
          return lines.find((l) => l.trigger === 'dead_receiver');
        } catch {
          return undefined;
        }
      },
      20_000,
      'the dead letter',
    );
    expect(dead).toMatchObject({ entity: 'C0000011', attempts: 3, lastError: 'HTTP 500' });
    expect(dead.body.event.messageId).toBe('dead-1');
    expect(hooksAt('/dead')).toHaveLength(3);
  });

  it('quiet hours in the entity’s zone delay a delivery to their end, or drop it', async () => {
    // 11:30 in Seoul: inside 11:00-13:00, so the delivery waits until 13:00 Seoul time.
    clock = Date.parse('2025-06-10T02:30:00Z');
    await send(pay(merchant, 555555, 'Seoul', 'quiet-1', 'C0000012'));
    await server.realtime!.handle.runtime!.settle();
    const outbox = readFileSync(path.join(fx.dir, '.tagverse', 'triggers', 'outbox.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Json)
      .find((r) => r.t === 'fire' && r.d.trigger === 'quiet_in_seoul');
    expect(outbox.d.notBefore).toBe(Date.parse('2025-06-10T04:00:00Z'));
    expect(hooksAt('/quiet')).toHaveLength(0);
    // 23:30 in New York (03:30 UTC): dropped.
    clock = Date.parse('2025-06-11T03:30:00Z');
    await send(pay(merchant, 444444, 'Seoul', 'drop-1', 'C0000012'));
    await server.realtime!.handle.runtime!.settle();
    expect((server.realtime!.handle.runtime!.status().triggers as Json).quiet).toBe(1);
    expect(hooksAt('/drop')).toHaveLength(0);
    clock = Date.parse('2025-06-11T12:00:00Z');
  });
});

describe('enter and leave', () => {
  it('fires when an entity enters an expression, once, and when it leaves a profile condition', async () => {
    const store = server.holder.current;
    const region = store.profiles.get('customers.region')!;
    const spend = store.tags.get('spend_30d')!;
    let id = '';
    for (let o = 20; o < store.size && id === ''; o++) {
      if (region.kind !== 'string' || spend.kind !== 'number') break;
      if (region.dict[region.codes[o]!] !== 'Jeju' && spend.values[o]! < 1_000_000) id = store.ids[o]!;
    }
    const before = await profile(id);
    expect(before.spend_30d as number).toBeLessThan(5_000_000);
    await send(pay({ merchant_id: 'M000758', mcc: '5499' }, 6_000_000, 'Seoul', 'big-1', id));
    const enter = await eventually(
      () => hooksAt('/enter').find((h) => JSON.parse(h.body).entity === id),
      20_000,
      'enter',
    );
    const body = JSON.parse(enter.body) as Json;
    expect(body.trigger).toMatchObject({ name: 'big_week', on: 'enter' });
    expect(body.reasons[0].name).toBe('spend_30d');
    expect(body.reasons[0].value).toBeGreaterThan(5_000_000);
    // Still above: no second enter.
    await send(pay({ merchant_id: 'M000758', mcc: '5499' }, 10, 'Seoul', 'big-2', id));
    await server.realtime!.handle.runtime!.settle();
    expect(hooksAt('/enter').filter((h) => JSON.parse(h.body).entity === id)).toHaveLength(1);

    // Moving to Jeju enters the saved segment; moving away leaves the profile condition.
    await send({ userId: id, traits: { region: 'Jeju' }, messageId: 'move-1' }, 'identify');
    await eventually(
      () => hooksAt('/segment').find((h) => JSON.parse(h.body).entity === id),
      20_000,
      'segment enter',
    );
    await send({ userId: id, traits: { region: 'Busan' }, messageId: 'move-2' }, 'identify');
    const leave = await eventually(
      () => hooksAt('/leave').find((h) => JSON.parse(h.body).entity === id),
      20_000,
      'leave',
    );
    expect(JSON.parse(leave.body).reasons).toEqual([
      { kind: 'profile', name: 'customers.region', value: 'Busan' },
    ]);
  });
});

describe('definitions', () => {
  it('an event whose evaluation a stopped worker cut short fires its trigger once, after the restart', async () => {
    const rt = server.realtime!.handle.runtime!;
    expect(rt.status().evaluator).toMatchObject({ mode: 'worker', restarts: 0 });
    const link = (rt as unknown as { link: { worker: { terminate(): Promise<number> } } }).link;
    // Stopped (a crash, out of memory): the round that takes this payment fails, and its values and
    // triggers never come back from that worker.
    await link.worker.terminate();
    await send(pay({ merchant_id: 'M000758', mcc: '5499' }, 333333, 'Seoul', 'crash-1', 'C0000012'));
    await eventually(() => (rt.status().evaluator.restarts === 1 ? true : undefined), 60_000, 'a restart');
    await eventually(() => (hooksAt('/crash').length > 0 ? true : undefined), 20_000, 'the delivery');
    // Once: the new worker evaluates every entity again, and nothing else re-fires it.
    await rt.settle();
    await new Promise((r) => setTimeout(r, 300));
    const deliveries = hooksAt('/crash');
    expect(deliveries).toHaveLength(1);
    const body = JSON.parse(deliveries[0]!.body) as Json;
    expect(body.trigger.name).toBe('after_a_crash');
    expect(body.entity).toBe('C0000012');
    expect(body.event.messageId).toBe('crash-1');
    expect(rt.status().evaluator.error).toBeUndefined();
  });

  it('reports problems at their file position, with did-you-mean', async () => {
    writeFiles(fx.dir, {
      'triggers/zz-bad.yaml': `- name: broken
  description: Misspelled names.
  on: event
  source: transactions
  when: event.categry = 'airport' and spend_9d > 1
  webhook: { url: 'http://127.0.0.1/x', secret: s }
- name: no_source
  description: Wrong source.
  on: event
  source: customers
  when: 'true'
  webhook: { url: 'http://127.0.0.1/x', secret: s }
`,
    });
    const store = server.holder.current;
    const { problems } = loadTriggers(requireProject(fx.dir), store.schemas, store.program, {
      AIRPORT_WEBHOOK_URL: 'http://x',
      AIRPORT_WEBHOOK_SECRET: 's',
      HOOK: 'http://x',
    });
    const texts = problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.message}`);
    expect(texts).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^triggers\/zz-bad\.yaml:5:9: source 'event' has no column 'categry' \(did you mean 'category'\?\)/,
        ),
        expect.stringMatching(/^triggers\/zz-bad\.yaml:10:11: 'customers' is not an events source/),
      ]),
    );
  });
});
