/**
 * The tag kinds affinity, recurrence, onset and shift: exact examples, and random worlds on which the
 * DuckDB compiler and the reference evaluator must agree for every entity and output.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RefValue } from '../../src/lang/functions.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import {
  compile,
  differences,
  loadTables,
  micros,
  type ReferenceData,
  referenceValues,
  serially,
  sqlValues,
} from './harness.js';
import { KINDS_TAGS } from './kinds-fixture.js';

const DAY = 86_400_000_000;
const T = micros('2025-06-30T12:00:00Z');
const TZ = 'Asia/Seoul';

let wh: Warehouse;
beforeAll(async () => {
  wh = await Warehouse.open(':memory:');
});
afterAll(() => wh.close());

function data(
  rows: readonly { id: string; daysAgo: number; category: string; amount?: number; channel?: string }[],
): ReferenceData {
  return {
    events: {
      tx: rows.map((r, i) => ({
        customer_id: r.id,
        ts: T - Math.round(r.daysAgo * DAY),
        amount: r.amount ?? 10,
        qty: null,
        channel: r.channel ?? 'offline',
        category: r.category,
        online: null,
        day: null,
        _file_id: 1,
        _row: i,
      })),
      visits: [],
    },
    profiles: { customers: [] },
  };
}

async function both(d: ReferenceData): Promise<Map<string | number, Record<string, RefValue>>> {
  const program = compile(KINDS_TAGS, TZ);
  await loadTables(wh, d);
  const sql = await sqlValues(wh, program, T);
  const ref = referenceValues(program, d, T);
  expect(differences(program, sql, ref)).toEqual([]);
  return ref;
}

describe('recurrence', () => {
  it('finds a 21-day cycle, ignores a top-up purchase and a skipped cycle, and predicts the next one', async () => {
    // Every 21 days, a top-up 3 days after one purchase, and one skipped cycle (a 42-day gap).
    const days = [168, 147, 126, 123, 105, 63, 42, 21, 0.5];
    const v = (await both(data(days.map((d) => ({ id: 'c1', daysAgo: d, category: 'pet' }))))).get('c1')!;
    expect(v.cyc).toBe(true);
    expect(v.cyc_period_days).toBe(21);
    expect(v.cyc_cycles).toBe(8);
    expect(v.cyc_overdue).toBe(false);
    const due = v.cyc_next_due as number;
    expect(Math.round((due - (T - 0.5 * DAY)) / DAY)).toBe(21);
    expect(v.due_soon).toBe(false);
  });

  it('is not a cycle when the purchases stopped long ago, or are irregular, or too few', async () => {
    const all = await both(
      data([
        ...[200, 179, 158, 137, 116, 95].map((d) => ({ id: 'stopped', daysAgo: d - 20, category: 'pet' })),
        ...[170, 165, 120, 30, 25, 2].map((d) => ({ id: 'irregular', daysAgo: d, category: 'pet' })),
        ...[40, 20].map((d) => ({ id: 'few', daysAgo: d, category: 'pet' })),
      ]),
    );
    expect(all.get('stopped')!.cyc).toBe(false);
    expect(all.get('irregular')!.cyc).toBe(false);
    expect(all.get('few')!.cyc).toBe(false);
    expect(all.get('few')!.cyc_cycles).toBe(2);
  });
});

describe('affinity', () => {
  it('ranks what an entity prefers over the population, with shrinkage against one-off purchases', async () => {
    const rows = [
      // Population: mostly grocery.
      ...Array.from({ length: 30 }, (_, i) => ({
        id: `p${i % 10}`,
        daysAgo: 10 + i,
        category: 'grocery',
        amount: 50,
      })),
      { id: 'p1', daysAgo: 5, category: 'golf', amount: 20 },
      // c1 plays golf a lot; c2 played once (a one-off): no preference.
      ...Array.from({ length: 6 }, (_, i) => ({
        id: 'c1',
        daysAgo: 3 + i * 20,
        category: 'golf',
        amount: 100,
      })),
      { id: 'c1', daysAgo: 4, category: 'grocery', amount: 50 },
      { id: 'c2', daysAgo: 4, category: 'golf', amount: 500 },
      ...Array.from({ length: 5 }, (_, i) => ({ id: 'c2', daysAgo: 6 + i, category: 'grocery', amount: 50 })),
    ];
    const all = await both(data(rows));
    const c1 = all.get('c1')!.fav as { value: string; score: number }[];
    expect(c1.map((x) => x.value)).toEqual(['golf']);
    expect(c1[0]!.score).toBeGreaterThan(2);
    expect(all.get('c2')!.fav).toEqual([]);
  });
});

describe('onset and shift', () => {
  it('detects a start after a quiet baseline, a stop, and a change of the dominant value', async () => {
    const rows = [
      // starter: history since 150 days, baby purchases only in the last 30 days.
      { id: 'starter', daysAgo: 150, category: 'grocery' },
      { id: 'starter', daysAgo: 20, category: 'baby' },
      { id: 'starter', daysAgo: 5, category: 'baby' },
      // stopper: golf in the baseline, none recently.
      ...[110, 90, 70, 40].map((d) => ({ id: 'stopper', daysAgo: d, category: 'golf' })),
      { id: 'stopper', daysAgo: 3, category: 'grocery' },
      // mover: offline before, online now.
      ...[110, 100, 90, 80, 70].map((d) => ({
        id: 'mover',
        daysAgo: d,
        category: 'grocery',
        channel: 'offline',
      })),
      ...[25, 15, 10, 5].map((d) => ({ id: 'mover', daysAgo: d, category: 'grocery', channel: 'online' })),
    ];
    const all = await both(data(rows));
    expect(all.get('starter')).toMatchObject({ started: true, started_since: T - 20 * DAY });
    expect(all.get('stopper')).toMatchObject({ stopped: true, stopped_since: T - 40 * DAY, started: false });
    expect(all.get('mover')).toMatchObject({
      moved: true,
      moved_from: 'offline',
      moved_to: 'online',
      moved_since: T - 25 * DAY,
    });
    expect(all.get('starter')!.started_confidence as number).toBeGreaterThan(0.5);
  });
});

describe('SQL and reference agree on random worlds for every kind', () => {
  const row = fc.record({
    id: fc.constantFrom('a', 'b', 'c', 'd'),
    daysAgo: fc.oneof(fc.integer({ min: 0, max: 400 }), fc.constantFrom(30, 120, 180, 365)),
    category: fc.constantFrom('pet', 'baby', 'golf', 'grocery', 'cafe'),
    amount: fc.integer({ min: -2, max: 40 }).map((x) => x * 2.5),
    channel: fc.constantFrom('offline', 'online', 'app'),
  });
  it('random events', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(row, { maxLength: 80 }),
        serially(async (rows) => {
          const program = compile(KINDS_TAGS, TZ);
          const d = data(rows);
          await loadTables(wh, d);
          const sql = await sqlValues(wh, program, T);
          const ref = referenceValues(program, d, T);
          expect(differences(program, sql, ref)).toEqual([]);
        }),
      ),
      { numRuns: 60, interruptAfterTimeLimit: 30_000 },
    );
  });
});
