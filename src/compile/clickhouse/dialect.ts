/**
 * The ClickHouse dialect. It targets the SQL that ClickHouse 18.16 (Debian's package) accepts, which
 * modern ClickHouse also accepts: `-If` combinators instead of FILTER, no window functions (cycles,
 * rankings and dominant values are computed on arrays: groupArray + arraySort + arrayDifference), no
 * CTEs, at most one JOIN per query (chained joins nest), no positional GROUP BY, inline escaped
 * literals.
 *
 * Value representation in ClickHouse:
 * | language type | ClickHouse |
 * |---|---|
 * | time (instant) | Int64 epoch microseconds (18.16 has no DateTime64) |
 * | date | Int32 days since 1970-01-01 |
 * | boolean | UInt8 |
 * | number | Float64 |
 * | list | Array(Tuple(String, Float64)) |
 *
 * Calendar functions add the zone's UTC offset looked up in a table of offset changes taken from
 * Intl (as the DuckDB dialect does), so the server's time zone data plays no part.
 *
 * ClickHouse's AND/OR are not three-valued (`0 AND NULL` is NULL); `logic` encodes false/null/true as
 * 0/0.5/1 so that AND is least and OR is greatest (Kleene logic), with each operand written once.
 */
import { FUNCTION_BY_NAME, parseIsoDate, parseIsoInstant } from '../../lang/functions.js';
import type { RankMeasure, ValueType } from '../../lang/ir.js';
import { offsetChanges } from '../../lang/time.js';
import type { AggregateSql, Dialect, JoinSelect } from '../dialect.js';

const LIST_TYPE = 'Array(Tuple(String, Float64))';
const DAY_US = '86400000000';

