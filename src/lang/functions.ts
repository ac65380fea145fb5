/**
 * Scalar functions of the tag language, declared once as data: signature, meaning in plain
 * TypeScript (the reference semantics), and the default SQL (DuckDB spelling). A dialect overrides only
 * the SQL that differs. Adding a function is adding an entry here.
 *
 * Null in, null out (strict), unless a function says otherwise (coalesce, least, greatest, has).
 * Times are instants, carried in the reference evaluator as epoch microseconds; dates as days since
 * 1970-01-01. Calendar functions read the local time in the project time zone, or in the zone given
 * as the optional last argument.
 */
import type { ValueType } from './ir.js';
import { localDateDays, localParts } from './time.js';

export interface ListItem {
  readonly value: string;
  readonly score: number;
}
export type RefValue = boolean | number | string | null | readonly ListItem[];

export interface FnContext {
  /** IANA zone for calendar functions without an explicit zone. */
  readonly timezone: string;
}

export interface ScalarFunction {
  readonly name: string;
  /** Parameter types; `variadic` repeats the last one. A parameter may accept several types. */
  readonly params: readonly (readonly ValueType[])[];
  readonly variadic?: boolean;
  /** Minimum number of arguments (default: params.length). */
  readonly minArgs?: number;
  /** Result type given the argument types. */
  readonly returns: (args: readonly ValueType[]) => ValueType;
  /** Reference semantics; receives already-evaluated arguments. */
  readonly ref: (args: readonly RefValue[], ctx: FnContext, types: readonly ValueType[]) => RefValue;
  /** Default (DuckDB) SQL given argument SQL texts. */
  readonly sql: (args: readonly string[], ctx: SqlFnContext, types: readonly ValueType[]) => string;
  /** When true, all arguments must have one type (checked like the arguments of a variadic function). */
  readonly sameType?: boolean;
  /** When true, null arguments do not force a null result (the function handles them). */
  readonly handlesNull?: boolean;
  readonly doc: string;
}

export interface SqlFnContext {
  /** A SQL string literal of the zone to use (already quoted). */
  readonly tz: (args: readonly string[], calendarArgs: number) => string;
  /**
   * SQL of the local (naive) date-time of the instant `args[0]`, in the zone given as argument
   * `calendarArgs` or the project's: the dialect may do it with arithmetic rather than a calendar call.
   */
  readonly local: (args: readonly string[], calendarArgs: number) => string;
}

const NUM: readonly ValueType[] = ['number'];
const STR: readonly ValueType[] = ['string'];
const TIME: readonly ValueType[] = ['time'];
const TIME_OR_DATE: readonly ValueType[] = ['time', 'date'];

const num = (v: RefValue) => v as number;
const str = (v: RefValue) => v as string;

/** Round half away from zero to `digits` decimals (what SQL engines do). */
export function roundHalfAway(x: number, digits: number): number {
  const p = 10 ** digits;
  return (Math.sign(x) * Math.round(Math.abs(x) * p)) / p;
}

const calendar = (
  name: string,
  doc: string,
  part: (p: ReturnType<typeof localParts>) => number,
  sql: (local: string) => string,
): ScalarFunction => ({
  name,
  params: [TIME, STR],
  minArgs: 1,
  returns: () => 'number',
  ref: (a, ctx) => part(localParts(num(a[0]!), a.length > 1 ? str(a[1]!) : ctx.timezone)),
  sql: (a, ctx) => sql(ctx.local(a, 1)),
  doc,
});

