/** The DuckDB dialect: the default spelling of every function is already DuckDB's (functions.ts). */
import { FUNCTION_BY_NAME } from '../../lang/functions.js';
import type { RankMeasure, ValueType } from '../../lang/ir.js';
import { offsetChanges } from '../../lang/time.js';
import { ident, str } from '../../warehouse/sql.js';
import type { AggregateSql, Dialect, JoinSelect } from '../dialect.js';

const LIST_TYPE = 'STRUCT("value" VARCHAR, score DOUBLE)[]';

function isoFromMicros(us: number): string {
  const ms = Math.floor(us / 1000);
  const rest = us - ms * 1000;
  const iso = new Date(ms).toISOString(); // 2025-06-30T23:59:59.999Z
  return `${iso.slice(0, 23)}${String(rest).padStart(3, '0')}Z`;
}

const RANGE_FROM = Date.UTC(1970, 0, 1) * 1000;
const RANGE_TO = Date.UTC(2100, 0, 1) * 1000;
const offsetSql = new Map<string, string>();

/**
 * The local date-time (a naive TIMESTAMP) of an instant in a zone. DuckDB's calendar functions on
 * TIMESTAMPTZ go through ICU for every row (measured 30-50x slower), so for a zone named by a literal
 * the UTC offset is looked up in the zone's table of offset changes (from Intl, the same source the
 * other engines use) and added as integer microseconds. A zone read from a column falls back to ICU.
 */
function localTime(instant: string, tzSql: string): string {
  const m = /^'((?:[^']|'')*)'$/.exec(tzSql);
  if (!m) return `timezone(${tzSql}, ${instant})`;
  const tz = m[1]!.replace(/''/g, "'");
  let offset = offsetSql.get(tz);
  if (offset === undefined) {
    const changes = offsetChanges(tz, RANGE_FROM, RANGE_TO);
    if (changes.length === 1) offset = String(changes[0]!.offsetUs);
    else {
      // Newest first: recent instants, the common case, match after few comparisons.
      const branches = changes
        .slice(1)
        .reverse()
        .map((c) => `WHEN _us >= ${c.at} THEN ${c.offsetUs}`)
        .join(' ');
      offset = `CASE ${branches} ELSE ${changes[0]!.offsetUs} END`;
    }
    offsetSql.set(tz, offset);
  }
  const us = `epoch_us(${instant})`;
  return offset.startsWith('CASE')
    ? `make_timestamp(${us} + (${offset.replaceAll('_us', us)}))`
    : `make_timestamp(${us} + ${offset})`;
}

