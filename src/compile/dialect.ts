/**
 * The `Dialect` interface: everything engine-specific about turning tag IR into SQL.
 * The compiler (expression.ts, plan.ts) only builds SQL through these methods, so a new engine is a
 * new folder implementing this shape (duckdb/ and clickhouse/).
 */
import type {
  AffinityParams,
  AggFn,
  RankMeasure,
  RecurrenceParams,
  ShiftParams,
  ValueType,
} from '../lang/ir.js';

export interface AggregateSql {
  readonly fn: Exclude<AggFn, 'top' | 'argmax' | 'affinity' | 'recurrence' | 'shift'>;
  /** SQL of the aggregated value (row context), when the function takes one. */
  readonly arg?: string;
  readonly argType?: ValueType;
  /** SQL condition rows must meet (window and filter); undefined = every row of the scan. */
  readonly condition?: string;
  /** SQL of the event time column. */
  readonly time: string;
  /** SQL of the event order columns after time (file id, row) for first/last ties. */
  readonly order: readonly string[];
}

/** What the dedicated aggregate queries (affinity, recurrence, shift) read. */
export interface DedicatedSql {
  /** FROM clause items: the source table as alias `e`, with any profile joins. */
  readonly from: string;
  /** SQL of the entity key of a row. */
  readonly entity: string;
  /** SQL of the event time of a row. */
  readonly time: string;
  /** Rows that count: time <= T, the window and the filter. */
  readonly where: string;
  /** SQL instant of T. */
  readonly asOf: string;
  readonly timezone: string;
  /** When set (SQL literal), only this entity's result is needed (the population is still everyone). */
  readonly only?: string;
  /** FROM clause of the whole population when it differs from `from` (a sharded engine's global table). */
  readonly populationFrom?: string;
}

/** `SELECT columns FROM base LEFT JOIN each join ON join.key = base.key` (at most one right row per key). */
export interface JoinSelect {
  /** `table` is SQL text; `alias` is SQL text (already quoted when needed); `key` a column name. */
  readonly base: { readonly table: string; readonly alias: string; readonly key: string };
  readonly joins: readonly { readonly table: string; readonly alias: string; readonly key: string }[];
  /** Output columns: `alias.column [AS as]`; `type` lets an engine pick the missing-row value. */
  readonly columns: readonly {
    readonly alias: string;
    readonly column: string;
    readonly as?: string;
    readonly type?: ValueType;
  }[];
}

export interface Dialect {
  readonly name: string;
  /** A quoted identifier. */
  ident(name: string): string;
  /** A string literal. */
  string(value: string): string;
  /** A numeric literal (double). */
  number(value: number): string;
  /** A boolean literal. */
  boolean(value: boolean): string;
  /** An instant literal from epoch microseconds. */
  instant(epochMicros: number): string;
  /** A date literal from days since 1970-01-01. */
  date(days: number): string;
  /** SQL type name of a value type in tag output tables. */
  columnType(t: ValueType): string;
  /** Cast a numeric expression to the engine's double type. */
  toDouble(sql: string): string;
  /** a / b, NULL when b = 0. */
  divide(a: string, b: string): string;
  /** a % b, NULL when b = 0. */
  modulo(a: string, b: string): string;
  /** time ± a number of seconds (exact). */
  addSeconds(time: string, seconds: number): string;
  /** Three-valued `a AND b` / `a OR b` (false and null is false, true or null is true). */
  logic(op: 'and' | 'or', a: string, b: string): string;
  /** `CASE WHEN .. THEN .. ELSE .. END`; a null condition does not match. */
  caseWhen(whens: readonly { readonly when: string; readonly result: string }[], otherwise: string): string;
  /** `arg [NOT] IN (list)`: null when arg is null. */
  inList(arg: string, list: readonly string[], negated: boolean): string;
  /** A select over a chain of left joins (engines limited to one JOIN per query nest them). */
  leftJoinSelect(q: JoinSelect): string;
  /** A scalar function of the language (functions.ts), given argument SQL and types. */
  call(fn: string, args: readonly string[], types: readonly ValueType[], timezone: string): string;
  /** An aggregate with its condition (FILTER / -If). */
  aggregate(a: AggregateSql): string;
  /** Rank measure of a top/argmax inner query over one (entity, value) group. */
  rankMeasure(m: RankMeasure, argSql: string | undefined, time: string, timezone: string): string;
  /**
   * Outer aggregate of a top/argmax query: the k best (value, score) pairs per entity as a list, best
   * first, ties broken by value ascending. `k` undefined = the single best value (argmax).
   */
  topList(valueSql: string, scoreSql: string, k: number | undefined): string;
  /** Affinity: per entity, the top values of `dim` by shrunk lift, as a list column named `column`. */
  affinitySelect(
    q: DedicatedSql & {
      readonly dim: string;
      readonly measure: RankMeasure;
      readonly measureArg?: string;
      readonly params: AffinityParams;
      readonly column: string;
    },
  ): string;
  /** Recurrence: per entity, the cycle statistics, one column per field (RECURRENCE_FIELDS). */
  /** Recurrence: per entity, the cycle statistics (of the most regular value of `dim`, when given), one column per field. */
  recurrenceSelect(
    q: DedicatedSql & {
      readonly dim?: string;
      readonly params: RecurrenceParams;
      readonly columns: Record<string, string>;
    },
  ): string;
  /** Shift: per entity, whether the dominant value of `dim` changed, one column per field (SHIFT_FIELDS). */
  shiftSelect(
    q: DedicatedSql & {
      readonly dim: string;
      readonly params: ShiftParams;
      readonly baseline: string;
      readonly detection: string;
      readonly columns: Record<string, string>;
    },
  ): string;
  /** An empty list of the list tag type. */
  emptyList(): string;
  /** An untyped NULL of a value type. */
  nullOf(t: ValueType): string;
}