const BASE_FUNCTIONS: readonly ScalarFunction[] = [
  {
    name: 'abs',
    params: [NUM],
    returns: () => 'number',
    ref: (a) => Math.abs(num(a[0]!)),
    sql: (a) => `abs(${a[0]})`,
    doc: 'absolute value',
  },
  {
    name: 'round',
    params: [NUM, NUM],
    minArgs: 1,
    returns: () => 'number',
    ref: (a) => roundHalfAway(num(a[0]!), a.length > 1 ? num(a[1]!) : 0),
    // DuckDB's round takes INTEGER digits; number literals are DOUBLE/DECIMAL.
    sql: (a) => `round(${a[0]}, ${a[1] === undefined ? '0' : `CAST(${a[1]} AS INTEGER)`})`,
    doc: 'round half away from zero to n decimals (default 0)',
  },
  {
    name: 'floor',
    params: [NUM],
    returns: () => 'number',
    ref: (a) => Math.floor(num(a[0]!)),
    sql: (a) => `floor(${a[0]})`,
    doc: 'largest integer <= x',
  },
  {
    name: 'ceil',
    params: [NUM],
    returns: () => 'number',
    ref: (a) => Math.ceil(num(a[0]!)),
    sql: (a) => `ceil(${a[0]})`,
    doc: 'smallest integer >= x',
  },
  {
    name: 'sqrt',
    params: [NUM],
    returns: () => 'number',
    ref: (a) => (num(a[0]!) < 0 ? null : Math.sqrt(num(a[0]!))),
    sql: (a) => `CASE WHEN ${a[0]} < 0 THEN NULL ELSE sqrt(${a[0]}) END`,
    doc: 'square root (null for negative numbers)',
  },
  {
    name: 'ln',
    params: [NUM],
    returns: () => 'number',
    ref: (a) => (num(a[0]!) <= 0 ? null : Math.log(num(a[0]!))),
    sql: (a) => `CASE WHEN ${a[0]} <= 0 THEN NULL ELSE ln(${a[0]}) END`,
    doc: 'natural logarithm (null for x <= 0)',
  },
  {
    name: 'least',
    params: [['number', 'time', 'date']],
    variadic: true,
    minArgs: 2,
    handlesNull: true,
    returns: (t) => t.find((x) => x !== 'null') ?? 'null',
    ref: (a) => {
      const xs = a.filter((x) => x !== null) as number[];
      return xs.length === 0 ? null : Math.min(...xs);
    },
    sql: (a) => `least(${a.join(', ')})`,
    doc: 'smallest of the arguments, ignoring nulls',
  },
  {
    name: 'greatest',
    params: [['number', 'time', 'date']],
    variadic: true,
    minArgs: 2,
    handlesNull: true,
    returns: (t) => t.find((x) => x !== 'null') ?? 'null',
    ref: (a) => {
      const xs = a.filter((x) => x !== null) as number[];
      return xs.length === 0 ? null : Math.max(...xs);
    },
    sql: (a) => `greatest(${a.join(', ')})`,
    doc: 'largest of the arguments, ignoring nulls',
  },
  {
    name: 'coalesce',
    params: [['boolean', 'number', 'string', 'time', 'date', 'list']],
    variadic: true,
    minArgs: 2,
    handlesNull: true,
    returns: (t) => t.find((x) => x !== 'null') ?? 'null',
    ref: (a) => a.find((x) => x !== null) ?? null,
    sql: (a) => `COALESCE(${a.join(', ')})`,
    doc: 'the first argument that is not null',
  },
  {
    name: 'lower',
    params: [STR],
    returns: () => 'string',
    ref: (a) => str(a[0]!).toLowerCase(),
    sql: (a) => `lower(${a[0]})`,
    doc: 'lower case',
  },
  {
    name: 'upper',
    params: [STR],
    returns: () => 'string',
    ref: (a) => str(a[0]!).toUpperCase(),
    sql: (a) => `upper(${a[0]})`,
    doc: 'upper case',
  },
  {
    name: 'length',
    params: [STR],
    returns: () => 'number',
    ref: (a) => [...str(a[0]!)].length,
    sql: (a) => `length(${a[0]})`,
    doc: 'number of characters',
  },
  {
    name: 'contains',
    params: [STR, STR],
    returns: () => 'boolean',
    ref: (a) => str(a[0]!).includes(str(a[1]!)),
    sql: (a) => `contains(${a[0]}, ${a[1]})`,
    doc: 'true when the text contains the fragment',
  },
  {
    name: 'starts_with',
    params: [STR, STR],
    returns: () => 'boolean',
    ref: (a) => str(a[0]!).startsWith(str(a[1]!)),
    sql: (a) => `starts_with(${a[0]}, ${a[1]})`,
    doc: 'true when the text starts with the prefix',
  },
  {
    name: 'ends_with',
    params: [STR, STR],
    returns: () => 'boolean',
    ref: (a) => str(a[0]!).endsWith(str(a[1]!)),
    sql: (a) => `ends_with(${a[0]}, ${a[1]})`,
    doc: 'true when the text ends with the suffix',
  },
  calendar(
    'hour',
    'local hour of a time, 0-23',
    (p) => p.hour,
    (l) => `hour(${l})`,
  ),
  calendar(
    'minute',
    'local minute of a time, 0-59',
    (p) => p.minute,
    (l) => `minute(${l})`,
  ),
  calendar(
    'weekday',
    'local ISO weekday, 1 = Monday ... 7 = Sunday',
    (p) => p.weekday,
    (l) => `isodow(${l})`,
  ),
  calendar(
    'day',
    'local day of the month, 1-31',
    (p) => p.day,
    (l) => `day(${l})`,
  ),
  calendar(
    'month',
    'local month, 1-12',
    (p) => p.month,
    (l) => `month(${l})`,
  ),
  calendar(
    'year',
    'local year',
    (p) => p.year,
    (l) => `year(${l})`,
  ),
  {
    name: 'is_weekend',
    params: [TIME, STR],
    minArgs: 1,
    returns: () => 'boolean',
    ref: (a, ctx) => localParts(num(a[0]!), a.length > 1 ? str(a[1]!) : ctx.timezone).weekday >= 6,
    sql: (a, ctx) => `(isodow(${ctx.local(a, 1)}) >= 6)`,
    doc: 'true on local Saturdays and Sundays',
  },
  {
    name: 'date',
    params: [['time', 'string'], STR],
    minArgs: 1,
    returns: () => 'date',
    ref: (a, ctx, types) => {
      if (types[0] === 'string') {
        const d = parseIsoDate(str(a[0]!));
        return d;
      }
      return localDateDays(num(a[0]!), a.length > 1 ? str(a[1]!) : ctx.timezone);
    },
    sql: (a, ctx, types) =>
      types[0] === 'string'
        ? `(CASE WHEN regexp_full_match(trim(${a[0]}), '${ISO_DATE.source}') THEN TRY_CAST(trim(${a[0]}) AS DATE) END)`
        : `CAST(${ctx.local(a, 1)} AS DATE)`,
    doc: "local calendar date of a time, or a date from text ('2025-03-01')",
  },
  {
    name: 'timestamp',
    params: [STR],
    returns: () => 'time',
    ref: (a) => parseIsoInstant(str(a[0]!)),
    // The warehouse session zone is UTC, so text without an offset reads as UTC, as in the reference.
    sql: (a) =>
      `(CASE WHEN regexp_full_match(trim(${a[0]}), '${ISO_INSTANT.source}') THEN TRY_CAST(trim(${a[0]}) AS TIMESTAMPTZ) END)`,
    doc: "an instant from ISO 8601 text with an offset ('2025-03-01T09:00:00Z'; no offset = UTC)",
  },
  {
    name: 'days_between',
    params: [TIME_OR_DATE, TIME_OR_DATE],
    sameType: true,
    returns: () => 'number',
    ref: (a, _ctx, types) =>
      types.includes('date') ? num(a[1]!) - num(a[0]!) : (num(a[1]!) - num(a[0]!)) / 86_400_000_000,
    sql: (a, _ctx, types) =>
      types.includes('date')
        ? `CAST(date_diff('day', ${a[0]}, ${a[1]}) AS DOUBLE)`
        : `((epoch_us(${a[1]}) - epoch_us(${a[0]})) / 86400000000.0)`,
    doc: 'days from the first to the second time (fractional; whole days for dates)',
  },
  {
    name: 'has',
    params: [['list'], STR],
    handlesNull: true,
    returns: () => 'boolean',
    ref: (a) =>
      a[0] === null || a[1] === null ? null : (a[0] as readonly ListItem[]).some((i) => i.value === a[1]),
    sql: (a) => `list_contains(list_transform(${a[0]}, x -> x.value), ${a[1]})`,
    doc: 'true when a list tag contains the value',
  },
  {
    name: 'size',
    params: [['list']],
    returns: () => 'number',
    ref: (a) => (a[0] as readonly ListItem[]).length,
    sql: (a) => `CAST(len(${a[0]}) AS DOUBLE)`,
    doc: 'number of values in a list tag',
  },
  {
    name: 'score_of',
    params: [['list'], STR],
    returns: () => 'number',
    ref: (a) => (a[0] as readonly ListItem[]).find((i) => i.value === a[1])?.score ?? null,
    sql: (a) => `(list_filter(${a[0]}, x -> x.value = ${a[1]}))[1].score`,
    doc: 'the score of a value in a list tag (null when absent)',
  },
  {
    name: 'top_value',
    params: [['list']],
    returns: () => 'string',
    ref: (a) => (a[0] as readonly ListItem[])[0]?.value ?? null,
    sql: (a) => `(${a[0]})[1].value`,
    doc: 'the first (best) value of a list tag',
  },
];

