/**
 * The as-of time of a build: every tag is computed from data with time <= T.
 * Accepted: 'latest_event' (the newest event in the warehouse), 'now', an ISO date (the END of that
 * day in the project time zone: `2025-06-30` includes all of June 30th), or an ISO date-time (with an
 * offset, or read in the project time zone).
 */
import { TagverseError } from '../util/problems.js';
import { str } from '../warehouse/sql.js';
import type { Warehouse } from '../warehouse/warehouse.js';

export interface AsOfContext {
  readonly timezone: string;
  readonly eventSources: readonly { readonly source: string; readonly timeColumn: string }[];
  readonly now: () => Date;
}

/** Epoch microseconds of the as-of time. */
export async function resolveAsOf(spec: string, wh: Warehouse, ctx: AsOfContext): Promise<number> {
  const s = spec.trim();
  if (s === 'now') return ctx.now().getTime() * 1000;
  if (s === 'latest_event' || s === 'latest') {
    // A project of profiles only (one row per entity, no event time) is as of now.
    if (ctx.eventSources.length === 0) return ctx.now().getTime() * 1000;
    const parts: string[] = [];
    for (const e of ctx.eventSources) {
      if (!(await wh.tableExists('raw', e.source))) continue;
      parts.push(
        `SELECT max("${e.timeColumn.replace(/"/g, '""')}") AS t FROM main."${e.source.replace(/"/g, '""')}"`,
      );
    }
    if (parts.length === 0) {
      throw new TagverseError(
        'build.no_events',
        'no events are loaded yet, so there is no latest event time; run tagverse ingest or pass --as-of',
      );
    }
    const us = await wh.scalar<bigint | null>(`SELECT epoch_us(max(t)) FROM (${parts.join(' UNION ALL ')})`);
    if (us === null || us === undefined)
      throw new TagverseError('build.no_events', 'the events sources are empty; pass --as-of');
    return Number(us);
  }
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) {
    // End of that day, local to the project: the last microsecond before the next local midnight.
    const us = await wh.scalar<bigint | null>(
      `SELECT epoch_us(timezone(${str(ctx.timezone)}, TRY_CAST(${str(s)} AS DATE) + INTERVAL 1 DAY)) - 1`,
    );
    if (us === null || us === undefined) throw invalid(spec);
    return Number(us);
  }
  const hasOffset = /(Z|[+-]\d{2}(:?\d{2})?)$/i.test(s);
  const sql = hasOffset
    ? `SELECT epoch_us(TRY_CAST(${str(s)} AS TIMESTAMPTZ))`
    : `SELECT epoch_us(timezone(${str(ctx.timezone)}, TRY_CAST(${str(s)} AS TIMESTAMP)))`;
  const us = await wh.scalar<bigint | null>(sql);
  if (us === null || us === undefined) throw invalid(spec);
  return Number(us);
}

function invalid(spec: string): TagverseError {
  return new TagverseError(
    'build.bad_as_of',
    `cannot read the as-of time '${spec}': use 'latest_event', 'now', a date (2025-06-30) or a date-time (2025-06-30T18:00:00+09:00)`,
  );
}

/** ISO 8601 (UTC) text of epoch microseconds. */
export function isoFromMicros(us: number): string {
  return new Date(Math.floor(us / 1000)).toISOString();
}
