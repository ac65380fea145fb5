/**
 * The incremental evaluator against the batch SQL compiler: random tag files over random event
 * streams (events arriving mostly in time order, some late), read at several increasing as-of times,
 * must give the batch values of the data that had arrived, for every entity and tag.
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { TagProgram } from '../../src/lang/ir.js';
import { type EntityId, IncrementalEngine, type TagValues } from '../../src/realtime/engine.js';
import type { ReferenceData, RefRow } from '../../src/reference/evaluator.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import { tagFileArb, type World, worldArb } from '../lang/generators.js';
import { compile, differences, loadTables, SOURCES, serially, sqlValues } from '../lang/harness.js';
import { KINDS_TAGS } from '../lang/kinds-fixture.js';

let wh: Warehouse;
beforeAll(async () => {
  wh = await Warehouse.open(':memory:');
});
afterAll(() => wh.close());

const seed = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : undefined;
/** FC_RUNS replays a seed's full run with no time budget (the budget can stop before a failing case). */
const runs = process.env.FC_RUNS !== undefined ? Number(process.env.FC_RUNS) : undefined;

/** Events of a world in arrival order: by time, except a few that arrive late. */
function arrivals(data: ReferenceData, lateEvery: number): { source: string; row: RefRow }[] {
  const out: { source: string; row: RefRow; t: number }[] = [];
  for (const s of SOURCES) {
    if (s.kind !== 'events') continue;
    for (const row of data.events[s.name] ?? []) {
      const t = row[s.timeColumn!] as number | null;
      if (t === null || row[s.entityKey] === null) continue;
      out.push({ source: s.name, row, t });
    }
  }
  out.sort((a, b) => a.t - b.t || (a.row._row as number) - (b.row._row as number));
  // Move every `lateEvery`-th event a few places later: out-of-order arrivals.
  for (let i = lateEvery; lateEvery > 0 && i < out.length - 3; i += lateEvery) {
    const [late] = out.splice(i, 1);
    out.splice(i + 3, 0, late!);
  }
  return out;
}

/**
 * Add events to the engine. With `readEvery`, every so many events the event's entity is also read as
 * of the newest event time so far (as the server does), so later reads re-evaluate only what changed.
 * Each read takes what the server sends (engine.updateAt) into `served` and checks it against the whole
 * values. Returns that newest time: the next feed starts from it (the server's clock never goes back, and a
 * late event must not make it read an entity before a time it was already read at).
 */
function feed(
  engine: IncrementalEngine,
  program: TagProgram,
  events: readonly { source: string; row: RefRow }[],
  readEvery = 0,
  since = Number.NEGATIVE_INFINITY,
  served = new Map<EntityId, TagValues>(),
): number {
  let newest = since;
  events.forEach(({ source, row }, i) => {
    const entity = row[program.entityKeys[source]!] as EntityId;
    const time = row[program.timeColumns[source]!] as number;
    engine.add({
      source,
      entity,
      time,
      fileId: row._file_id as number,
      row: row._row as number,
      data: row,
    });
    newest = Math.max(newest, time);
    if (readEvery > 0 && i % readEvery === 0) {
      // As the server reads: only the tags that changed once an entity is served. Those, applied over
      // what was sent before, must be the entity's whole values.
      const update = engine.updateAt(entity, newest, served.has(entity));
      const sent = { ...served.get(entity), ...update };
      served.set(entity, sent);
      const whole = engine.valuesAt(entity, newest);
      if (!isDeepStrictEqual(sent, whole)) {
        throw new Error(
          `updates of ${String(entity)} at ${newest} add up to ${JSON.stringify(sent)}, not ${JSON.stringify(whole)}`,
        );
      }
    }
  });
  return newest;
}

async function compareAt(
  program: TagProgram,
  engine: IncrementalEngine,
  data: ReferenceData,
  asOf: number,
): Promise<string[]> {
  await loadTables(wh, data);
  const sql = await sqlValues(wh, program, asOf);
  const inc = engine.allValuesAt(asOf) as Map<string | number, TagValues>;
  return differences(program, sql, inc, ['sql', 'incremental']);
}

