/**
 * UTC offsets of the few time zones the world uses, computed from their daylight-saving rules.
 *
 * Why not Intl: offsets come from the ICU data bundled with Node, which changes between versions;
 * the generator must give the same bytes everywhere, so the (stable, well-known) rules are written
 * here. Korea has no DST; Europe, the US and Sydney do, and travellers there see it.
 */

export type DstRule = 'none' | 'eu' | 'us' | 'au';

export interface Zone {
  /** IANA name, for documentation and tests. */
  readonly name: string;
  /** Standard (winter) offset from UTC in minutes. */
  readonly stdMinutes: number;
  readonly dst: DstRule;
}

export const ZONES = {
  seoul: { name: 'Asia/Seoul', stdMinutes: 540, dst: 'none' },
  tokyo: { name: 'Asia/Tokyo', stdMinutes: 540, dst: 'none' },
  bangkok: { name: 'Asia/Bangkok', stdMinutes: 420, dst: 'none' },
  hoChiMinh: { name: 'Asia/Ho_Chi_Minh', stdMinutes: 420, dst: 'none' },
  manila: { name: 'Asia/Manila', stdMinutes: 480, dst: 'none' },
  taipei: { name: 'Asia/Taipei', stdMinutes: 480, dst: 'none' },
  hongKong: { name: 'Asia/Hong_Kong', stdMinutes: 480, dst: 'none' },
  singapore: { name: 'Asia/Singapore', stdMinutes: 480, dst: 'none' },
  shanghai: { name: 'Asia/Shanghai', stdMinutes: 480, dst: 'none' },
  makassar: { name: 'Asia/Makassar', stdMinutes: 480, dst: 'none' },
  guam: { name: 'Pacific/Guam', stdMinutes: 600, dst: 'none' },
  paris: { name: 'Europe/Paris', stdMinutes: 60, dst: 'eu' },
  rome: { name: 'Europe/Rome', stdMinutes: 60, dst: 'eu' },
  amsterdam: { name: 'Europe/Amsterdam', stdMinutes: 60, dst: 'eu' },
  london: { name: 'Europe/London', stdMinutes: 0, dst: 'eu' },
  dublin: { name: 'Europe/Dublin', stdMinutes: 0, dst: 'eu' },
  newYork: { name: 'America/New_York', stdMinutes: -300, dst: 'us' },
  losAngeles: { name: 'America/Los_Angeles', stdMinutes: -480, dst: 'us' },
  sydney: { name: 'Australia/Sydney', stdMinutes: 600, dst: 'au' },
} as const satisfies Record<string, Zone>;

const DAY = 86_400;

/** Seconds since the epoch of 00:00 UTC on the given calendar day (month 1-12). */
function utcDay(year: number, month: number, day: number): number {
  return Date.UTC(year, month - 1, day) / 1000;
}

/** Day of month of the n-th (1-based) Sunday of a month. */
function nthSunday(year: number, month: number, n: number): number {
  const firstWeekday = new Date(Date.UTC(year, month - 1, 1)).getUTCDay();
  return 1 + ((7 - firstWeekday) % 7) + 7 * (n - 1);
}

function lastSunday(year: number, month: number): number {
  const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const lastWeekday = new Date(Date.UTC(year, month - 1, days)).getUTCDay();
  return days - lastWeekday;
}

/** [start, end) of daylight saving time in UTC seconds for a rule and year; for 'au' the DST period wraps the year. */
function dstBounds(rule: DstRule, year: number, stdMinutes: number): [number, number] {
  const std = stdMinutes * 60;
  switch (rule) {
    case 'eu':
      // Last Sunday of March to last Sunday of October, both at 01:00 UTC.
      return [utcDay(year, 3, lastSunday(year, 3)) + 3600, utcDay(year, 10, lastSunday(year, 10)) + 3600];
    case 'us':
      // Second Sunday of March 02:00 local standard time to first Sunday of November 02:00 local daylight time.
      return [
        utcDay(year, 3, nthSunday(year, 3, 2)) + 7200 - std,
        utcDay(year, 11, nthSunday(year, 11, 1)) + 7200 - (std + 3600),
      ];
    case 'au':
      // Southern hemisphere: DST ends first Sunday of April 03:00 daylight, starts first Sunday of October 02:00 standard.
      return [
        utcDay(year, 10, nthSunday(year, 10, 1)) + 7200 - std,
        utcDay(year, 4, nthSunday(year, 4, 1)) + 10800 - (std + 3600),
      ];
    case 'none':
      return [0, 0];
  }
}

const boundsCache = new Map<string, [number, number]>();

function cachedBounds(zone: Zone, year: number): [number, number] {
  const key = `${zone.dst}:${zone.stdMinutes}:${year}`;
  let b = boundsCache.get(key);
  if (b === undefined) {
    b = dstBounds(zone.dst, year, zone.stdMinutes);
    boundsCache.set(key, b);
  }
  return b;
}

/** UTC offset in minutes of `zone` at the instant `utcSeconds`. */
export function offsetMinutesAt(zone: Zone, utcSeconds: number): number {
  if (zone.dst === 'none') return zone.stdMinutes;
  const year = new Date(utcSeconds * 1000).getUTCFullYear();
  const [start, end] = cachedBounds(zone, year);
  const inDst =
    zone.dst === 'au' ? utcSeconds >= start || utcSeconds < end : utcSeconds >= start && utcSeconds < end;
  return zone.stdMinutes + (inDst ? 60 : 0);
}

/**
 * The UTC instant of a local wall-clock time (`localSeconds`: seconds since the epoch as if the wall
 * clock were UTC). In the spring-forward gap or the autumn overlap the standard-time reading wins,
 * which is deterministic and good enough for synthetic data.
 */
export function utcFromLocal(zone: Zone, localSeconds: number): number {
  const guess = localSeconds - zone.stdMinutes * 60;
  return localSeconds - offsetMinutesAt(zone, guess) * 60;
}

/** `+09:00`, `-04:00`: the ISO 8601 suffix for an offset in minutes. */
export function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

export const SECONDS_PER_DAY = DAY;
