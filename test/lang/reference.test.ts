/**
 * The meaning of tags, by example: small worlds with exact expected values. Every example is also
 * built by the DuckDB compiler, which must agree with the reference evaluator on every entity and tag.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { RefValue } from '../../src/lang/functions.js';
import { loadReferenceData } from '../../src/reference/load.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import {
  compile,
  differences,
  loadTables,
  micros,
  type ReferenceData,
  type RefRow,
  referenceValues,
  sqlValues,
} from './harness.js';

const US = 1_000_000;
const DAY = 86_400 * US;
const HOUR = 3_600 * US;
/** The as-of time of most examples: noon UTC, the day of the spring DST change in Paris. */
const T = micros('2025-03-30T12:00:00Z');

let wh: Warehouse;
beforeAll(async () => {
  wh = await Warehouse.open(':memory:');
});
afterAll(() => wh.close());

interface Tx {
  readonly id?: string | null;
  readonly ts: number | null;
  readonly amount?: number | null;
  readonly qty?: number | null;
  readonly channel?: string | null;
  readonly category?: string | null;
  readonly online?: boolean | null;
  readonly day?: number | null;
  readonly file?: number;
}

/** A world of transactions (customer c1 unless said otherwise), plus optional visits and customers. */
function world(
  tx: readonly Tx[],
  more: { visits?: readonly RefRow[]; customers?: readonly RefRow[] } = {},
): ReferenceData {
  return {
    events: {
      tx: tx.map((r, i) => ({
        customer_id: r.id === undefined ? 'c1' : r.id,
        ts: r.ts,
        amount: r.amount ?? null,
        qty: r.qty ?? null,
        channel: r.channel ?? null,
        category: r.category ?? null,
        online: r.online ?? null,
        day: r.day ?? null,
        _file_id: r.file ?? 1,
        _row: i,
      })),
      visits: (more.visits ?? []).map((r, i) => ({ _file_id: 1, _row: i, ...r })),
    },
    profiles: { customers: more.customers ?? [] },
  };
}

/** One aggregate tag per `name: value` pair (on tx, or on visits when the name starts with `v_`). */
function tagsYaml(values: Record<string, string>, extra: Record<string, string> = {}): string {
  return Object.entries(values)
    .map(([name, value]) =>
      [
        `- name: ${name}`,
        '  description: An example tag.',
        '  category: behavior',
        ...(extra[name] === 'derived' ? [] : [`  from: ${name.startsWith('v_') ? 'visits' : 'tx'}`]),
        `  value: ${JSON.stringify(value)}`,
      ].join('\n'),
    )
    .join('\n');
}

/**
 * Build `values` over `data` as of `asOf` with both engines, check they agree, and return the
 * reference's values by entity.
 */
async function build(
  values: Record<string, string>,
  data: ReferenceData,
  opts: { asOf?: number; timezone?: string; derived?: readonly string[] } = {},
): Promise<Map<string | number, Record<string, RefValue>>> {
  const asOf = opts.asOf ?? T;
  const program = compile(
    tagsYaml(values, Object.fromEntries((opts.derived ?? []).map((n) => [n, 'derived']))),
    opts.timezone ?? 'Europe/Paris',
  );
  await loadTables(wh, data);
  const sql = await sqlValues(wh, program, asOf);
  const ref = referenceValues(program, data, asOf);
  expect(differences(program, sql, ref)).toEqual([]);
  return ref;
}

/** The values of entity `id` (c1 by default). */
async function valuesOf(
  values: Record<string, string>,
  data: ReferenceData,
  opts: { asOf?: number; timezone?: string; derived?: readonly string[]; id?: string } = {},
): Promise<Record<string, RefValue>> {
  const all = await build(values, data, opts);
  const v = all.get(opts.id ?? 'c1');
  if (!v) throw new Error(`no values for ${opts.id ?? 'c1'}`);
  return v;
}

