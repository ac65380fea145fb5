/**
 * The meaning of the aggregates made by tag kinds — affinity, recurrence, shift — in plain loops
 * (docs/language.md, "Tag kinds that read people", is the specification).
 */
import type { ListItem, RefValue } from '../lang/functions.js';
import type { AffinityParams, Aggregate } from '../lang/ir.js';
import { localDateDays } from '../lang/time.js';
import { compareEvents, type EventRow, inWindow, type RowEval } from './aggregate.js';

const DAY_US = 86_400_000_000;

/** Rows of an entity that count for `a`: window and filter. */
function qualifying(a: Aggregate, events: readonly EventRow[], evalRow: RowEval, asOf: number): EventRow[] {
  return events.filter(
    (r) => inWindow(a.window, r.time, asOf) && (!a.filter || evalRow(a.filter, r) === true),
  );
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Round half away from zero (as SQL round). */
const roundAway = (x: number) => Math.sign(x) * Math.round(Math.abs(x));

// ---------- affinity ----------

/** Per entity: value -> (n rows, measure m), only values with m > 0. */
export type AffinityStats = Map<string, { n: number; m: number }>;

export function affinityStats(
  a: Aggregate,
  events: readonly EventRow[],
  evalRow: RowEval,
  asOf: number,
  tz: string,
): AffinityStats {
  const groups = new Map<string, EventRow[]>();
  for (const r of qualifying(a, events, evalRow, asOf)) {
    const v = evalRow(a.arg!, r);
    if (v === null) continue;
    const group = groups.get(v as string);
    if (group) group.push(r);
    else groups.set(v as string, [r]);
  }
  const measure = a.affinity!.measure;
  const out: AffinityStats = new Map();
  for (const [v, rows] of groups) {
    let m = 0;
    if (measure.fn === 'count') m = rows.length;
    else if (measure.fn === 'sum') {
      for (const r of rows) {
        const x = measure.arg ? evalRow(measure.arg, r) : null;
        if (x !== null) m += x as number;
      }
    } else m = new Set(rows.map((r) => localDateDays(r.time, tz))).size;
    if (m > 0) out.set(v, { n: rows.length, m });
  }
  return out;
}

/** Population share of each value: P(v) = sum over entities of m(e,v) / sum of all m. */
export function affinityPopulation(all: Iterable<AffinityStats>): Map<string, number> {
  const byValue = new Map<string, number>();
  let total = 0;
  for (const stats of all) {
    for (const [v, { m }] of stats) {
      byValue.set(v, (byValue.get(v) ?? 0) + m);
      total += m;
    }
  }
  return new Map([...byValue].map(([v, m]) => [v, m / total]));
}

/** Each value's share of the population (a Map, or a view over running sums); undefined when it has none. */
export interface PopulationShares {
  get(value: string): number | undefined;
}

/** The ranked list: score = shrunk share / population share, kept by support and score, best first. */
export function affinityList(a: Aggregate, stats: AffinityStats, population: PopulationShares): ListItem[] {
  const p = a.affinity!;
  let N = 0;
  let M = 0;
  for (const { n, m } of stats.values()) {
    N += n;
    M += m;
  }
  const top = rankTop(p.k);
  for (const [v, { n, m }] of stats) affinityItem(top, p, N, M, v, n, m, population);
  return top.items();
}

/**
 * Offer value `v` (support n, measure m; the entity's totals N and M) to the ranked `top` when it
 * has the support and the score (affinityList, one value at a time).
 */
export function affinityItem(
  top: TopK,
  p: AffinityParams,
  N: number,
  M: number,
  v: string,
  n: number,
  m: number,
  population: PopulationShares,
): void {
  if (n < p.minSupport) return;
  const P = population.get(v)!;
  const score = (N * (m / M) + p.prior * P) / (N + p.prior) / P;
  if (score >= p.minScore) top.offer(v, score);
}

/**
 * The top k (value, score) pairs in rank order: score descending, then value ascending, ties in the
 * order offered (the order of the sort it replaces). O(n·k) comparisons and no object until the k
 * items are asked for, instead of an object per value and a sort of all of them: a customer's top 3
 * merchants are read on every evaluation, among dozens of values. One is shared (`rankTop`): take the
 * items before offering to it again.
 */
export class TopK {
  private readonly values: string[] = [];
  private readonly scores: number[] = [];
  private k = 0;
  private n = 0;

  /** Start again, keeping at most k. */
  begin(k: number): this {
    this.k = k;
    this.n = 0;
    return this;
  }

  offer(value: string, score: number): void {
    const { values, scores } = this;
    let i = this.n;
    while (i > 0 && rankedBefore(value, score, values[i - 1]!, scores[i - 1]!)) i--;
    if (i >= this.k) return;
    // Room at i (a full list drops its last).
    if (this.n < this.k) this.n++;
    for (let j = this.n - 1; j > i; j--) {
      values[j] = values[j - 1]!;
      scores[j] = scores[j - 1]!;
    }
    values[i] = value;
    scores[i] = score;
  }

  items(): ListItem[] {
    const out: ListItem[] = new Array(this.n);
    for (let i = 0; i < this.n; i++) out[i] = { value: this.values[i]!, score: this.scores[i]! };
    return out;
  }

  /** The best value (argmax), or null when none was offered. */
  first(): string | null {
    return this.n > 0 ? this.values[0]! : null;
  }
}

const sharedTop = new TopK();

/** The shared TopK, started for k. */
export function rankTop(k: number): TopK {
  return sharedTop.begin(k);
}

/** Whether (value, score) ranks strictly before (yValue, yScore). */
function rankedBefore(value: string, score: number, yValue: string, yScore: number): boolean {
  const d = yScore - score;
  if (d) return d < 0;
  return value < yValue;
}

// ---------- recurrence ----------

/**
 * One value's cycle, as far as it does not depend on the as-of time: given the rows, only `regular`
 * (the last purchase must be recent enough) and `overdue` move with it. The incremental engine keeps
 * these while its range of rows stays the same, and re-reads them at each as-of time.
 */
export interface CycleStats {
  /** Enough episodes, a low enough cv, a period of at least a day: regular if also recent. */
  readonly eligible: boolean;
  readonly period: number | null;
  readonly cv: number | null;
  readonly cycles: number;
  readonly last: number;
  readonly value: string | null;
}

function cycleOf(rows: readonly EventRow[], a: Aggregate, tz: string, value: string | null): CycleStats {
  const days = [...new Set(rows.map((r) => localDateDays(r.time, tz)))].sort((x, y) => x - y);
  let last = Number.NEGATIVE_INFINITY;
  for (const r of rows) if (r.time > last) last = r.time;
  const gaps = days.slice(1).map((d, i) => d - days[i]!);
  if (gaps.length === 0) return { eligible: false, period: null, cv: null, cycles: days.length, last, value };
  const m0 = median(gaps);
  // A day starts a new episode unless it follows the previous purchase day by less than m0 / 2.
  const starts = [days[0]!, ...days.slice(1).filter((_, i) => gaps[i]! >= 0.5 * m0)];
  const xs = starts.slice(1).map((d, i) => {
    const big = d - starts[i]!;
    // A gap of about two periods is one skipped cycle and counts as two; any other gap is taken as it is.
    return Math.abs(big / m0 - 2) <= 0.25 ? big / 2 : big;
  });
  if (xs.length === 0) return { eligible: false, period: null, cv: null, cycles: starts.length, last, value };
  const period = median(xs);
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((s, x) => s + (x - mean) * (x - mean), 0) / xs.length);
  const cv = sd / mean;
  const p = a.recurrence!;
  const eligible = starts.length >= p.minEvents && cv <= p.maxCv && period >= 1;
  return { eligible, period, cv, cycles: starts.length, last, value };
}

