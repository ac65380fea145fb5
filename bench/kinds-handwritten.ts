/**
 * Hand-written DuckDB SQL for a few of the card pack's affinity and recurrence tags, written from
 * the semantics in docs/language.md (not from the compiler's output) the way an analyst would: one
 * query per tag, window functions where the compiler uses joins. bench/kinds.bench.ts times them
 * against `tagverse build` of the same tags and checks that both give the same values.
 *
 * Local dates in Asia/Seoul (UTC+9, no daylight saving since 1988) are epoch microseconds + 9 h,
 * divided into days.
 */

const DAY_US = 86_400_000_000;
const SEOUL_US = 9 * 3_600_000_000;

const ts = (us: number) => `CAST('${new Date(us / 1000).toISOString()}' AS TIMESTAMPTZ)`;

export interface HandAffinity {
  readonly tag: string;
  readonly where: string;
  readonly dimension: string;
  /** `count` or `distinct_days`. */
  readonly measure: 'count' | 'distinct_days';
  readonly windowDays: number;
  readonly top: number;
  readonly minSupport: number;
  readonly prior: number;
  readonly minScore: number;
}

export interface HandRecurrence {
  readonly tag: string;
  readonly where: string;
  readonly windowDays: number;
  readonly minEvents: number;
  readonly maxCv: number;
}

/** The same definitions as packs/card/tags/tastes.yaml and cycles.yaml. */
export const HAND_AFFINITY: readonly HandAffinity[] = [
  {
    tag: 'lifestyle_affinity',
    where:
      "country = 'KR' AND category NOT IN ('airline', 'hotel', 'travel_agency', 'airport', 'duty_free', 'car_rental')",
    dimension:
      "CASE WHEN category IN ('pet', 'veterinary') THEN 'pets' WHEN category IN ('department_store', 'jewelry') THEN 'luxury' WHEN category IN ('fitness', 'sporting_goods') THEN 'fitness' ELSE category END",
    measure: 'distinct_days',
    windowDays: 365,
    top: 8,
    minSupport: 5,
    prior: 20,
    minScore: 1.5,
  },
  {
    tag: 'cuisine_affinity',
    where: "category = 'restaurant' AND country = 'KR'",
    dimension: 'cuisine',
    measure: 'count',
    windowDays: 365,
    top: 3,
    minSupport: 6,
    prior: 10,
    minScore: 2.75,
  },
];

export const HAND_RECURRENCE: readonly HandRecurrence[] = [
  { tag: 'fuel_cycle', where: "category = 'fuel'", windowDays: 180, minEvents: 4, maxCv: 0.5 },
  { tag: 'phone_bill_cycle', where: "category = 'telecom'", windowDays: 365, minEvents: 4, maxCv: 0.35 },
  { tag: 'haircut_cycle', where: "category = 'beauty'", windowDays: 365, minEvents: 4, maxCv: 0.35 },
];

/** Entity -> list of (value, score), best first; entities without a preference have no row. */
export function handAffinitySql(a: HandAffinity, asOfUs: number): string {
  const m = a.measure === 'count' ? 'count(*)' : `count(DISTINCT (epoch_us(ts) + ${SEOUL_US}) // ${DAY_US})`;
  return `
WITH per_value AS (
  SELECT customer_id AS entity_id, ${a.dimension} AS v, CAST(count(*) AS DOUBLE) AS n, CAST(${m} AS DOUBLE) AS m
  FROM main.transactions
  WHERE ts <= ${ts(asOfUs)} AND ts > ${ts(asOfUs - a.windowDays * DAY_US)} AND ${a.where} AND ${a.dimension} IS NOT NULL
  GROUP BY ALL),
shares AS (
  SELECT entity_id, v, n, m,
    sum(n) OVER (PARTITION BY entity_id) AS n_all,
    sum(m) OVER (PARTITION BY entity_id) AS m_all,
    sum(m) OVER (PARTITION BY v) / sum(m) OVER () AS pop
  FROM per_value WHERE m > 0),
scored AS (
  SELECT entity_id, v, ((n_all * (m / m_all) + ${a.prior} * pop) / (n_all + ${a.prior})) / pop AS score
  FROM shares WHERE n >= ${a.minSupport})
SELECT entity_id, list({'value': v, 'score': score} ORDER BY score DESC, v ASC)[1:${a.top}] AS "${a.tag}"
FROM scored WHERE score >= ${a.minScore}
GROUP BY entity_id`;
}

/** Entity -> the most regular cycle over merchants and its companions. */
export function handRecurrenceSql(r: HandRecurrence, asOfUs: number): string {
  const T = ts(asOfUs);
  return `
WITH days AS (
  SELECT customer_id AS entity_id, merchant_id AS v, (epoch_us(ts) + ${SEOUL_US}) // ${DAY_US} AS d, max(ts) AS last_ts
  FROM main.transactions
  WHERE ts <= ${T} AND ts > ${ts(asOfUs - r.windowDays * DAY_US)} AND ${r.where} AND merchant_id IS NOT NULL
  GROUP BY ALL),
gaps AS (
  SELECT entity_id, v, d, last_ts, CAST(d - lag(d) OVER (PARTITION BY entity_id, v ORDER BY d) AS DOUBLE) AS gap
  FROM days),
typical AS (SELECT *, median(gap) OVER (PARTITION BY entity_id, v) AS m0 FROM gaps),
episodes AS (
  SELECT entity_id, v, m0, d - lag(d) OVER (PARTITION BY entity_id, v ORDER BY d) AS g
  FROM typical WHERE gap IS NULL OR gap >= 0.5 * m0),
folded AS (
  SELECT entity_id, v, count(*) AS cycles,
    median(CASE WHEN abs(g / m0 - 2.0) <= 0.25 THEN g / 2.0 ELSE g END) AS period,
    stddev_pop(CASE WHEN abs(g / m0 - 2.0) <= 0.25 THEN g / 2.0 ELSE g END)
      / avg(CASE WHEN abs(g / m0 - 2.0) <= 0.25 THEN g / 2.0 ELSE g END) AS cv
  FROM episodes GROUP BY ALL),
last AS (SELECT entity_id, v, max(last_ts) AS last FROM days GROUP BY ALL),
cycle AS (
  SELECT l.entity_id, l.v, l.last, f.cycles, f.period, f.cv,
    COALESCE(f.cycles >= ${r.minEvents} AND f.cv <= ${r.maxCv} AND f.period >= 1
      AND (epoch_us(${T}) - epoch_us(l.last)) / ${DAY_US}.0 <= 2.5 * f.period, FALSE) AS regular
  FROM last l LEFT JOIN folded f USING (entity_id, v)
  QUALIFY row_number() OVER (PARTITION BY l.entity_id ORDER BY regular DESC, f.cv ASC NULLS LAST, f.cycles DESC, l.v ASC) = 1)
SELECT entity_id, regular AS "${r.tag}", period AS period_days, cv, CAST(COALESCE(cycles, 0) AS DOUBLE) AS cycles, last,
  CASE WHEN regular THEN last + to_microseconds(CAST(round(period * ${DAY_US}.0) AS BIGINT)) END AS next_due,
  COALESCE(regular AND epoch_us(${T}) > epoch_us(last) + round(period * ${DAY_US}.0) + greatest(1.0, 0.25 * period) * ${DAY_US}.0, FALSE) AS overdue,
  v AS value
FROM cycle`;
}
