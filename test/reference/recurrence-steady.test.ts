/**
 * recurrenceSteadyUntil: the incremental engine keeps a recurrence value across as-of times below the
 * time it returns, so recurrenceAt must answer the same at every such time. Checked on random cycles
 * read at random later times, and on the exact thresholds (where regularity ends, overdue starts).
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { type CycleStats, recurrenceAt, recurrenceSteadyUntil } from '../../src/reference/kinds.js';
import { compile } from '../lang/harness.js';
import { KINDS_TAGS } from '../lang/kinds-fixture.js';

const DAY = 86_400_000_000;
const T0 = Date.UTC(2025, 5, 30, 12) * 1000;
const program = compile(KINDS_TAGS, 'Asia/Seoul');
const byChannel = program.tags.find((t) => t.name === 'cyc_by_channel')!.aggregates[0]!;

const cycle: fc.Arbitrary<CycleStats> = fc
  .record({
    eligible: fc.boolean(),
    period: fc.option(fc.double({ min: 1, max: 60, noNaN: true }), { nil: null }),
    cv: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: null }),
    cycles: fc.integer({ min: 1, max: 12 }),
    lastDaysAgo: fc.oneof(fc.integer({ min: 0, max: 200 }), fc.double({ min: 0, max: 200, noNaN: true })),
  })
  .map((c) => ({
    eligible: c.eligible && c.period !== null,
    period: c.period,
    cv: c.cv,
    cycles: c.cycles,
    last: T0 - Math.round(c.lastDaysAgo * DAY),
    value: null,
  }));

/** Cycles with distinct values (recurrenceCycles groups by value). */
const cycles = fc
  .array(cycle, { minLength: 1, maxLength: 4 })
  .map((cs) => cs.map((c, i) => ({ ...c, value: ['app', 'offline', 'online', 'kiosk'][i]! })));

describe('recurrenceSteadyUntil', () => {
  test('recurrenceAt is the same at every as-of time from asOf up to the steady time', () => {
    fc.assert(
      fc.property(
        cycles,
        fc.integer({ min: 0, max: 400 * 24 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 8 }),
        (cs, hoursAfter, fractions) => {
          const asOf = T0 + hoursAfter * 3_600_000_000;
          const value = recurrenceAt(byChannel, cs, asOf);
          const until = recurrenceSteadyUntil(cs, value, asOf);
          if (until <= asOf) return;
          // Up to a year ahead when the value never changes again.
          const span = Math.min(until, asOf + 365 * DAY) - asOf;
          for (const f of [...fractions, 0.999999]) {
            const T = asOf + Math.floor(f * span);
            if (T >= until) continue;
            const later = recurrenceAt(byChannel, cs, T);
            if (!isDeepStrictEqual(later, value)) {
              throw new Error(`changed at ${T} (steady until ${until}): ${JSON.stringify({ value, later })}`);
            }
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('stops before regularity ends and before overdue starts', () => {
    // One regular cycle, 10-day period, last purchase 14 days before T0: regular and overdue (14 > 10 +
    // 2.5) already; it stops being regular 25 days after its last purchase.
    const regular: CycleStats = {
      eligible: true,
      period: 10,
      cv: 0.1,
      cycles: 6,
      last: T0 - 14 * DAY,
      value: 'app',
    };
    const v = recurrenceAt(byChannel, [regular], T0)!;
    expect(v).toMatchObject({ regular: true, overdue: true });
    const until = recurrenceSteadyUntil([regular], v, T0);
    const ends = regular.last + 25 * DAY;
    expect(until).toBeLessThanOrEqual(ends);
    expect(until).toBeGreaterThan(ends - 60_000_000);
    expect(recurrenceAt(byChannel, [regular], ends + 1)).toMatchObject({ regular: false, overdue: false });

    // Last purchase 5 days before T0: not overdue yet; it becomes overdue after 10 + 2.5 days.
    const recent = { ...regular, last: T0 - 5 * DAY };
    const r = recurrenceAt(byChannel, [recent], T0)!;
    expect(r).toMatchObject({ regular: true, overdue: false });
    const due = recent.last + 12.5 * DAY;
    const untilDue = recurrenceSteadyUntil([recent], r, T0);
    expect(untilDue).toBeLessThanOrEqual(due);
    expect(untilDue).toBeGreaterThan(due - 60_000_000);
    expect(recurrenceAt(byChannel, [recent], due + 1)).toMatchObject({ regular: true, overdue: true });

    // Nothing eligible: the value never changes with time alone.
    const irregular = { ...regular, eligible: false };
    expect(recurrenceSteadyUntil([irregular], recurrenceAt(byChannel, [irregular], T0), T0)).toBe(
      Number.POSITIVE_INFINITY,
    );
  });
});