/** Whether a cycle is regular as of `asOf`: eligible, and the last purchase within 2.5 periods. */
function isRegular(c: CycleStats, asOf: number): boolean {
  return c.eligible && c.period !== null && (asOf - c.last) / DAY_US <= 2.5 * c.period;
}

/**
 * The cycle of each value (or of all rows, without an argument) over an entity's rows in the window
 * (any order; the filter is applied here). With the rows fixed, this part does not depend on as-of.
 */
export function recurrenceCycles(
  a: Aggregate,
  windowRows: readonly EventRow[],
  evalRow: RowEval,
  tz: string,
): CycleStats[] {
  const rows = windowRows.filter((r) => !a.filter || evalRow(a.filter, r) === true).sort(compareEvents);
  const groups = new Map<string | null, EventRow[]>();
  for (const r of rows) {
    const v = a.arg ? (evalRow(a.arg, r) as string | null) : null;
    if (a.arg && v === null) continue;
    const group = groups.get(v);
    if (group) group.push(r);
    else groups.set(v, [r]);
  }
  return [...groups].map(([v, g]) => cycleOf(g, a, tz, v));
}

/** Recurrence outputs (RECURRENCE_FIELDS) as of `asOf` from the cycles; null when there are none. */
export function recurrenceAt(
  a: Aggregate,
  cycles: readonly CycleStats[],
  asOf: number,
): Record<string, RefValue> | null {
  if (cycles.length === 0) return null;
  // The strongest cycle: regular first, then lowest cv (nulls last), most episodes, value ascending
  // (values are distinct, so this is a total order and the first is the same as after a sort).
  let c = cycles[0]!;
  let regular = isRegular(c, asOf);
  for (let i = 1; i < cycles.length; i++) {
    const x = cycles[i]!;
    const xr = isRegular(x, asOf);
    const order =
      Number(regular) - Number(xr) ||
      (x.cv ?? Number.POSITIVE_INFINITY) - (c.cv ?? Number.POSITIVE_INFINITY) ||
      c.cycles - x.cycles ||
      ((x.value ?? '') < (c.value ?? '') ? -1 : (x.value ?? '') > (c.value ?? '') ? 1 : 0);
    if (order < 0) {
      c = x;
      regular = xr;
    }
  }
  const nextDue = regular && c.period !== null ? c.last + roundAway(c.period * DAY_US) : null;
  const overdue =
    regular &&
    nextDue !== null &&
    c.period !== null &&
    asOf > nextDue + Math.max(1, 0.25 * c.period) * DAY_US;
  return {
    regular,
    period_days: c.period,
    cv: c.cv,
    cycles: c.cycles,
    last: c.last,
    next_due: nextDue,
    overdue,
    value: a.arg ? c.value : null,
  };
}