const HAS = BASE_FUNCTIONS.find((f) => f.name === 'has')!;

export const FUNCTIONS: readonly ScalarFunction[] = [
  ...BASE_FUNCTIONS,
  // `prefers(favourite_cuisine, 'korean_bbq')`: `has` under the name segments read naturally with.
  {
    ...HAS,
    name: 'prefers',
    doc: "true when an affinity (or any list) tag ranks the value: prefers(favourite_cuisine, 'korean_bbq')",
  },
];

export const FUNCTION_BY_NAME: ReadonlyMap<string, ScalarFunction> = new Map(
  FUNCTIONS.map((f) => [f.name, f]),
);

/** Text `date()` reads: YYYY-MM-DD (surrounding blanks ignored). */
const ISO_DATE = /(\d{4})-(\d{2})-(\d{2})/;
/**
 * Text `timestamp()` reads: an ISO date, optionally `T` or a space and hh:mm[:ss[.fraction]], then
 * optionally `Z`, ±hh, ±hhmm or ±hh:mm (no offset = UTC). Fractions beyond microseconds are cut.
 */
const ISO_INSTANT =
  /(\d{4}-\d{2}-\d{2})(?:[T ]([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d)(?:\.(\d+))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?/;

/** Epoch microseconds of ISO 8601 text (see ISO_INSTANT), or null. */
export function parseIsoInstant(s: string): number | null {
  const m = new RegExp(`^${ISO_INSTANT.source}$`).exec(s.trim());
  if (!m) return null;
  const days = parseIsoDate(m[1]!);
  if (days === null) return null;
  const seconds = Number(m[2] ?? 0) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
  const zone = m[6] ?? 'Z';
  let offset = 0;
  if (zone !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    offset =
      (zone[0] === '-' ? -1 : 1) * (Number(digits.slice(0, 2)) * 3600 + Number(digits.slice(2) || 0) * 60);
  }
  const fraction = Number((m[5] ?? '').padEnd(6, '0').slice(0, 6));
  return (days * 86_400 + seconds - offset) * 1_000_000 + fraction;
}

/** Days since 1970-01-01 of an ISO date (YYYY-MM-DD), or null. */
export function parseIsoDate(s: string): number | null {
  const m = new RegExp(`^${ISO_DATE.source}$`).exec(s.trim());
  if (!m) return null;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  const d = new Date(ms);
  if (d.getUTCMonth() !== Number(m[2]) - 1 || d.getUTCDate() !== Number(m[3])) return null;
  return ms / 86_400_000;
}
