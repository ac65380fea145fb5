import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { build } from '../../src/engine/build.js';
import { explain } from '../../src/engine/explain.js';
import { profile } from '../../src/engine/profile.js';
import { ingest } from '../../src/ingest/ingest.js';
import { query, tempDir } from '../helpers.js';

const CONFIG = `name: shop
timezone: Asia/Seoul
entity: { name: customer }
sources:
  tx:
    kind: events
    files: data/tx*.csv
    entity_key: customer_id
    event_id: id
    timestamp: ts
    columns: { amount: { type: double }, category: { type: string } }
  customers:
    kind: profile
    files: data/customers.csv
    entity_key: customer_id
`;

// Times are local (Asia/Seoul, UTC+9).
const TX = `id,customer_id,ts,amount,category,channel
1,c1,2025-01-05 10:00:00,100,golf,offline
2,c1,2025-02-10 10:00:00,200,golf,offline
3,c1,2025-03-20 10:00:00,50,cafe,online
4,c1,2025-03-25 23:30:00,300,golf,offline
5,c2,2025-01-15 12:00:00,40,cafe,online
6,c2,2025-03-30 12:00:00,60,cafe,online
7,c3,2025-01-02 09:00:00,999,it's; DROP TABLE raw.tx; --,offline
`;
const CUSTOMERS = 'customer_id,age_band\nc1,40s\nc2,20s\nc3,60s\nc4,30s\n';

const TAGS = `- name: spend_90d
  description: Spend over 90 days.
  category: behavior
  from: tx
  window: last 90d
  value: sum(amount)
- name: golf_count_60d
  description: Golf payments over 60 days.
  category: behavior
  from: tx
  where: category = 'golf'
  window: last 60d
  value: count()
- name: golf_lover
  description: At least two golf payments in 60 days.
  category: preference
  value: golf_count_60d >= 2
- name: online_share
  description: Share of online payments, ever.
  category: preference
  from: tx
  value: share(channel = 'online')
- name: top_category
  description: Category with the most spend.
  category: preference
  from: tx
  value: argmax(category, by sum(amount))
- name: last_category
  description: Category of the latest payment.
  category: behavior
  from: tx
  value: last(category)
- name: night_payments
  description: Payments at 22h or later, local time.
  category: behavior
  from: tx
  value: count_if(hour(ts) >= 22)
- name: weird_category
  description: Has paid in the category with a hostile name.
  category: condition
  from: tx
  value: count(where category = 'it''s; DROP TABLE raw.tx; --') > 0
- name: senior
  description: Aged 60 or more.
  category: condition
  value: age_band in ('60s', '70s')
`;

async function project(extraTx = ''): Promise<string> {
  const dir = tempDir({
    'tagverse.yaml': CONFIG,
    'data/tx1.csv': TX + extraTx,
    'data/customers.csv': CUSTOMERS,
    'tags/t.yaml': TAGS,
  });
  await ingest(dir);
  return dir;
}

const current = (dir: string) =>
  query(path.join(dir, '.tagverse/warehouse.duckdb'), 'SELECT * FROM tags.current ORDER BY entity_id');