describe('the incremental evaluator agrees with batch SQL', () => {
  test(
    'on random tags over random event streams, read at increasing as-of times (and, some runs, after events as they arrive)',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          tagFileArb,
          worldArb,
          fc.integer({ min: 0, max: 7 }),
          fc.integer({ min: 0, max: 3 }),
          serially(async (yaml, world: World, lateEvery, readEvery) => {
            const program = compile(yaml, world.timezone);
            const engine = new IncrementalEngine(program);
            for (const s of SOURCES)
              if (s.kind === 'profile') engine.setProfiles(s.name, world.data.profiles[s.name] ?? []);
            const stream = arrivals(world.data, lateEvery);
            // Three reads: after half the events (as of the half-way time), and twice at the end.
            const half = Math.floor(stream.length / 2);
            const times = stream.map((e) => (e.row.ts ?? e.row.at) as number);
            const early = half > 0 ? Math.max(...times.slice(0, half)) : world.asOf - 1;
            const served = new Map<EntityId, TagValues>();
            const newest = feed(engine, program, stream.slice(0, half), readEvery, undefined, served);
            const arrived: ReferenceData = {
              events: {
                tx: stream
                  .slice(0, half)
                  .filter((e) => e.source === 'tx')
                  .map((e) => e.row),
                visits: stream
                  .slice(0, half)
                  .filter((e) => e.source === 'visits')
                  .map((e) => e.row),
              },
              profiles: world.data.profiles,
            };
            const asOfEarly = Math.min(early, world.asOf);
            let diffs = await compareAt(program, engine, arrived, asOfEarly);
            if (diffs.length > 0) throw new Error([...diffs, `early read at ${asOfEarly}`, yaml].join('\n'));
            feed(engine, program, stream.slice(half), readEvery, Math.max(newest, asOfEarly), served);
            for (const asOf of [world.asOf, world.asOf + 3_600_000_000]) {
              diffs = await compareAt(program, engine, world.data, asOf);
              if (diffs.length > 0) throw new Error([...diffs, `read at ${asOf}`, yaml].join('\n'));
            }
          }),
        ),
        {
          numRuns: runs ?? 150,
          ...(runs === undefined ? { interruptAfterTimeLimit: 45_000, markInterruptAsFailure: false } : {}),
          ...(seed !== undefined ? { seed } : {}),
        },
      );
    },
    runs === undefined ? 120_000 : 3_600_000,
  );

  test('a read in the past after a later one is recomputed, not served stale, within the retained history', async () => {
    const program = compile(
      `- name: n7
  description: payments in 7 days
  category: behavior
  from: tx
  window: last 7d
  value: count()
`,
      'UTC',
    );
    const engine = new IncrementalEngine(program);
    const day = 86_400_000_000;
    const t0 = Date.UTC(2025, 0, 10) * 1000;
    for (const d of [0, 1, 2, 8]) {
      engine.add({
        source: 'tx',
        entity: 'c1',
        time: t0 + d * day,
        data: { customer_id: 'c1', ts: t0 + d * day },
      });
    }
    expect(engine.valuesAt('c1', t0 + 8 * day).n7).toBe(2);
    expect(engine.valuesAt('c1', t0 + 2 * day).n7).toBe(3);
    expect(engine.valuesAt('c1', t0 + 20 * day).n7).toBe(0);
    // Events far behind the longest window (plus a week) are dropped: such old reads are refused.
    engine.valuesAt('c1', t0 + 40 * day);
    expect(() => engine.valuesAt('c1', t0 + 3 * day)).toThrow(/are no longer kept/);
  });
});