describe('windows', () => {
  test('count over last 7d excludes an event exactly at T - 7d and includes one at T', async () => {
    const v = await valuesOf(
      { n: 'count(last 7d)', n_ever: 'count(ever)' },
      world([{ ts: T - 7 * DAY }, { ts: T - 7 * DAY + 1 }, { ts: T }, { ts: T + 1 }]),
    );
    expect(v).toEqual({ n: 2, n_ever: 3 });
  });

  test("between 30d and 7d ago includes T - 7d and excludes T - 30d (the tag's window is the default)", async () => {
    const data = world([
      { ts: T - 30 * DAY },
      { ts: T - 30 * DAY + 1 },
      { ts: T - 7 * DAY },
      { ts: T - 7 * DAY + 1 },
    ]);
    const v = await valuesOf({ n: 'count(between 30d and 7d ago)', w: 'count(window last 1h)' }, data);
    expect(v).toEqual({ n: 2, w: 0 });
  });

  test('durations are exact seconds: last 1d reaches back 24 hours across a DST change', async () => {
    // Paris moved from +01:00 to +02:00 at 01:00 UTC on 2025-03-30: the local day was 23 hours long.
    const data = world([{ ts: T - DAY + 1 }, { ts: T - 23 * HOUR - 1 }, { ts: T - DAY }]);
    expect(await valuesOf({ n: 'count(last 1d)' }, data)).toEqual({ n: 2 });
  });

  test('time ± duration and as_of: events of the last hour before T', async () => {
    const data = world([{ ts: T - HOUR }, { ts: T - HOUR + 1 }, { ts: T }]);
    const v = await valuesOf(
      {
        n: 'count_if(ts > as_of - 1h)',
        late: 'last_time() + 90m',
      },
      data,
    );
    expect(v).toEqual({ n: 2, late: T + 90 * 60 * US });
  });
});

