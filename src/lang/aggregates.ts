/**
 * The aggregate functions of the tag language, declared once as data: which argument types they take,
 * what they return, and what they are over no rows. The SQL for each lives in the dialects; the
 * meaning in plain TypeScript lives in the reference evaluator.
 *
 * Over no rows: count, distinct_count and sum are 0; top is an empty list; everything else is null.
 */
import type { AggFn, ValueType } from './ir.js';

export interface AggregateSpec {
  readonly fn: AggFn;
  /** Types accepted for the aggregated value; undefined = takes no value argument. */
  readonly arg?: readonly ValueType[];
  /** The value argument may be omitted (count()). */
  readonly argOptional?: boolean;
  readonly returns: (argType: ValueType | undefined) => ValueType;
  /** Produced by a tag kind; not callable by name in expressions. */
  readonly internal?: boolean;
  readonly doc: string;
}

const SCALAR: readonly ValueType[] = ['number', 'string', 'boolean', 'time', 'date'];
const ORDERED: readonly ValueType[] = ['number', 'string', 'time', 'date'];

export const AGGREGATES: Readonly<Record<AggFn, AggregateSpec>> = {
  count: {
    fn: 'count',
    arg: SCALAR,
    argOptional: true,
    returns: () => 'number',
    doc: 'count() counts rows; count(x) counts rows where x is not null',
  },
  sum: { fn: 'sum', arg: ['number'], returns: () => 'number', doc: 'sum of x (0 over no rows)' },
  avg: { fn: 'avg', arg: ['number'], returns: () => 'number', doc: 'mean of x (null over no rows)' },
  min: { fn: 'min', arg: ORDERED, returns: (t) => t ?? 'null', doc: 'smallest x' },
  max: { fn: 'max', arg: ORDERED, returns: (t) => t ?? 'null', doc: 'largest x' },
  distinct_count: {
    fn: 'distinct_count',
    arg: SCALAR,
    returns: () => 'number',
    doc: 'number of distinct non-null x',
  },
  share: {
    fn: 'share',
    arg: ['boolean'],
    returns: () => 'number',
    doc: 'fraction of rows where the condition is true (null over no rows)',
  },
  first: {
    fn: 'first',
    arg: SCALAR,
    returns: (t) => t ?? 'null',
    doc: 'x of the earliest row where x is not null',
  },
  last: {
    fn: 'last',
    arg: SCALAR,
    returns: (t) => t ?? 'null',
    doc: 'x of the latest row where x is not null',
  },
  first_time: { fn: 'first_time', returns: () => 'time', doc: 'time of the earliest row' },
  last_time: { fn: 'last_time', returns: () => 'time', doc: 'time of the latest row' },
  stddev: {
    fn: 'stddev',
    arg: ['number'],
    returns: () => 'number',
    doc: 'sample standard deviation (null under 2 rows)',
  },
  top: {
    fn: 'top',
    arg: ['string'],
    returns: () => 'list',
    doc: 'the k values of a dimension with the highest measure, with their scores',
  },
  argmax: {
    fn: 'argmax',
    arg: ['string'],
    returns: () => 'string',
    doc: 'the value of a dimension with the highest measure',
  },
  // The three below are made by tag kinds (affinity, recurrence, shift), not called by name.
  affinity: {
    fn: 'affinity',
    arg: ['string'],
    internal: true,
    returns: () => 'list',
    doc: 'values of a dimension the entity prefers over the population (shrunk lift)',
  },
  recurrence: {
    fn: 'recurrence',
    internal: true,
    returns: () => 'boolean',
    doc: 'a regular repurchase cycle: period, regularity, next due date',
  },
  shift: {
    fn: 'shift',
    arg: ['string'],
    internal: true,
    returns: () => 'boolean',
    doc: 'the dominant value of a dimension changed between two windows',
  },
};

/** Sugar that expands to the aggregates above (see checker.ts). */
export const AGGREGATE_SUGAR = ['count_if', 'distinct_days', 'days_since_last', 'days_since_first'] as const;

export function isAggregateName(name: string): boolean {
  const spec = (AGGREGATES as Readonly<Record<string, AggregateSpec>>)[name];
  return (spec !== undefined && !spec.internal) || (AGGREGATE_SUGAR as readonly string[]).includes(name);
}

/** Ranking measures accepted by `by:` in top/argmax. */
export const RANK_MEASURES = ['count', 'sum', 'distinct_days'] as const;