describe('aggregates over ever keep a summary, not every event', () => {
  // serially: see the shift test below.
  test(
    'count, sum, avg, share, first and last time (filtered or not) over ever equal batch SQL while old events are dropped',
    serially(async () => {
      const program = compile(
        `- name: n_ever
  description: payments ever
  category: behavior
  from: tx
  window: ever
  value: count()
- name: online_sum_ever
  description: online spend ever
  category: behavior
  from: tx
  window: ever
  value: sum(amount, where channel = 'online')
- name: avg_ever
  description: average ticket ever
  category: behavior
  from: tx
  window: ever
  value: avg(amount)
- name: online_share_ever
  description: share of online payments ever
  category: behavior
  from: tx
  window: ever
  value: share(channel = 'online')
- name: first_ever
  description: first payment
  category: behavior
  from: tx
  window: ever
  value: first_time()
- name: first_app_ever
  description: first app payment
  category: behavior
  from: tx
  window: ever
  value: first_time(where channel = 'app')
- name: last_offline_ever
  description: last offline payment
  category: behavior
  from: tx
  window: ever
  value: last_time(where channel = 'offline')
- name: n_7d
  description: payments in 7 days
  category: behavior
  from: tx
  window: last 7d
  value: count()
`,
        'UTC',
      );
      const day = 86_400_000_000;
      const t0 = Date.UTC(2025, 0, 1) * 1000;
      const channels = ['online', 'offline', 'app', null];
      // Two customers, 120 days of payments, a few a day; c2 pays offline only in the first weeks.
      const tx: RefRow[] = [];
      for (let d = 0; d < 120; d++) {
        for (let k = 0; k < 3; k++) {
          for (const id of ['c1', 'c2']) {
            const channel = id === 'c2' && d > 20 && k !== 0 ? 'online' : channels[(d * 3 + k) % 4]!;
            tx.push({
              customer_id: id,
              ts: t0 + d * day + k * 3_600_000_000,
              amount: k === 2 && d % 5 === 0 ? null : (d % 7) * 2.5 + k,
              qty: null,
              channel,
              category: null,
              online: null,
              day: null,
              _file_id: 1,
              _row: tx.length,
            });
          }
        }
      }
      const engine = new IncrementalEngine(program);
      const events = arrivals({ events: { tx, visits: [] }, profiles: { customers: [] } }, 9);
      // Read as events arrive (every 25th), then compare with SQL over what arrived, at a few points.
      let next = 0;
      for (const stop of [100, 400, events.length]) {
        const newest = feed(engine, program, events.slice(next, stop), 25);
        next = stop;
        const arrived = events.slice(0, stop).map((e) => e.row);
        const data: ReferenceData = { events: { tx: arrived, visits: [] }, profiles: { customers: [] } };
        const diffs = await compareAt(program, engine, data, newest);
        expect(diffs, `after ${stop} events`).toEqual([]);
      }
      // Only the last 7 days (the longest window) plus the 7 days kept for late reads stay buffered.
      expect(engine.bufferedEvents('c1', 'tx')).toBeLessThanOrEqual(3 * 16);
      // A late event older than anything buffered still counts once.
      const late = { ...tx[0]!, ts: t0 - day, amount: 1000, channel: 'app', _row: tx.length };
      engine.add({
        source: 'tx',
        entity: 'c1',
        time: late.ts as number,
        fileId: 1,
        row: tx.length,
        data: late,
      });
      const all: ReferenceData = { events: { tx: [...tx, late], visits: [] }, profiles: { customers: [] } };
      const end = t0 + 120 * day;
      expect(await compareAt(program, engine, all, end)).toEqual([]);
    }),
  );
});