export const duckdbDialect: Dialect = {
  name: 'duckdb',
  ident,
  string: str,
  number(v) {
    if (!Number.isFinite(v)) throw new Error(`not a finite number: ${v}`);
    // Always DOUBLE: `3.0` would be a DECIMAL, and DECIMAL arithmetic overflows (1e11 * 1e11).
    return `CAST(${v} AS DOUBLE)`;
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
  logic: (op, a, b) => `(${a} ${op.toUpperCase()} ${b})`,
  caseWhen: (whens, otherwise) =>
    `(CASE ${whens.map((w) => `WHEN ${w.when} THEN ${w.result}`).join(' ')} ELSE ${otherwise} END)`,
  inList: (arg, list, negated) => `(${arg} ${negated ? 'NOT IN' : 'IN'} (${list.join(', ')}))`,
  leftJoinSelect(q: JoinSelect) {
    const cols = q.columns.map(
      (c) => `${c.alias}.${ident(c.column)}${c.as !== undefined ? ` AS ${ident(c.as)}` : ''}`,
    );
    const joins = q.joins.map(
      (j) =>
        `LEFT JOIN ${j.table} AS ${j.alias} ON ${j.alias}.${ident(j.key)} = ${q.base.alias}.${ident(q.base.key)}`,
    );
    return `SELECT ${cols.join(', ')} FROM ${q.base.table} AS ${q.base.alias} ${joins.join(' ')}`;
  },
  call(fn, args, types, timezone) {
    const f = FUNCTION_BY_NAME.get(fn);
    if (!f) throw new Error(`no SQL for function ${fn}`);
    return f.sql(
      args,
      {
        tz: (a, n) => (a.length > n ? a[n]! : str(timezone)),
        local: (a, n) => localTime(a[0]!, a.length > n ? a[n]! : str(timezone)),
      },
      types,
    );
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
        return `CAST(count(DISTINCT CAST(${localTime(time, str(timezone))} AS DATE)) AS DOUBLE)`;
    }
  },
  topList(valueSql, scoreSql, k) {
    const ordered = `ORDER BY ${scoreSql} DESC, ${valueSql} ASC`;
    if (k === undefined) return `(list(${valueSql} ${ordered}))[1]`;
    return `(list(struct_pack("value" := ${valueSql}, score := ${scoreSql}) ${ordered}))[1:${k}]`;
  },
  affinitySelect(q) {
    const p = q.params;
    const measure = duckdbDialect.rankMeasure(q.measure, q.measureArg, q.time, q.timezone);
    const only = q.only !== undefined ? ` AND pos._e = ${q.only}` : '';
    return `WITH ev AS MATERIALIZED (
        SELECT ${q.entity} AS _e, ${q.dim} AS v, count(*) AS n, ${measure} AS m
        FROM ${q.from} WHERE ${q.where} AND ${q.dim} IS NOT NULL GROUP BY 1, 2),
      pos AS MATERIALIZED (SELECT _e, v, CAST(n AS DOUBLE) AS n, CAST(m AS DOUBLE) AS m FROM ev WHERE m > 0),
      tot AS (SELECT _e, sum(n) AS n, sum(m) AS m FROM pos GROUP BY 1),
      pop AS (SELECT v, sum(m) / (SELECT sum(m) FROM pos) AS p FROM pos GROUP BY 1),
      scored AS (
        SELECT pos._e, pos.v,
          ((tot.n * (pos.m / tot.m) + ${duckdbDialect.number(p.prior)} * pop.p) / (tot.n + ${duckdbDialect.number(p.prior)})) / pop.p AS score
        FROM pos JOIN tot ON tot._e = pos._e JOIN pop ON pop.v = pos.v
        WHERE pos.n >= ${duckdbDialect.number(p.minSupport)}${only})
      SELECT _e AS "_tv_entity",
        (list(struct_pack("value" := v, score := score) ORDER BY score DESC, v ASC))[1:${p.k}] AS ${ident(q.column)}
      FROM scored WHERE score >= ${duckdbDialect.number(p.minScore)} GROUP BY 1`;
  },
  recurrenceSelect(q) {
    const p = q.params;
    const only = q.only !== undefined ? ` AND ${q.entity} = ${q.only}` : '';
    const c = (f: string) => ident(q.columns[f]!);
    const dayUs = '86400000000.0';
    // Without a dimension every row has the same value '', so one cycle per entity.
    const v = q.dim ?? "''";
    const dimOk = q.dim !== undefined ? ` AND ${q.dim} IS NOT NULL` : '';
    const k = '_e, v';
    const on = (a: string, b: string) => `${a}._e = ${b}._e AND ${a}.v = ${b}.v`;
    // One scan: the purchase days with their latest time, then window functions per (entity, value).
    return `WITH days AS MATERIALIZED (
        SELECT ${q.entity} AS _e, ${v} AS v,
          CAST(date_diff('day', DATE '1970-01-01', CAST(${localTime(q.time, str(q.timezone))} AS DATE)) AS DOUBLE) AS d,
          max(${q.time}) AS lt
        FROM ${q.from} WHERE ${q.where}${dimOk}${only} GROUP BY 1, 2, 3),
      gaps AS (SELECT _e, v, d, d - lag(d) OVER (PARTITION BY ${k} ORDER BY d) AS g FROM days),
      typical AS (SELECT _e, v, d, g, median(g) OVER (PARTITION BY ${k}) AS m0 FROM gaps),
      starts AS (SELECT _e, v, m0, d - lag(d) OVER (PARTITION BY ${k} ORDER BY d) AS big
        FROM typical WHERE g IS NULL OR g >= 0.5 * m0),
      xs AS (SELECT _e, v, big / (CASE WHEN abs(big / m0 - 2.0) <= 0.25 THEN 2.0 ELSE 1.0 END) AS x FROM starts),
      stats AS (SELECT ${k}, count(*) AS cycles, median(x) AS period, stddev_pop(x) / avg(x) AS cv FROM xs GROUP BY ${k}),
      lst AS (SELECT ${k}, max(lt) AS last FROM days GROUP BY ${k}),
      base AS (
        SELECT lst._e, lst.v, lst.last, COALESCE(stats.cycles, 0) AS cycles, stats.period, stats.cv,
          COALESCE(stats.cycles >= ${p.minEvents} AND stats.cv <= ${duckdbDialect.number(p.maxCv)} AND stats.period >= 1
            AND (epoch_us(${q.asOf}) - epoch_us(lst.last)) / ${dayUs} <= 2.5 * stats.period, FALSE) AS regular
        FROM lst LEFT JOIN stats ON ${on('stats', 'lst')}),
      best AS (
        SELECT * FROM base
        QUALIFY row_number() OVER (PARTITION BY _e ORDER BY regular DESC, cv ASC NULLS LAST, cycles DESC, v ASC) = 1),
      due AS (
        SELECT *, CASE WHEN regular THEN last + to_microseconds(CAST(round(period * ${dayUs}) AS BIGINT)) END AS next_due FROM best)
      SELECT _e AS "_tv_entity", regular AS ${c('regular')}, period AS ${c('period_days')}, cv AS ${c('cv')},
        CAST(cycles AS DOUBLE) AS ${c('cycles')}, last AS ${c('last')}, next_due AS ${c('next_due')},
        COALESCE(regular AND CAST(epoch_us(${q.asOf}) AS DOUBLE) > CAST(epoch_us(next_due) AS DOUBLE) + greatest(1.0, 0.25 * period) * ${dayUs}, FALSE) AS ${c('overdue')},
        ${q.dim !== undefined ? 'v' : 'CAST(NULL AS VARCHAR)'} AS ${c('value')}
      FROM due`;
  },
  shiftSelect(q) {
    const p = q.params;
    const only = q.only !== undefined ? ` AND ${q.entity} = ${q.only}` : '';
    const c = (f: string) => ident(q.columns[f]!);
    const minEvents = duckdbDialect.number(p.minEvents);
    const minShare = duckdbDialect.number(p.minShare);
    return `WITH r AS MATERIALIZED (
        SELECT ${q.entity} AS _e, ${q.dim} AS v, ${q.time} AS t,
          CASE WHEN ${q.baseline} THEN 'b' WHEN ${q.detection} THEN 'd' END AS w
        FROM ${q.from} WHERE ${q.where} AND ${q.dim} IS NOT NULL AND ((${q.baseline}) OR (${q.detection}))${only}),
      c AS (SELECT _e, w, v, count(*) AS n FROM r GROUP BY _e, w, v),
      dom AS (SELECT _e, w, CAST(sum(n) AS DOUBLE) AS total, (list(v ORDER BY n DESC, v ASC))[1] AS dv,
          CAST(max(n) AS DOUBLE) AS dn FROM c GROUP BY 1, 2),
      pair AS (
        SELECT b._e, b.dv AS vfrom, d.dv AS vto, b.dn / b.total AS sb, d.dn / d.total AS sd, b.total AS cb, d.total AS cd,
          (b.total >= ${minEvents} AND d.total >= ${minEvents} AND b.dn / b.total >= ${minShare}
            AND d.dn / d.total >= ${minShare} AND b.dv <> d.dv) AS changed
        FROM dom b JOIN dom d ON d._e = b._e AND b.w = 'b' AND d.w = 'd'),
      since AS (SELECT r._e, min(r.t) AS since FROM r JOIN pair ON pair._e = r._e AND r.w = 'd' AND r.v = pair.vto GROUP BY 1)
      SELECT pair._e AS "_tv_entity", changed AS ${c('changed')},
        CASE WHEN changed THEN vfrom END AS ${c('from')}, CASE WHEN changed THEN vto END AS ${c('to')},
        CASE WHEN changed THEN since.since END AS ${c('since')},
        CASE WHEN changed THEN least(sb, sd) * least(1.0, least(cb, cd) / (2.0 * ${minEvents})) END AS ${c('confidence')}
      FROM pair LEFT JOIN since ON since._e = pair._e`;
  },
  emptyList: () => `CAST([] AS ${LIST_TYPE})`,
  nullOf(t) {
    return t === 'null' ? 'NULL' : `CAST(NULL AS ${duckdbDialect.columnType(t)})`;
  },
};