describe('aggregates', () => {
  test('over no rows, count and sum are 0, top is empty, and the rest is null', async () => {
    const data = world([{ ts: T - DAY, amount: 5, channel: 'web' }], {
      customers: [{ customer_id: 'c2', age: 30 }],
    });
    const v = await valuesOf(
      {
        n: 'count()',
        s: 'sum(amount)',
        a: 'avg(amount)',
        lo: 'min(amount)',
        f: 'last(channel)',
        ft: 'first_time()',
        sh: 'share(online)',
        sd: 'stddev(amount)',
        dc: 'distinct_count(channel)',
        tp: 'top(channel, 2)',
        am: 'argmax(channel)',
        since: 'days_since_last()',
      },
      data,
      { id: 'c2' },
    );
    expect(v).toEqual({
      n: 0,
      s: 0,
      a: null,
      lo: null,
      f: null,
      ft: null,
      sh: null,
      sd: null,
      dc: 0,
      tp: [],
      am: null,
      since: null,
    });
  });

  test('count(x), sum, avg, min, max and distinct_count ignore null values; sum of only nulls is 0', async () => {
    const data = world([
      { ts: T - 3 * DAY, amount: 2.5, channel: 'web' },
      { ts: T - 2 * DAY, amount: null, channel: 'web' },
      { ts: T - DAY, amount: -1.25, channel: null },
      { ts: T - DAY, amount: null, channel: 'shop', id: 'c2' },
    ]);
    const all = await build(
      {
        n: 'count()',
        nx: 'count(amount)',
        s: 'sum(amount)',
        a: 'avg(amount)',
        lo: 'min(amount)',
        hi: 'max(channel)',
        dc: 'distinct_count(channel)',
      },
      data,
    );
    expect(all.get('c1')).toEqual({ n: 3, nx: 2, s: 1.25, a: 0.625, lo: -1.25, hi: 'web', dc: 1 });
    expect(all.get('c2')).toEqual({ n: 1, nx: 0, s: 0, a: null, lo: null, hi: 'shop', dc: 1 });
  });

  test('first and last skip null values and break ties in time by _file_id, then _row', async () => {
    const data = world([
      { ts: T - 2 * DAY, channel: null },
      { ts: T - 2 * DAY + 1, channel: 'b', file: 2 },
      { ts: T - 2 * DAY + 1, channel: 'a', file: 1 },
      { ts: T - DAY, channel: 'x', file: 1 },
      { ts: T - DAY, channel: 'y', file: 1 },
      { ts: T - DAY, channel: null, file: 3 },
    ]);
    const v = await valuesOf(
      { f: 'first(channel)', l: 'last(channel)', ft: 'first_time()', lt: 'last_time()' },
      data,
    );
    expect(v).toEqual({ f: 'a', l: 'y', ft: T - 2 * DAY, lt: T - DAY });
  });

  test('share counts rows where the condition is null as not true', async () => {
    const data = world([
      { ts: T - DAY, online: true },
      { ts: T - DAY, online: null },
      { ts: T - DAY, online: false },
      { ts: T - DAY, online: true },
    ]);
    expect(await valuesOf({ s: 'share(online)', t: 'share(not online)' }, data)).toEqual({
      s: 0.5,
      t: 0.25,
    });
  });

  test('stddev is the sample standard deviation, null under two values', async () => {
    const data = world([
      { ts: T - DAY, amount: 1 },
      { ts: T - DAY, amount: 2 },
      { ts: T - DAY, amount: 3 },
      { ts: T - DAY, amount: 4 },
      { ts: T - DAY, amount: 9, id: 'c2' },
    ]);
    const all = await build({ sd: 'stddev(amount)' }, data);
    expect(all.get('c1')?.sd).toBeCloseTo(Math.sqrt(5 / 3), 12);
    expect(all.get('c2')?.sd).toBeNull();
  });

  test('top ranks values by score, then by value ascending, and keeps k; argmax is the best value', async () => {
    const data = world([
      { ts: T - DAY, category: 'b', amount: 2 },
      { ts: T - DAY, category: 'a', amount: 1 },
      { ts: T - DAY, category: 'a', amount: 1 },
      { ts: T - DAY, category: 'c', amount: 2 },
      { ts: T - DAY, category: 'B', amount: 0.5 },
      { ts: T - DAY, category: null, amount: 100 },
    ]);
    const v = await valuesOf(
      {
        by_count: 'top(category, 2)',
        by_sum: 'top(category, 3, by sum(amount))',
        best: 'argmax(category, by sum(amount))',
        online_best: 'argmax(category, where online)',
      },
      data,
    );
    expect(v).toEqual({
      by_count: [
        { value: 'a', score: 2 },
        { value: 'B', score: 1 },
      ],
      by_sum: [
        { value: 'a', score: 2 },
        { value: 'b', score: 2 },
        { value: 'c', score: 2 },
      ],
      best: 'a',
      online_best: null,
    });
  });

  test('distinct_days counts local dates in the project time zone, across the DST change', async () => {
    // 2025-03-29 22:30 UTC is 23:30 in Paris (+01:00); 2025-03-29 23:30 UTC is 00:30 on the 30th.
    const data = world([
      { ts: micros('2025-03-29T22:30:00Z'), category: 'a' },
      { ts: micros('2025-03-29T23:30:00Z'), category: 'a' },
      { ts: micros('2025-03-30T01:30:00Z'), category: 'a' },
    ]);
    const paris = await valuesOf({ d: 'distinct_days()', t: 'top(category, 1, by distinct_days())' }, data);
    expect(paris).toEqual({ d: 2, t: [{ value: 'a', score: 2 }] });
    const utc = await valuesOf({ d: 'distinct_days()' }, data, { timezone: 'UTC' });
    expect(utc).toEqual({ d: 2 });
    const tokyo = await valuesOf({ d: 'distinct_days()' }, data, { timezone: 'Asia/Tokyo' });
    expect(tokyo).toEqual({ d: 1 });
  });

  test('days_since_last is fractional days from the last event to T', async () => {
    const data = world([{ ts: T - 36 * HOUR }]);
    expect(await valuesOf({ d: 'days_since_last()', f: 'days_since_first()' }, data)).toEqual({
      d: 1.5,
      f: 1.5,
    });
  });
});

