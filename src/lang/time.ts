/**
 * Local calendar parts of an instant in an IANA time zone, for the reference (and later incremental)
 * evaluators. Instants are epoch microseconds. Uses Intl (ICU), like the warehouse does.
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

export function localParts(epochMicros: number, tz: string): LocalParts {
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

/** Local calendar date of an instant, as days since 1970-01-01. */
export function localDateDays(epochMicros: number, tz: string): number {
  const p = localParts(epochMicros, tz);
  return Date.UTC(p.year, p.month - 1, p.day) / 86_400_000;
}
