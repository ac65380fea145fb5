/**
 * Local calendar parts of an instant in an IANA time zone, for the reference and incremental
 * (src/realtime/engine.ts) evaluators. Instants are epoch microseconds. Uses Intl (ICU), like the
 * warehouse does.
 */

export interface LocalParts {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  /** ISO weekday: 1 = Monday ... 7 = Sunday. */
  readonly weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      weekday: 'short',
      hourCycle: 'h23',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** Local parts read straight from ICU: the definition the fast path below is checked against. */
export function localPartsIcu(epochMicros: number, tz: string): LocalParts {
  const parts = formatter(tz).formatToParts(new Date(Math.floor(epochMicros / 1000)));
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  return {
    year: Number(get('year')),
    month: Number(get('month')),
    day: Number(get('day')),
    hour: Number(get('hour')) % 24,
    minute: Number(get('minute')),
    weekday: WEEKDAYS[get('weekday')] ?? 0,
  };
}

/** Local calendar date of an instant, as days since 1970-01-01: whole days of local time since the epoch. */
export function localDateDays(epochMicros: number, tz: string): number {
  const ms = Math.floor(epochMicros / 1000);
  return Math.floor((ms + offsetMs(ms, tz)) / 86_400_000);
}

/**
 * The UTC offset of each quarter hour, cached per zone. Zones change offset only on quarter-hour
 * instants (their offsets are whole quarter hours), so the offset at the start of a quarter hour holds
 * for all of it, and local parts follow by arithmetic instead of an ICU call per value.
 */
const QUARTER_MS = 900_000;
const offsets = new Map<string, Map<number, number>>();

/** The last quarter hour looked up (rows of one entity are usually close in time). */
let lastTz = '';
let lastQuarter = Number.NaN;
let lastOff = 0;

function offsetMs(ms: number, tz: string): number {
  const quarter = Math.floor(ms / QUARTER_MS);
  if (quarter === lastQuarter && tz === lastTz) return lastOff;
  let byQuarter = offsets.get(tz);
  if (!byQuarter) {
    byQuarter = new Map();
    offsets.set(tz, byQuarter);
  }
  let off = byQuarter.get(quarter);
  if (off === undefined) {
    const start = quarter * QUARTER_MS;
    const p = localPartsIcu(start * 1000, tz);
    off = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute) - start;
    if (byQuarter.size > 200_000) byQuarter.clear();
    byQuarter.set(quarter, off);
  }
  lastTz = tz;
  lastQuarter = quarter;
  lastOff = off;
  return off;
}

export function localParts(epochMicros: number, tz: string): LocalParts {
  const ms = Math.floor(epochMicros / 1000);
  const d = new Date(ms + offsetMs(ms, tz));
  const dow = d.getUTCDay();
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    weekday: dow === 0 ? 7 : dow,
  };
}

/** A change of a zone's UTC offset: from instant `at` (epoch µs) on, local = UTC + `offsetUs`. */
export interface OffsetChange {
  readonly at: number;
  readonly offsetUs: number;
}

/**
 * The UTC offsets of a zone between two instants: the offset at `fromUs` and every change up to
 * `toUs`, found day by day and then to the quarter hour (zones change only on quarter hours).
 * SQL engines use it to turn instants into local time with integer arithmetic instead of a
 * calendar library call per row.
 */
export function offsetChanges(tz: string, fromUs: number, toUs: number): OffsetChange[] {
  const off = (ms: number) => offsetMs(ms, tz) * 1000;
  const out: OffsetChange[] = [{ at: Number.NEGATIVE_INFINITY, offsetUs: off(Math.floor(fromUs / 1000)) }];
  const DAY = 86_400_000;
  for (let day = Math.floor(fromUs / 1000 / DAY) * DAY; day < toUs / 1000; day += DAY) {
    const before = out[out.length - 1]!.offsetUs;
    if (off(day + DAY) === before) continue;
    // The change is inside (day, day + DAY]: find its quarter hour.
    let lo = day;
    let hi = day + DAY;
    while (hi - lo > QUARTER_MS) {
      const mid = lo + Math.floor((hi - lo) / 2 / QUARTER_MS) * QUARTER_MS;
      if (off(mid) === before) lo = mid;
      else hi = mid;
    }
    out.push({ at: hi * 1000, offsetUs: off(hi) });
  }
  return out;
}