describe('entities', () => {
  test('every entity with an event at or before T in any source, or a profile row, gets every tag', async () => {
    const data = world(
      [
        { ts: T - DAY, id: 'c1' },
        { ts: T + 1, id: 'late' },
        { ts: null, id: 'no_time' },
        { ts: T - DAY, id: null },
      ],
      {
        visits: [{ visitor: 'v1', at: T - HOUR, page: 'home' }],
        customers: [
          { customer_id: 'p1', region: 'eu' },
          { customer_id: null, region: 'us' },
        ],
      },
    );
    const all = await build({ n: 'count()', v_pages: 'count()', where_from: 'region' }, data, {
      derived: ['where_from'],
    });
    expect(Object.fromEntries([...all.entries()].sort())).toEqual({
      c1: { n: 1, v_pages: 0, where_from: null },
      p1: { n: 0, v_pages: 0, where_from: 'eu' },
      v1: { n: 0, v_pages: 1, where_from: null },
    });
  });

  test('a derived tag reads other tags and profile attributes; missing profile rows read as null', async () => {
    const data = world(
      [
        { ts: T - DAY, amount: 10 },
        { ts: T - DAY, amount: 30, id: 'c2' },
      ],
      {
        customers: [{ customer_id: 'c1', age: 70, vip: true }],
      },
    );
    const all = await build(
      {
        spend: 'sum(amount)',
        big_senior: 'spend > 5 and age >= 65',
        label: "case when big_senior then 'senior' when vip is null then 'unknown' else 'other' end",
      },
      data,
      { derived: ['big_senior', 'label'] },
    );
    expect(all.get('c1')).toEqual({ spend: 10, big_senior: true, label: 'senior' });
    expect(all.get('c2')).toEqual({ spend: 30, big_senior: null, label: 'unknown' });
  });
});

describe('scalars', () => {
  const one = world([{ ts: T - DAY, amount: -7, qty: 2, channel: 'web' }]);

  test('three-valued logic: in with a null item, and/or with null, comparisons with null', async () => {
    const v = await valuesOf(
      {
        in_miss: "first(channel in ('shop', null))",
        in_hit: "first(channel in ('web', null))",
        not_in: "first(channel not in ('shop', null))",
        and_f: 'first(null and false)',
        or_t: 'first(null or true)',
        cmp: 'first(amount > null)',
        isn: 'first(online is null)',
      },
      one,
    );
    expect(v).toEqual({
      in_miss: null,
      in_hit: true,
      not_in: null,
      and_f: false,
      or_t: true,
      cmp: null,
      isn: true,
    });
  });

  test('division and modulo by zero are null; modulo has the sign of the dividend', async () => {
    const v = await valuesOf(
      {
        div: 'first(amount / 0)',
        mod0: 'first(amount % 0)',
        mod: 'first(amount % 2)',
        r: 'ratio(sum(qty), 4)',
      },
      one,
    );
    expect(v).toEqual({ div: null, mod0: null, mod: -1, r: 0.5 });
  });

  test('round(x, n) rounds half away from zero to n decimals', async () => {
    const data = world([{ ts: T - DAY, amount: -2.25 }]);
    const v = await valuesOf(
      { r0: 'round(sum(amount))', r1: 'round(sum(amount), 1)', r2: 'round(sum(amount) * 2, max(qty))' },
      data,
    );
    expect(v).toEqual({ r0: -2, r1: -2.3, r2: null });
  });

  test('arithmetic is in doubles, even on large whole-number literals', async () => {
    const v = await valuesOf({ big: 'count() + 100000000000 * 100000000000 * 10000' }, one);
    expect(v.big).toBe(1e26 + 1);
  });

  test('a null argument makes a function null (calendar functions, days_between, has)', async () => {
    const v = await valuesOf(
      {
        h: 'count() + hour(null)',
        d: 'days_between(null, date(last_time()))',
        w: 'coalesce(is_weekend(null), false)',
        has_null: 'has(null, first(channel))',
        day_of: 'date(null)',
      },
      one,
      { derived: ['w', 'day_of'] },
    );
    expect(v).toEqual({ h: null, d: null, w: false, has_null: null, day_of: null });
  });

  test('calendar functions read local time in the project zone, or in the zone given', async () => {
    // T is 14:00 in Paris (+02:00 after the change), 08:00 in New York, 21:00 in Tokyo; a Sunday.
    const v = await valuesOf(
      {
        h: 'hour(last_time())',
        h_ny: "hour(last_time(), 'America/New_York')",
        wd: "weekday(as_of, 'Asia/Tokyo')",
        we: 'is_weekend(as_of)',
        dt: 'date(as_of)',
        m: 'month(as_of) * 100 + day(as_of)',
      },
      world([{ ts: T }]),
      { derived: ['wd', 'we', 'dt', 'm'] },
    );
    expect(v).toEqual({ h: 14, h_ny: 8, wd: 7, we: true, dt: 20177, m: 330 });
  });

  test('timestamp() reads ISO 8601 text to the microsecond, without an offset as UTC; date() reads YYYY-MM-DD', async () => {
    const v = await valuesOf(
      {
        micro: "timestamp('2025-11-02T05:59:59.999999Z')",
        offset: "timestamp('2025-03-30T02:30:00+01')",
        utc: "timestamp('2025-03-30 02:30')",
        bad: "timestamp('2025-02-30T00:00:00Z')",
        d: "date('2025-03-30')",
        d_bad: "date('2025-03-30T00:00:00Z')",
      },
      one,
      { derived: ['micro', 'offset', 'utc', 'bad', 'd', 'd_bad'] },
    );
    expect(v).toEqual({
      micro: micros('2025-11-02T05:59:59.999Z') + 999,
      offset: micros('2025-03-30T01:30:00Z'),
      utc: micros('2025-03-30T02:30:00Z'),
      bad: null,
      d: 20177,
      d_bad: null,
    });
  });

  test('days_between takes two times or two dates, not one of each', () => {
    expect(() => compile(tagsYaml({ d: 'days_between(last_time(), date(as_of))' }), 'UTC')).toThrow(
      /days_between\(\) must have one type/,
    );
  });
});

