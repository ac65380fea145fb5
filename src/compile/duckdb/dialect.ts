/** The DuckDB dialect: the default spelling of every function is already DuckDB's (functions.ts). */
import { FUNCTION_BY_NAME } from '../../lang/functions.js';
import type { RankMeasure, ValueType } from '../../lang/ir.js';
import { ident, str } from '../../warehouse/sql.js';
import type { AggregateSql, Dialect } from '../dialect.js';

const LIST_TYPE = 'STRUCT("value" VARCHAR, score DOUBLE)[]';

function isoFromMicros(us: number): string {
  const ms = Math.floor(us / 1000);
  const rest = us - ms * 1000;
  const iso = new Date(ms).toISOString(); // 2025-06-30T23:59:59.999Z
  return `${iso.slice(0, 23)}${String(rest).padStart(3, '0')}Z`;
}

export const duckdbDialect: Dialect = {
  name: 'duckdb',
  ident,
  string: str,
  number(v) {
    if (!Number.isFinite(v)) throw new Error(`not a finite number: ${v}`);
    return Number.isInteger(v) && Math.abs(v) < 2 ** 53 ? `${v}.0` : `CAST(${v} AS DOUBLE)`;
  },
  boolean: (v) => (v ? 'TRUE' : 'FALSE'),
  instant: (us) => `CAST('${isoFromMicros(us)}' AS TIMESTAMPTZ)`,
  date: (days) => `CAST('${new Date(days * 86_400_000).toISOString().slice(0, 10)}' AS DATE)`,
  columnType(t: ValueType) {
    switch (t) {
      case 'boolean':
        return 'BOOLEAN';
      case 'number':
        return 'DOUBLE';
      case 'string':
        return 'VARCHAR';
      case 'time':
        return 'TIMESTAMPTZ';
      case 'date':
        return 'DATE';
      case 'list':
        return LIST_TYPE;
      case 'duration':
      case 'null':
        return 'VARCHAR';
    }
  },
  toDouble: (s) => `CAST(${s} AS DOUBLE)`,
  divide: (a, b) => `(CAST(${a} AS DOUBLE) / NULLIF(CAST(${b} AS DOUBLE), 0))`,
  modulo: (a, b) => `(CAST(${a} AS DOUBLE) % NULLIF(CAST(${b} AS DOUBLE), 0))`,
  addSeconds: (t, seconds) => `(${t} + to_microseconds(CAST(${Math.round(seconds * 1e6)} AS BIGINT)))`,
  call(fn, args, types, timezone) {
    const f = FUNCTION_BY_NAME.get(fn);
    if (!f) throw new Error(`no SQL for function ${fn}`);
    return f.sql(args, { tz: (a, n) => (a.length > n ? a[n]! : str(timezone)) }, types);
  },
  aggregate(a: AggregateSql) {
    const filter = (extra?: string) => {
      const conds = [a.condition, extra].filter((c): c is string => c !== undefined);
      return conds.length === 0 ? '' : ` FILTER (WHERE ${conds.join(' AND ')})`;
    };
    const order = `(${[a.time, ...a.order].join(', ')})`;
    switch (a.fn) {
      case 'count':
        return `count(${a.arg ?? '*'})${filter()}`;
      case 'sum':
        return `COALESCE(sum(${a.arg})${filter()}, 0.0)`;
      case 'avg':
        return `avg(${a.arg})${filter()}`;
      case 'min':
        return `min(${a.arg})${filter()}`;
      case 'max':
        return `max(${a.arg})${filter()}`;
      case 'distinct_count':
        return `count(DISTINCT ${a.arg})${filter()}`;
      case 'share':
        return `avg(CASE WHEN ${a.arg} THEN 1.0 ELSE 0.0 END)${filter()}`;
      case 'first':
        return `arg_min(${a.arg}, ${order})${filter(`${a.arg} IS NOT NULL`)}`;
      case 'last':
        return `arg_max(${a.arg}, ${order})${filter(`${a.arg} IS NOT NULL`)}`;
      case 'first_time':
        return `min(${a.time})${filter()}`;
      case 'last_time':
        return `max(${a.time})${filter()}`;
      case 'stddev':
        return `stddev_samp(${a.arg})${filter()}`;
    }
  },
  rankMeasure(m: RankMeasure, argSql, time, timezone) {
    switch (m.fn) {
      case 'count':
        return 'CAST(count(*) AS DOUBLE)';
      case 'sum':
        return `COALESCE(sum(${argSql}), 0.0)`;
      case 'distinct_days':
        return `CAST(count(DISTINCT CAST(timezone(${str(timezone)}, ${time}) AS DATE)) AS DOUBLE)`;
    }
  },
  topList(valueSql, scoreSql, k) {
    const ordered = `ORDER BY ${scoreSql} DESC, ${valueSql} ASC`;
    if (k === undefined) return `(list(${valueSql} ${ordered}))[1]`;
    return `(list(struct_pack("value" := ${valueSql}, score := ${scoreSql}) ${ordered}))[1:${k}]`;
  },
  emptyList: () => `CAST([] AS ${LIST_TYPE})`,
  nullOf(t) {
    return t === 'null' ? 'NULL' : `CAST(NULL AS ${duckdbDialect.columnType(t)})`;
  },
};