/** A double-quoted identifier (names are checked lower_snake_case; backslashes and quotes escaped). */
function ident(name: string): string {
  if (name.includes('\u0000')) throw new Error('identifiers cannot contain NUL characters');
  return `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A string literal: ClickHouse escapes with backslashes. */
function str(value: string): string {
  if (value.includes('\u0000')) throw new Error('string literals cannot contain NUL characters');
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function float(v: number): string {
  if (!Number.isFinite(v)) throw new Error(`not a finite number: ${v}`);
  const s = String(v);
  const text = /[.eE]/.test(s) ? s : `${s}.0`;
  return v < 0 ? `(${text})` : text;
}

/** The value of a SQL string literal produced by `str`, or undefined when `sql` is not one. */
function literalText(sql: string): string | undefined {
  const m = /^'((?:[^'\\]|\\.)*)'$/.exec(sql);
  return m ? m[1]!.replace(/\\(.)/g, '$1') : undefined;
}

const RANGE_FROM = Date.UTC(1970, 0, 1) * 1000;
const RANGE_TO = Date.UTC(2100, 0, 1) * 1000;
const offsetSql = new Map<string, string>();

/** Local wall-clock time of an instant (Int64 µs) in a zone, as Int64 µs since 1970-01-01 local. */
function localUs(instant: string, tzSql: string): string {
  const tz = literalText(tzSql);
  if (tz === undefined) throw new Error('ClickHouse: the time zone of a calendar function must be a literal');
  let offset = offsetSql.get(tz);
  if (offset === undefined) {
    const changes = offsetChanges(tz, RANGE_FROM, RANGE_TO);
    if (changes.length === 1) offset = String(changes[0]!.offsetUs);
    else {
      const branches = changes
        .slice(1)
        .reverse()
        .map((c) => `_us >= ${c.at}, ${c.offsetUs}`)
        .join(', ');
      offset = `multiIf(${branches}, ${changes[0]!.offsetUs})`;
    }
    offsetSql.set(tz, offset);
  }
  return offset.startsWith('multiIf')
    ? `(${instant} + ${offset.replaceAll('_us', instant)})`
    : `(${instant} + ${offset})`;
}

/** Floor division of Int64 µs into whole units (correct before 1970 too). */
const floorDiv = (x: string, unit: string) =>
  `intDiv(${x} - ((${x} % ${unit}) + ${unit}) % ${unit}, ${unit})`;
/** A DateTime in UTC whose wall clock is the local time. */
const localDateTime = (local: string) => `toDateTime(${floorDiv(local, '1000000')}, 'UTC')`;
/** Local date as Int32 days since 1970-01-01. */
const localDays = (local: string) => `toInt32(${floorDiv(local, DAY_US)})`;

/** Kleene three-valued logic: 0 = false, 0.5 = null, 1 = true. */
const enc = (b: string) => `ifNull(toFloat64(${b}), 0.5)`;
const dec = (x: string) => `if(${x} = 0.5, NULL, toUInt8(${x}))`;

/** Index of the first list item with value v, 0 when absent. */
const indexIn = (list: string, v: string) => `indexOf(arrayMap(_i -> _i.1, ${list}), ${v})`;

/** Median of a numeric array (NULL when empty; interpolated for an even count, like DuckDB's). */
function median(arr: string, empty = 'NULL'): string {
  const s = `arraySort(${arr})`;
  const n = `length(${arr})`;
  return `if(${n} = 0, ${empty}, if(${n} % 2 = 1, ${s}[intDiv(${n}, 2) + 1], (${s}[intDiv(${n}, 2)] + ${s}[intDiv(${n}, 2) + 1]) / 2.0))`;
}

function tzOf(args: readonly string[], n: number, timezone: string): string {
  return args.length > n ? args[n]! : str(timezone);
}

export const clickhouseDialect: Dialect = {
  name: 'clickhouse',
  ident,
  string: str,
  number: float,
  boolean: (v) => (v ? 'toUInt8(1)' : 'toUInt8(0)'),
  instant: (us) => `toInt64(${Math.round(us)})`,
  date: (days) => `toInt32(${Math.round(days)})`,
  columnType(t: ValueType) {
    switch (t) {
      case 'boolean':
        return 'UInt8';
      case 'number':
        return 'Float64';
      case 'string':
        return 'String';
      case 'time':
        return 'Int64';
      case 'date':
        return 'Int32';
      case 'list':
        return LIST_TYPE;
      case 'duration':
      case 'null':
        return 'String';
    }
  },
  toDouble: (s) => `toFloat64(${s})`,
  divide: (a, b) => `(toFloat64(${a}) / nullIf(toFloat64(${b}), 0))`,
  // fmod: the sign of the dividend; x % 0 is NULL.
  modulo: (a, b) => {
    const d = `nullIf(toFloat64(${b}), 0)`;
    return `(toFloat64(${a}) - ${d} * trunc(toFloat64(${a}) / ${d}))`;
  },
  addSeconds: (t, seconds) => `(${t} + toInt64(${Math.round(seconds * 1e6)}))`,
  logic: (op, a, b) => dec(`${op === 'and' ? 'least' : 'greatest'}(${enc(a)}, ${enc(b)})`),
  // A Nullable condition would make the result Nullable, which a list cannot be: null is no match.
  caseWhen: (whens, otherwise) =>
    `(CASE ${whens.map((w) => `WHEN ifNull(${w.when}, 0) THEN ${w.result}`).join(' ')} ELSE ${otherwise} END)`,
  inList(arg, list, negated) {
    // IN needs constants; otherwise `x in (a, b)` is the three-valued `x = a or x = b`, its meaning.
    const constant = list.every((x) => literalText(x) !== undefined || /^\(?-?[\d.e+]+\)?$/.test(x));
    if (constant) return `if(isNull(${arg}), NULL, ${arg} ${negated ? 'NOT IN' : 'IN'} (${list.join(', ')}))`;
    const any = list.map((x) => `(${arg} = ${x})`).reduce((a, b) => clickhouseDialect.logic('or', a, b));
    return negated ? `(NOT ${any})` : any;
  },
  call(fn, args, types, timezone) {
    const a = args;
    const local = (n: number) => localUs(a[0]!, tzOf(a, n, timezone));
    switch (fn) {
      case 'abs':
      case 'floor':
      case 'ceil':
        return `${fn}(toFloat64(${a[0]}))`;
      case 'round': {
        const digits = a[1] === undefined ? '0' : a[1].replace(/^\((.*)\)$/, '$1');
        if (!/^-?\d+(\.0)?$/.test(digits)) throw new Error('ClickHouse: round() takes literal digits');
        return `round(toFloat64(${a[0]}), ${Number.parseInt(digits, 10)})`;
      }
      case 'sqrt':
        return `if(${a[0]} < 0, NULL, sqrt(greatest(toFloat64(${a[0]}), 0.0)))`;
      case 'ln':
        return `if(${a[0]} <= 0, NULL, log(greatest(toFloat64(${a[0]}), 1e-300)))`;
      case 'least':
      case 'greatest': {
        // Nulls are ignored: fold pairwise, each side falling back to the other.
        return a.reduce((acc, x) => `${fn}(ifNull(${acc}, ${x}), ifNull(${x}, ${acc}))`);
      }
      case 'coalesce':
        return `coalesce(${a.join(', ')})`;
      case 'lower':
        return `lowerUTF8(${a[0]})`;
      case 'upper':
        return `upperUTF8(${a[0]})`;
      case 'length':
        return `toFloat64(lengthUTF8(${a[0]}))`;
      case 'contains':
        return `(position(${a[0]}, ${a[1]}) > 0)`;
      case 'starts_with':
        return `startsWith(${a[0]}, ${a[1]})`;
      case 'ends_with':
        return `endsWith(${a[0]}, ${a[1]})`;
      case 'hour':
        return `toFloat64(toHour(${localDateTime(local(1))}))`;
      case 'minute':
        return `toFloat64(toMinute(${localDateTime(local(1))}))`;
      case 'weekday':
        return `toFloat64(toDayOfWeek(${localDateTime(local(1))}))`;
      case 'day':
        return `toFloat64(toDayOfMonth(${localDateTime(local(1))}))`;
      case 'month':
        return `toFloat64(toMonth(${localDateTime(local(1))}))`;
      case 'year':
        return `toFloat64(toYear(${localDateTime(local(1))}))`;
      case 'is_weekend':
        return `(toDayOfWeek(${localDateTime(local(1))}) >= 6)`;
      case 'date': {
        if (types[0] === 'string') {
          const text = literalText(a[0]!);
          if (text === undefined) throw new Error('ClickHouse: date() of text takes a literal');
          const days = parseIsoDate(text);
          return days === null ? 'CAST(NULL AS Nullable(Int32))' : clickhouseDialect.date(days);
        }
        return localDays(local(1));
      }
      case 'timestamp': {
        const text = literalText(a[0]!);
        if (text === undefined) throw new Error('ClickHouse: timestamp() takes a literal');
        const us = parseIsoInstant(text);
        return us === null ? 'CAST(NULL AS Nullable(Int64))' : clickhouseDialect.instant(us);
      }
      case 'days_between':
        return types.includes('date')
          ? `toFloat64(${a[1]} - ${a[0]})`
          : `((${a[1]} - ${a[0]}) / ${DAY_US}.0)`;
      case 'has':
      case 'prefers':
        return `if(isNull(${a[1]}), NULL, ${indexIn(a[0]!, a[1]!)} > 0)`;
      case 'size':
        return `toFloat64(length(${a[0]}))`;
      case 'score_of':
        return `if(${indexIn(a[0]!, a[1]!)} = 0, NULL, arrayMap(_i -> _i.2, ${a[0]})[${indexIn(a[0]!, a[1]!)}])`;
      case 'top_value':
        return `if(length(${a[0]}) = 0, NULL, tupleElement(${a[0]}[1], 1))`;
    }
    if (!FUNCTION_BY_NAME.has(fn)) throw new Error(`no SQL for function ${fn}`);
    throw new Error(`the ClickHouse dialect has no SQL for function ${fn}`);
  },
  aggregate(a: AggregateSql) {
    const cond = (extra?: string) => {
      const conds = [extra, a.condition].filter((c): c is string => c !== undefined);
      // A literal NULL in a condition has ClickHouse type Nullable(Nothing): give it a type.
      const typed = (c: string) => (/\bNULL\b/.test(c) ? `CAST((${c}) AS Nullable(UInt8))` : `(${c})`);
      return conds.length === 0 ? '1' : conds.map(typed).join(' AND ');
    };
    const valued = cond(`isNotNull(${a.arg})`);
    // An aggregate over no (non-null) rows is NULL, not ClickHouse's 0 or nan.
    const orNull = (n: string, sql: string, min = 1) => `if(countIf(${n}) < ${min}, NULL, ${sql})`;
    const order = `tuple(${[a.time, ...a.order].join(', ')})`;
    switch (a.fn) {
      case 'count':
        return a.arg === undefined ? `countIf(${cond()})` : `countIf(${valued})`;
      case 'sum':
        return `ifNull(toFloat64(sumIf(${a.arg}, ${cond()})), 0.0)`;
      case 'avg':
        return orNull(valued, `avgIf(${a.arg}, ${cond()})`);
      case 'min':
        return orNull(valued, `minIf(${a.arg}, ${cond()})`);
      case 'max':
        return orNull(valued, `maxIf(${a.arg}, ${cond()})`);
      case 'distinct_count':
        return `uniqExactIf(${a.arg}, ${cond()})`;
      case 'share':
        return orNull(cond(), `avgIf(toFloat64(ifNull(${a.arg}, 0)), ${cond()})`);
      case 'first':
        return orNull(valued, `argMinIf(${a.arg}, ${order}, ${valued})`);
      case 'last':
        return orNull(valued, `argMaxIf(${a.arg}, ${order}, ${valued})`);
      case 'first_time':
        return orNull(cond(), `minIf(${a.time}, ${cond()})`);
      case 'last_time':
        return orNull(cond(), `maxIf(${a.time}, ${cond()})`);
      case 'stddev':
        return orNull(valued, `stddevSampIf(${a.arg}, ${cond()})`, 2);
    }
  },
  rankMeasure(m: RankMeasure, argSql, time, timezone) {
    switch (m.fn) {
      case 'count':
        return 'toFloat64(count())';
      case 'sum':
        return `ifNull(toFloat64(sum(${argSql})), 0.0)`;
      case 'distinct_days':
        return `toFloat64(uniqExact(${localDays(localUs(time, str(timezone)))}))`;
    }
  },
  topList(valueSql, scoreSql, k) {
    const sorted = `arraySort(_x -> (-_x.2, _x.1), groupArray((assumeNotNull(${valueSql}), toFloat64(${scoreSql}))))`;
    if (k === undefined) return `tupleElement(${sorted}[1], 1)`;
    return `arraySlice(${sorted}, 1, ${k})`;
  },
  affinitySelect(q) {
    const p = q.params;
    const d = clickhouseDialect;
    const measure = d.rankMeasure(q.measure, q.measureArg, q.time, q.timezone);
    const pos = (from: string, only: string) =>
      `SELECT ${q.entity} AS _e, assumeNotNull(${q.dim}) AS v, toFloat64(count()) AS n, toFloat64(${measure}) AS m
        FROM ${from} WHERE ${q.where} AND isNotNull(${q.dim})${only} GROUP BY _e, v HAVING m > 0`;
    const only = q.only !== undefined ? ` AND ${q.entity} = ${q.only}` : '';
    // The population share of each value reads every entity (on a cluster: the Distributed table).
    const pop = `SELECT tupleElement(_pv, 1) AS v, tupleElement(_pv, 2) / _total AS p FROM (
        SELECT groupArray((v, vm)) AS _pvs, sum(vm) AS _total FROM (
          SELECT v, sum(m) AS vm FROM (${pos(q.populationFrom ?? q.from, '')}) GROUP BY v)) ARRAY JOIN _pvs AS _pv`;
    const withTotals = `SELECT _e, tupleElement(_x, 1) AS v, tupleElement(_x, 2) AS n, tupleElement(_x, 3) AS m, _n AS tn, _m AS tm FROM (
        SELECT _e, groupArray((v, n, m)) AS _xs, sum(n) AS _n, sum(m) AS _m FROM (${pos(q.from, only)}) GROUP BY _e) ARRAY JOIN _xs AS _x`;
    const prior = float(p.prior);
    const scored = `SELECT _e, v, ((tn * (m / tm) + ${prior} * p) / (tn + ${prior})) / p AS score
        FROM (${withTotals}) ALL INNER JOIN (${pop}) USING v WHERE n >= ${float(p.minSupport)}`;
    return `SELECT _e AS "_tv_entity",
        arraySlice(arraySort(_x -> (-_x.2, _x.1), groupArray((v, score))), 1, ${p.k}) AS ${ident(q.column)}
      FROM (${scored}) WHERE score >= ${float(p.minScore)} GROUP BY _e`;
  },
  recurrenceSelect(q) {
    const p = q.params;
    const c = (f: string) => ident(q.columns[f]!);
    const only = q.only !== undefined ? ` AND ${q.entity} = ${q.only}` : '';
    const v = q.dim !== undefined ? `assumeNotNull(${q.dim})` : "''";
    const dimOk = q.dim !== undefined ? ` AND isNotNull(${q.dim})` : '';
    // Purchase days (local) with their latest time, per (entity, value).
    const days = `SELECT ${q.entity} AS _e, ${v} AS v, toFloat64(${localDays(localUs(q.time, str(q.timezone)))}) AS d, max(${q.time}) AS lt
        FROM ${q.from} WHERE ${q.where}${dimOk}${only} GROUP BY _e, v, d`;
    // Lambdas capture no columns (18.16 prunes captured columns from subqueries): scalars are passed
    // as arrays with replicate().
    // Per (entity, value): ds sorted days; g gaps (first 0, unused); m0 median gap; starts of episodes;
    // xs gaps between starts folded for one missed cycle.
    const perValue = `SELECT _e, v, ds, last, m0, starts, xs FROM (
        SELECT _e, v, ds, last, m0, starts,
          arrayMap((_b, _m) -> _b / if(abs(_b / _m - 2.0) <= 0.25, 2.0, 1.0), arrayPopFront(arrayDifference(starts)),
            replicate(m0, arrayPopFront(arrayDifference(starts)))) AS xs FROM (
          SELECT _e, v, ds, last, m0,
            arrayFilter((_d, _g, _i, _m) -> _i = 1 OR _g >= 0.5 * _m, ds, arrayDifference(ds), arrayEnumerate(ds), replicate(m0, ds)) AS starts FROM (
            SELECT _e, v, ds, last, ${median('arrayPopFront(arrayDifference(ds))', '0.0')} AS m0 FROM (
              SELECT _e, v, arraySort(groupArray(d)) AS ds, max(lt) AS last FROM (${days}) GROUP BY _e, v))))`;
    const stats = `SELECT _e, v, last, toFloat64(length(starts)) AS cycles,
        ${median('xs')} AS period,
        if(length(xs) = 0, NULL, arrayReduce('stddevPop', xs) / (arraySum(xs) / length(xs))) AS cv
      FROM (${perValue})`;
    const regular = `ifNull(cycles >= ${p.minEvents} AND cv <= ${float(p.maxCv)} AND period >= 1
        AND (${q.asOf} - last) / ${DAY_US}.0 <= 2.5 * period, 0)`;
    const base = `SELECT _e, v, last, cycles, period, cv, toUInt8(${regular}) AS regular FROM (${stats})`;
    // The most regular value per entity: regular first, then lowest cv (nulls last), most cycles, value.
    const best = `SELECT _e, arraySort(_x -> (-_x.1, isNull(_x.2), ifNull(_x.2, 0), -_x.3, _x.4),
        groupArray((regular, cv, cycles, v, last, period))) [1] AS b FROM (${base}) GROUP BY _e`;
    const fields = `SELECT _e, tupleElement(b, 1) AS regular, tupleElement(b, 2) AS cv, tupleElement(b, 3) AS cycles,
        tupleElement(b, 4) AS v, tupleElement(b, 5) AS last, tupleElement(b, 6) AS period FROM (${best})`;
    const due = `SELECT *, if(regular = 1, last + toInt64(round(period * ${DAY_US}.0)), NULL) AS next_due FROM (${fields})`;
    return `SELECT _e AS "_tv_entity", regular AS ${c('regular')}, period AS ${c('period_days')}, cv AS ${c('cv')},
        cycles AS ${c('cycles')}, last AS ${c('last')}, next_due AS ${c('next_due')},
        toUInt8(ifNull(regular = 1 AND toFloat64(${q.asOf}) > toFloat64(next_due) + greatest(1.0, 0.25 * period) * ${DAY_US}.0, 0)) AS ${c('overdue')},
        ${q.dim !== undefined ? 'toNullable(v)' : 'CAST(NULL AS Nullable(String))'} AS ${c('value')}
      FROM (${due})`;
  },
  shiftSelect(q) {
    const p = q.params;
    const c = (f: string) => ident(q.columns[f]!);
    const only = q.only !== undefined ? ` AND ${q.entity} = ${q.only}` : '';
    const minEvents = float(p.minEvents);
    const minShare = float(p.minShare);
    const rows = `SELECT ${q.entity} AS _e, assumeNotNull(${q.dim}) AS v, ${q.time} AS t,
        if(${q.baseline}, 'b', 'd') AS w
      FROM ${q.from} WHERE ${q.where} AND isNotNull(${q.dim}) AND ((${q.baseline}) OR (${q.detection}))${only}`;
    const counts = `SELECT _e, w, v, count() AS n, min(t) AS mt FROM (${rows}) GROUP BY _e, w, v`;
    // Per window: total rows and the dominant value (most rows, ties by value) with its first time.
    const dom = `SELECT _e, w, toFloat64(sum(n)) AS total, arraySort(_x -> (-_x.2, _x.1), groupArray((v, n, mt)))[1] AS top
      FROM (${counts}) GROUP BY _e, w`;
    const pair = `SELECT _e, arrayFilter(_x -> _x.1 = 'b', ws)[1] AS b, arrayFilter(_x -> _x.1 = 'd', ws)[1] AS d FROM (
        SELECT _e, groupArray((w, total, top)) AS ws FROM (${dom}) GROUP BY _e HAVING length(ws) = 2)`;
    const flat = `SELECT _e, tupleElement(tupleElement(b, 3), 1) AS vfrom, tupleElement(tupleElement(d, 3), 1) AS vto,
        toFloat64(tupleElement(tupleElement(b, 3), 2)) / tupleElement(b, 2) AS sb,
        toFloat64(tupleElement(tupleElement(d, 3), 2)) / tupleElement(d, 2) AS sd,
        tupleElement(b, 2) AS cb, tupleElement(d, 2) AS cd, tupleElement(tupleElement(d, 3), 3) AS since FROM (${pair})`;
    const changed = `toUInt8(cb >= ${minEvents} AND cd >= ${minEvents} AND sb >= ${minShare} AND sd >= ${minShare} AND vfrom != vto)`;
    return `SELECT _e AS "_tv_entity", changed AS ${c('changed')},
        if(changed = 1, toNullable(vfrom), NULL) AS ${c('from')}, if(changed = 1, toNullable(vto), NULL) AS ${c('to')},
        if(changed = 1, toNullable(since), NULL) AS ${c('since')},
        if(changed = 1, toNullable(least(sb, sd) * least(1.0, least(cb, cd) / (2.0 * ${minEvents}))), NULL) AS ${c('confidence')}
      FROM (SELECT *, ${changed} AS changed FROM (${flat}))`;
  },
  leftJoinSelect(q: JoinSelect) {
    // One JOIN per query: each join nests the previous result. Right-hand columns are made Nullable
    // so an entity without a row gets NULL (lists cannot be Nullable: they get the empty list).
    const out = (col: JoinSelect['columns'][number]) => col.as ?? col.column;
    const key = '_tv_join_key';
    const cols = (alias: string, wrap: boolean) =>
      q.columns
        .filter((c) => c.alias === alias)
        .map(
          (c) =>
            `${wrap && c.type !== 'list' ? `toNullable(${ident(c.column)})` : ident(c.column)} AS ${ident(out(c))}`,
        );
    let sql = `SELECT ${[`${ident(q.base.key)} AS ${key}`, ...cols(q.base.alias, false)].join(', ')} FROM ${q.base.table}`;
    for (const j of q.joins) {
      sql = `SELECT * FROM (${sql}) ALL LEFT JOIN (SELECT ${[`${ident(j.key)} AS ${key}`, ...cols(j.alias, true)].join(', ')} FROM ${j.table}) USING ${key}`;
    }
    return `SELECT ${q.columns.map((c) => ident(out(c))).join(', ')} FROM (${sql})`;
  },
  emptyList: () => `CAST([] AS ${LIST_TYPE})`,
  nullOf(t) {
    if (t === 'null') return 'NULL';
    if (t === 'list') return `CAST([] AS ${LIST_TYPE})`;
    return `CAST(NULL AS Nullable(${clickhouseDialect.columnType(t)}))`;
  },
};