describe('as of', () => {
  test('a build as of T ignores events after T and equals a build on the data cut at T', async () => {
    const rows: Tx[] = [
      { ts: T - 10 * DAY, amount: 1, category: 'a' },
      { ts: T - DAY, amount: 2, category: 'b' },
      { ts: T + DAY, amount: 40, category: 'c' },
      { ts: T + 1, amount: 8, category: 'c', id: 'c3' },
    ];
    const tags = { s: 'sum(amount, last 30d)', t: 'top(category, 1, by sum(amount))', lt: 'last_time()' };
    const full = await build(tags, world(rows));
    const cut = await build(tags, world(rows.filter((r) => r.ts !== null && r.ts <= T)));
    expect(full).toEqual(cut);
    expect(full.get('c1')).toEqual({ s: 3, t: [{ value: 'b', score: 2 }], lt: T - DAY });
    expect(full.has('c3')).toBe(false);
  });
});

describe('loadReferenceData', () => {
  test('reads the sources of a warehouse so the reference can evaluate a real project', async () => {
    const data = world(
      [
        { ts: T - DAY, amount: 2.5, qty: 3, channel: 'web', online: true, day: 20176 },
        { ts: T - 2 * DAY, amount: null, category: 'a', id: 'c2', file: 2 },
      ],
      { customers: [{ customer_id: 'c1', age: 41, signup: 20000, since: T - 400 * DAY, vip: false }] },
    );
    const program = compile(
      tagsYaml({ s: 'sum(amount + qty)', d: 'min(day)', t: 'first_time()', a: 'coalesce(age, 0) + count()' }),
      'Europe/Paris',
    );
    await loadTables(wh, data);
    const loaded = await loadReferenceData(wh, program);
    expect(loaded.events.tx).toEqual(data.events.tx);
    expect(loaded.profiles.customers).toEqual([
      { customer_id: 'c1', age: 41, region: null, vip: false, signup: 20000, since: T - 400 * DAY },
    ]);
    const sql = await sqlValues(wh, program, T);
    expect(differences(program, sql, referenceValues(program, loaded, T))).toEqual([]);
  });
});