/** How far before a threshold recurrenceSteadyUntil stops (µs): more than any rounding in the comparisons. */
const STEADY_MARGIN_US = 1000;

/**
 * With the cycles fixed, recurrenceAt changes with the as-of time only when a cycle stops being
 * regular (its last episode falls 2.5 periods behind) or the chosen cycle becomes overdue; both only
 * once, as time moves forward. This returns a time before which recurrenceAt(a, cycles, T) equals
 * recurrenceAt(a, cycles, asOf) for every T in [asOf, until): the earliest threshold still ahead, a
 * margin early. At most asOf when a threshold is within the margin (then nothing may be reused).
 */
export function recurrenceSteadyUntil(
  cycles: readonly CycleStats[],
  value: Readonly<Record<string, RefValue>> | null,
  asOf: number,
): number {
  let until = Number.POSITIVE_INFINITY;
  const ahead = (t: number) => {
    // A threshold passed (by more than the margin) cannot flip back: regular only ends, overdue only starts.
    if (t + STEADY_MARGIN_US > asOf) until = Math.min(until, t - STEADY_MARGIN_US);
  };
  for (const c of cycles) if (c.eligible && c.period !== null) ahead(c.last + 2.5 * c.period * DAY_US);
  if (value?.regular === true && typeof value.next_due === 'number' && typeof value.period_days === 'number')
    ahead(value.next_due + Math.max(1, 0.25 * value.period_days) * DAY_US);
  return until;
}

/** Recurrence outputs (RECURRENCE_FIELDS) for one entity; null when it has no qualifying rows. */
export function recurrenceValue(
  a: Aggregate,
  events: readonly EventRow[],
  evalRow: RowEval,
  asOf: number,
  tz: string,
): Record<string, RefValue> | null {
  const inWindowRows = events.filter((r) => inWindow(a.window, r.time, asOf));
  return recurrenceAt(a, recurrenceCycles(a, inWindowRows, evalRow, tz), asOf);
}

// ---------- shift ----------

/** Shift outputs (SHIFT_FIELDS) for one entity; null when it has no row in either window. */
export function shiftValue(
  a: Aggregate,
  events: readonly EventRow[],
  evalRow: RowEval,
  asOf: number,
): Record<string, RefValue> | null {
  const p = a.shift!;
  const counts = { b: new Map<string, number>(), d: new Map<string, number>() };
  const detectionRows: { v: string; time: number }[] = [];
  for (const r of events) {
    if (r.time > asOf || !inWindow(a.window, r.time, asOf)) continue;
    if (a.filter && evalRow(a.filter, r) !== true) continue;
    const v = evalRow(a.arg!, r);
    if (v === null) continue;
    const w = inWindow(p.baseline, r.time, asOf)
      ? 'b'
      : inWindow(p.detection, r.time, asOf)
        ? 'd'
        : undefined;
    if (!w) continue;
    counts[w].set(v as string, (counts[w].get(v as string) ?? 0) + 1);
    if (w === 'd') detectionRows.push({ v: v as string, time: r.time });
  }
  return shiftResult(a, counts.b, counts.d, (v) =>
    Math.min(...detectionRows.filter((x) => x.v === v).map((x) => x.time)),
  );
}

/** The most frequent value of a window's counts (ties: the smallest value), its count and the total. */
function dominant(m: ReadonlyMap<string, number>): { v: string; n: number; total: number } | undefined {
  let best: [string, number] | undefined;
  let total = 0;
  for (const [v, n] of m) {
    if (n <= 0) continue;
    total += n;
    if (!best || n > best[1] || (n === best[1] && v < best[0])) best = [v, n];
  }
  return best ? { v: best[0], n: best[1], total } : undefined;
}

/**
 * Shift outputs from the counts of each value in the baseline and detection windows (rows that count:
 * filter true, value not null); `since(v)` is the time of the first detection row with value v.
 * Shared by the reference (counts from all rows) and the incremental engine (running counts).
 */
export function shiftResult(
  a: Aggregate,
  baseline: ReadonlyMap<string, number>,
  detection: ReadonlyMap<string, number>,
  since: (v: string) => number,
): Record<string, RefValue> | null {
  const p = a.shift!;
  const b = dominant(baseline);
  const d = dominant(detection);
  if (!b || !d) return null;
  const sb = b.n / b.total;
  const sd = d.n / d.total;
  const changed =
    b.total >= p.minEvents && d.total >= p.minEvents && sb >= p.minShare && sd >= p.minShare && b.v !== d.v;
  return {
    changed,
    from: changed ? b.v : null,
    to: changed ? d.v : null,
    since: changed ? since(d.v) : null,
    confidence: changed
      ? Math.min(sb, sd) * Math.min(1, Math.min(b.total, d.total) / (2 * p.minEvents))
      : null,
  };
}