describe('build computes every tag for every entity as of a time', () => {
  it('gives the exact values of a small world at the end of March 31st', async () => {
    const dir = await project();
    const r = await build(dir, { asOf: '2025-03-31' });
    expect(r.asOf).toBe('2025-03-31T14:59:59.999Z');
    expect(r.entities).toBe(4);
    expect(await current(dir)).toEqual([
      {
        entity_id: 'c1',
        spend_90d: 650,
        golf_count_60d: 2,
        golf_lover: true,
        online_share: 0.25,
        top_category: 'golf',
        last_category: 'golf',
        night_payments: 1,
        weird_category: false,
        senior: false,
      },
      {
        entity_id: 'c2',
        spend_90d: 100,
        golf_count_60d: 0,
        golf_lover: false,
        online_share: 1,
        top_category: 'cafe',
        last_category: 'cafe',
        night_payments: 0,
        weird_category: false,
        senior: false,
      },
      {
        entity_id: 'c3',
        spend_90d: 999,
        golf_count_60d: 0,
        golf_lover: false,
        online_share: 0,
        top_category: "it's; DROP TABLE raw.tx; --",
        last_category: "it's; DROP TABLE raw.tx; --",
        night_payments: 0,
        weird_category: true,
        senior: true,
      },
      {
        // c4 has a profile but no payments: counts and sums are 0, ratios and picks are null.
        entity_id: 'c4',
        spend_90d: 0,
        golf_count_60d: 0,
        golf_lover: false,
        online_share: null,
        top_category: null,
        last_category: null,
        night_payments: 0,
        weird_category: false,
        senior: false,
      },
    ]);
    const cov = Object.fromEntries(r.tags.map((t) => [t.name, t]));
    expect(cov.golf_lover).toMatchObject({ nonNull: 1, trueShare: 0.25 });
    expect(cov.online_share).toMatchObject({ nonNull: 0.75 });
  });

  it('as of a past time uses only the data up to then: the same values as a project truncated there', async () => {
    const dir = await project();
    await build(dir, { asOf: '2025-02-28' });
    const past = await current(dir);
    const truncated = tempDir({
      'tagverse.yaml': CONFIG,
      'data/tx1.csv': TX.split('\n')
        .filter((l) => !/2025-03-/.test(l))
        .join('\n'),
      'data/customers.csv': CUSTOMERS,
      'tags/t.yaml': TAGS,
    });
    await ingest(truncated);
    await build(truncated, { asOf: '2025-02-28' });
    expect(await current(truncated)).toEqual(past);
    expect(past.find((r) => r.entity_id === 'c1')).toMatchObject({
      spend_90d: 300,
      golf_count_60d: 2,
      golf_lover: true,
    });
  });

  it('records history: who entered and left a tag, and when', async () => {
    const dir = await project();
    await build(dir, { asOf: '2025-02-28' });
    await build(dir, { asOf: '2025-03-31' });
    await build(dir, { asOf: '2025-05-31' });
    const wh = path.join(dir, '.tagverse/warehouse.duckdb');
    const golf = await query(
      wh,
      `SELECT entity_id, value, strftime(valid_from AT TIME ZONE 'Asia/Seoul', '%Y-%m-%d') AS since,
              strftime(valid_to AT TIME ZONE 'Asia/Seoul', '%Y-%m-%d') AS until
       FROM tags.history WHERE tag = 'golf_lover' AND entity_id = 'c1' ORDER BY valid_from`,
    );
    // Golf payments on Feb 10 and Mar 25: two within 60 days at the end of Feb and of March; none by May 31.
    expect(golf).toEqual([
      { entity_id: 'c1', value: 'true', since: '2025-02-28', until: '2025-05-31' },
      { entity_id: 'c1', value: 'false', since: '2025-05-31', until: null },
    ]);
    const left = await query(
      wh,
      `SELECT entity_id FROM tags.history WHERE tag = 'golf_lover' AND value = 'false' AND valid_from > TIMESTAMPTZ '2025-04-01 00:00:00+09'`,
    );
    expect(left).toEqual([{ entity_id: 'c1' }]);
    // Rebuilding at an existing time replaces that step instead of stacking it.
    await build(dir, { asOf: '2025-05-31' });
    expect(
      await query(
        wh,
        `SELECT count(*)::INTEGER AS n FROM tags.history WHERE tag = 'golf_lover' AND entity_id = 'c1'`,
      ),
    ).toEqual([{ n: 2 }]);
  });

  it('builds a subset of tags with what they depend on, keeping the others', async () => {
    const dir = await project();
    await build(dir, { asOf: '2025-03-31' });
    const r = await build(dir, { asOf: '2025-05-31', tags: ['golf_lover'] });
    expect(r.tags.map((t) => t.name).sort()).toEqual(['golf_count_60d', 'golf_lover']);
    const c1 = (await current(dir)).find((x) => x.entity_id === 'c1')!;
    expect(c1).toMatchObject({ golf_lover: false, golf_count_60d: 0, spend_90d: 650 });
    await expect(build(dir, { tags: ['golf_lovr'] })).rejects.toThrow(
      "unknown tag 'golf_lovr' (did you mean 'golf_lover'?)",
    );
  });
});

describe('profile and explain', () => {
  it('groups an entity’s values by category, now and from history', async () => {
    const dir = await project();
    await build(dir, { asOf: '2025-02-28' });
    await build(dir, { asOf: '2025-05-31' });
    const now = await profile(dir, 'c1');
    expect(now.source).toBe('current');
    expect(now.categories.preference!.map((t) => [t.name, t.value])).toEqual([
      ['golf_lover', false],
      ['online_share', 0.25],
      ['top_category', 'golf'],
    ]);
    const then = await profile(dir, 'c1', { asOf: '2025-03-15' });
    expect(then.source).toBe('history');
    expect(then.categories.preference!.find((t) => t.name === 'golf_lover')!.value).toBe(true);
    await expect(profile(dir, 'nobody')).rejects.toThrow("no customer 'nobody' in the built tags");
  });

  it('explains a value with the aggregates that decided it and the events behind them', async () => {
    const dir = await project();
    await build(dir, { asOf: '2025-03-31' });
    const ev = await explain(dir, 'c1', 'golf_count_60d');
    expect(ev.value).toBe(2);
    expect(ev.reason).toBe("count(where category = 'golf', last 60d) = 2 -> 2");
    expect(ev.aggregates[0]!.window).toEqual({
      text: 'last 60d',
      from: '2025-01-30T14:59:59.999Z',
      to: '2025-03-31T14:59:59.999Z',
    });
    expect(ev.aggregates[0]!.events.map((e) => e.eventId)).toEqual(['4', '2']);
    const derived = await explain(dir, 'c1', 'golf_lover');
    expect(derived.reason).toBe('golf_count_60d = 2 >= 2 -> true');
    expect(derived.inputs).toEqual([{ name: 'golf_count_60d', kind: 'tag', value: 2 }]);
    const spend = await explain(dir, 'c1', 'spend_90d', { limit: 2 });
    expect(spend.aggregates[0]!.events.map((e) => [e.eventId, e.value])).toEqual([
      ['4', 300],
      ['2', 200],
    ]);
  });
});
