/**
 * The `Dialect` interface: everything engine-specific about turning tag IR into SQL.
 * The compiler (expression.ts, plan.ts) only builds SQL through these methods, so a new engine is a
 * new folder implementing this shape (DuckDB today; ClickHouse next).
 */
import type { AggFn, RankMeasure, ValueType } from '../lang/ir.js';

export interface AggregateSql {
  readonly fn: Exclude<AggFn, 'top' | 'argmax'>;
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
  /** An empty list of the list tag type. */
  emptyList(): string;
  /** An untyped NULL of a value type. */
  nullOf(t: ValueType): string;
}