describe('the incremental evaluator agrees with batch SQL on tag kinds', () => {
  const DAY = 86_400_000_000;
  const T = Date.UTC(2025, 5, 30, 12) * 1000;
  /** A payment of the tag-kinds world, `daysAgo` days before T, the `i`-th in its file. */
  const txRow = (
    r: { id: string; daysAgo: number; amount: number; channel: string; category: string },
    i: number,
  ) => ({
    customer_id: r.id,
    ts: T - r.daysAgo * DAY,
    amount: r.amount,
    qty: null,
    channel: r.channel,
    category: r.category,
    online: null,
    day: null,
    _file_id: 1,
    _row: i,
  });
  const row = fc.record({
    id: fc.constantFrom('a', 'b', 'c', 'd'),
    daysAgo: fc.oneof(fc.integer({ min: 0, max: 400 }), fc.constantFrom(30, 120, 180, 365)),
    category: fc.constantFrom('pet', 'baby', 'golf', 'grocery', 'cafe'),
    amount: fc.integer({ min: -2, max: 40 }).map((x) => x * 2.5),
    channel: fc.constantFrom('offline', 'online', 'app'),
  });
  test('random streams read at several times', async () => {
    const program = compile(KINDS_TAGS, 'Asia/Seoul');
    const favId = program.tags.find((t) => t.name === 'fav')!.aggregates[0]!.id;
    await fc.assert(
      fc.asyncProperty(
        fc.array(row, { maxLength: 80 }),
        serially(async (rows) => {
          const tx = rows.map(txRow);
          const data: ReferenceData = { events: { tx, visits: [] }, profiles: { customers: [] } };
          const engine = new IncrementalEngine(program);
          feed(engine, program, arrivals(data, 5));
          // Reads a few days apart: between them rows cross the bounds of windows fixed relative to
          // as-of (a shift's baseline and detection, a recurrence's "recent") with often no row
          // entering or leaving the aggregate's range, so values kept across as-of times are checked.
          // The server's mode too: affinity populations follow each row counted (entering or leaving
          // a window), and must equal the populations recomputed from every entity at the same time.
          const served = new IncrementalEngine(program, program.tags, { affinity: 'incremental' });
          feed(served, program, arrivals(data, 5));
          for (const asOf of [T - 20 * DAY, T - 14 * DAY, T - 9 * DAY, T - 5 * DAY, T - 2 * DAY, T]) {
            const diffs = await compareAt(program, engine, data, asOf);
            if (diffs.length > 0) throw new Error([...diffs, `read at ${asOf}`].join('\n'));
            served.allValuesAt(asOf);
            const running = served.populationShares(favId);
            served.refreshPopulation(asOf);
            const exact = served.populationShares(favId);
            const near = (x: number | undefined, y: number) => x !== undefined && Math.abs(x - y) <= 1e-9;
            if (
              running.size !== exact.size ||
              [...exact].some(([v, share]) => !near(running.get(v), share))
            ) {
              throw new Error(
                `running population ${JSON.stringify([...running])} != ${JSON.stringify([...exact])} at ${asOf}`,
              );
            }
            const diffsServed = differences(
              program,
              engine.allValuesAt(asOf) as Map<string | number, TagValues>,
              served.allValuesAt(asOf) as Map<string | number, TagValues>,
              ['exact', 'served'],
            );
            if (diffsServed.length > 0) throw new Error([...diffsServed, `read at ${asOf}`].join('\n'));
          }
        }),
      ),
      { numRuns: 60, interruptAfterTimeLimit: 30_000, markInterruptAsFailure: false },
    );
  }, 60_000);

  // serially: the property above may have left a run going in the background (interrupted at its
  // time limit) that would load its own rows into the shared warehouse meanwhile.
  test(
    'a shift read again later, with no new rows, follows rows moving from detection into baseline',
    serially(async () => {
      const program = compile(KINDS_TAGS, 'Asia/Seoul');
      // Offline 40-100 days before T1, then the app 15, 20 and 25 days before it: moved at T1. Ten days
      // later two app rows are in the baseline (over 30 days old) and nothing entered or left the range.
      const days = [100, 90, 80, 70, 60, 50, 40, 25, 20, 15];
      const tx = days.map((d, i) =>
        txRow({ id: 'a', daysAgo: d, amount: 10, channel: d > 30 ? 'offline' : 'app', category: 'cafe' }, i),
      );
      const data: ReferenceData = { events: { tx, visits: [] }, profiles: { customers: [] } };
      const engine = new IncrementalEngine(program);
      feed(engine, program, arrivals(data, 0));
      expect(engine.valuesAt('a', T).moved).toBe(true);
      for (const asOf of [T, T + 10 * DAY]) {
        expect(await compareAt(program, engine, data, asOf)).toEqual([]);
      }
      expect(engine.valuesAt('a', T + 10 * DAY).moved).toBe(false);
    }),
  );

  test(
    'a recurrence read hour by hour with no new rows turns overdue, then irregular, when SQL does',
    serially(async () => {
      const program = compile(KINDS_TAGS, 'Asia/Seoul');
      // Pet purchases every 10 days in the app (last 5 days before T) and every 14 days offline (last 2
      // days before T): regular cycles that turn overdue and then irregular at different times over the
      // next 60 days (the app's first, so the strongest cycle changes from app to offline).
      const tx = [
        ...[75, 65, 55, 45, 35, 25, 15, 5].map((d) => ({ d, channel: 'app' })),
        ...[58, 44, 30.2, 16, 2].map((d) => ({ d, channel: 'offline' })),
      ].map(({ d, channel }, i) => txRow({ id: 'a', daysAgo: d, amount: 10, channel, category: 'pet' }, i));
      const data: ReferenceData = { events: { tx, visits: [] }, profiles: { customers: [] } };
      const engine = new IncrementalEngine(program);
      feed(engine, program, arrivals(data, 0));
      const HOUR = DAY / 24;
      const seen = new Set<string>();
      for (let h = 0; h <= 60 * 24; h += 1) {
        const asOf = T + h * HOUR;
        // The kept engine (values reused while steady) against one computing from scratch at this time.
        const fresh = new IncrementalEngine(program);
        feed(fresh, program, arrivals(data, 0));
        const kept = engine.valuesAt('a', asOf);
        expect(kept, `read at hour ${h}`).toEqual(fresh.valuesAt('a', asOf));
        seen.add(JSON.stringify(Object.entries(kept).filter(([k]) => k.startsWith('cyc'))));
        if (h % 48 === 0) expect(await compareAt(program, engine, data, asOf)).toEqual([]);
      }
      // The reads went through several values: overdue, then no longer regular, per cycle.
      expect(seen.size).toBeGreaterThanOrEqual(4);
    }),
  );
});
