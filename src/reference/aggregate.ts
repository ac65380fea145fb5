/**
 * The meaning of one aggregate (ir.ts `Aggregate`) over one entity's events, in plain loops.
 *
 * Rows that count: time <= T, time inside the window, and the filter true (null = not true).
 * Over no rows: count, distinct_count and sum are 0; top is an empty list; everything else is null.
 * Value arguments that are null are ignored (count(x), sum, avg, min, max, stddev, distinct_count,
 * first, last). first/last order rows by (time, _file_id, _row).
 */
import type { ListItem, RefValue } from '../lang/functions.js';
import type { Aggregate, Expr, RankMeasure, Window } from '../lang/ir.js';
import { localDateDays } from '../lang/time.js';

/** One event row of an entity, with what ordering needs already read off it. */
export interface EventRow {
  readonly time: number;
  readonly fileId: number;
  readonly row: number;
  readonly data: Readonly<Record<string, unknown>>;
}

/** How the aggregate reads a row expression (row context) of one event. */
export type RowEval = (e: Expr, row: EventRow) => RefValue;

/** True when an event at `time` is inside `w` relative to the as-of time T. */
export function inWindow(w: Window, time: number, asOfMicros: number): boolean {
  if (time > asOfMicros) return false;
  switch (w.kind) {
    case 'ever':
      return true;
    case 'last':
      return time > asOfMicros - w.seconds * 1e6;
    case 'between':
      return time > asOfMicros - w.fromSeconds * 1e6 && time <= asOfMicros - w.toSeconds * 1e6;
  }
}

/** (time, _file_id, _row) order: the order of first/last. */
export function compareEvents(a: EventRow, b: EventRow): number {
  return a.time - b.time || a.fileId - b.fileId || a.row - b.row;
}

/** The value of `a` for one entity, given all its events of `a.source` (any order). */
export function aggregateValue(
  a: Aggregate,
  events: readonly EventRow[],
  evalRow: RowEval,
  asOfMicros: number,
  timezone: string,
): RefValue {
  const rows: EventRow[] = [];
  for (const r of events) {
    if (!inWindow(a.window, r.time, asOfMicros)) continue;
    if (a.filter && evalRow(a.filter, r) !== true) continue;
    rows.push(r);
  }
  rows.sort(compareEvents);
  const arg = (r: EventRow): RefValue => (a.arg ? evalRow(a.arg, r) : null);
  /** Non-null values of the argument, in event order. */
  const values = (): RefValue[] => rows.map(arg).filter((v) => v !== null);

  switch (a.fn) {
    case 'count':
      return a.arg ? values().length : rows.length;
    case 'sum': {
      let sum = 0;
      for (const v of values()) sum += v as number;
      return sum;
    }
    case 'avg': {
      const xs = values() as number[];
      if (xs.length === 0) return null;
      let sum = 0;
      for (const x of xs) sum += x;
      return sum / xs.length;
    }
    case 'min':
    case 'max': {
      let best: RefValue = null;
      for (const v of values()) {
        if (best === null) best = v;
        else if (a.fn === 'min' ? (v as number) < (best as number) : (v as number) > (best as number))
          best = v;
      }
      return best;
    }
    case 'distinct_count':
      return new Set(values()).size;
    case 'share': {
      if (rows.length === 0) return null;
      let hits = 0;
      for (const r of rows) if (arg(r) === true) hits++;
      return hits / rows.length;
    }
    case 'first':
    case 'last': {
      const xs = values();
      return (a.fn === 'first' ? xs[0] : xs[xs.length - 1]) ?? null;
    }
    case 'first_time':
      return rows.length === 0 ? null : rows[0]!.time;
    case 'last_time':
      return rows.length === 0 ? null : rows[rows.length - 1]!.time;
    case 'stddev': {
      const xs = values() as number[];
      if (xs.length < 2) return null;
      let sum = 0;
      for (const x of xs) sum += x;
      const mean = sum / xs.length;
      let squares = 0;
      for (const x of xs) squares += (x - mean) * (x - mean);
      return Math.sqrt(squares / (xs.length - 1));
    }
    case 'top':
    case 'argmax': {
      const ranked = rank(rows, arg, a.by ?? { fn: 'count' }, evalRow, timezone);
      if (a.fn === 'argmax') return ranked[0]?.value ?? null;
      return ranked.slice(0, a.k ?? 1);
    }
    default:
      // Aggregates made by the tag kinds (affinity, recurrence, shift): their callers use kinds.ts.
      throw new Error(`the reference evaluator has no meaning for the aggregate ${a.fn} yet`);
  }
}

/**
 * Values of a dimension (non-null), each with its score by `measure`, best first: score descending,
 * then value ascending (UTF-16 code units, which is byte order for ASCII).
 */
function rank(
  rows: readonly EventRow[],
  dim: (r: EventRow) => RefValue,
  measure: RankMeasure,
  evalRow: RowEval,
  timezone: string,
): ListItem[] {
  const groups = new Map<string, EventRow[]>();
  for (const r of rows) {
    const v = dim(r);
    if (v === null) continue;
    const key = v as string;
    const group = groups.get(key);
    if (group) group.push(r);
    else groups.set(key, [r]);
  }
  const items: ListItem[] = [];
  for (const [value, group] of groups) {
    let score = 0;
    switch (measure.fn) {
      case 'count':
        score = group.length;
        break;
      case 'sum':
        for (const r of group) {
          const x = measure.arg ? evalRow(measure.arg, r) : null;
          if (x !== null) score += x as number;
        }
        break;
      case 'distinct_days':
        score = new Set(group.map((r) => localDateDays(r.time, timezone))).size;
        break;
    }
    items.push({ value, score });
  }
  items.sort((x, y) => y.score - x.score || (x.value < y.value ? -1 : x.value > y.value ? 1 : 0));
  return items;
}
