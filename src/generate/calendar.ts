/**
 * The simulated time window as a day-by-day calendar in Korean time (Asia/Seoul, UTC+9, no DST).
 *
 * Day indexes count from the window start (00:00 KST); `t` values elsewhere are seconds since that
 * instant. Weekday, month, day-of-month and holiday flags are precomputed per day so the hot loops
 * only index arrays.
 */
import { TagverseError } from '../util/problems.js';

export const KST_OFFSET_SECONDS = 9 * 3600;
const DAY = 86_400;

/** Seollal and Chuseok (the three-day lunar holidays): the main day of each, by year. */
const LUNAR_HOLIDAYS: Readonly<Record<number, readonly string[]>> = {
  2020: ['01-25', '10-01'],
  2021: ['02-12', '09-21'],
  2022: ['02-01', '09-10'],
  2023: ['01-22', '09-29'],
  2024: ['02-10', '09-17'],
  2025: ['01-29', '10-06'],
  2026: ['02-17', '09-25'],
  2027: ['02-07', '09-15'],
  2028: ['01-27', '10-03'],
  2029: ['02-13', '09-22'],
  2030: ['02-03', '09-12'],
};
/** Buddha's Birthday (lunar, one day). */
const BUDDHA: Readonly<Record<number, string>> = {
  2020: '04-30',
  2021: '05-19',
  2022: '05-08',
  2023: '05-27',
  2024: '05-15',
  2025: '05-05',
  2026: '05-24',
  2027: '05-13',
  2028: '05-02',
  2029: '05-20',
  2030: '05-09',
};
const FIXED_HOLIDAYS = ['01-01', '03-01', '05-05', '06-06', '08-15', '10-03', '10-09', '12-25'];

export const HOLIDAY_NONE = 0;
/** A public holiday: shops keep weekend hours, nobody commutes. */
export const HOLIDAY_PUBLIC = 1;
/** Seollal or Chuseok: families travel, grocery and gift shopping peaks in the week before. */
export const HOLIDAY_LUNAR = 2;

export interface Calendar {
  readonly start: string;
  readonly months: number;
  /** Epoch seconds of the window start (00:00 KST on `start`). */
  readonly startUtc: number;
  /** Number of days in the window. */
  readonly days: number;
  /** 0 = Monday ... 6 = Sunday. */
  readonly weekday: Uint8Array;
  /** 0 = January ... 11 = December. */
  readonly monthOfYear: Uint8Array;
  readonly dayOfMonth: Uint8Array;
  /** Length of the calendar month the day is in. */
  readonly monthLength: Uint8Array;
  readonly year: Uint16Array;
  /** Which output month file (index into `monthKeys`) a day belongs to. */
  readonly monthBucket: Uint16Array;
  readonly holiday: Uint8Array;
  /** 1 in the six days before Seollal or Chuseok. */
  readonly preLunar: Uint8Array;
  /** 'YYYY-MM' of each output month file, in order. */
  readonly monthKeys: readonly string[];
  /** First day index of each output month (0 for the first, even when the window starts mid-month). */
  readonly monthFirstDay: Int32Array;
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** 'YYYY-MM-DD' of a UTC date at midnight. */
export function isoDay(epochSeconds: number): string {
  const dt = new Date(epochSeconds * 1000);
  return `${dt.getUTCFullYear()}-${pad2(dt.getUTCMonth() + 1)}-${pad2(dt.getUTCDate())}`;
}

/** Parses 'YYYY-MM-DD' strictly; returns [year, month 1-12, day] or undefined. */
export function parseIsoDate(s: string): [number, number, number] | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return undefined;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const dd = Number(m[3]);
  const dt = new Date(Date.UTC(y, mo - 1, dd));
  if (dt.getUTCFullYear() !== y || dt.getUTCMonth() !== mo - 1 || dt.getUTCDate() !== dd) return undefined;
  return [y, mo, dd];
}

/** `months` calendar months after the date, clamped to the end of a shorter month (Jan 31 + 1 = Feb 28). */
function addMonths(y: number, mo: number, dd: number, months: number): number {
  const target = new Date(Date.UTC(y, mo - 1 + months, 1));
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  return Date.UTC(target.getUTCFullYear(), target.getUTCMonth(), Math.min(dd, lastDay)) / 1000;
}

export function buildCalendar(start: string, months: number): Calendar {
  const parsed = parseIsoDate(start);
  if (!parsed)
    throw new TagverseError(
      'generate.invalid_option',
      `start must be a date like 2025-01-01, got '${start}'`,
    );
  const [y, mo, dd] = parsed;
  const startMidnightUtc = Date.UTC(y, mo - 1, dd) / 1000;
  const endMidnightUtc = addMonths(y, mo, dd, months);
  const days = Math.round((endMidnightUtc - startMidnightUtc) / DAY);

  const weekday = new Uint8Array(days);
  const monthOfYear = new Uint8Array(days);
  const dayOfMonth = new Uint8Array(days);
  const monthLength = new Uint8Array(days);
  const year = new Uint16Array(days);
  const monthBucket = new Uint16Array(days);
  const holiday = new Uint8Array(days);
  const preLunar = new Uint8Array(days);
  const monthKeys: string[] = [];
  const firstDays: number[] = [];
  const dayByIso = new Map<string, number>();

  for (let i = 0; i < days; i++) {
    const dt = new Date((startMidnightUtc + i * DAY) * 1000);
    const yy = dt.getUTCFullYear();
    const mm = dt.getUTCMonth();
    weekday[i] = (dt.getUTCDay() + 6) % 7;
    monthOfYear[i] = mm;
    dayOfMonth[i] = dt.getUTCDate();
    monthLength[i] = new Date(Date.UTC(yy, mm + 1, 0)).getUTCDate();
    year[i] = yy;
    const key = `${yy}-${pad2(mm + 1)}`;
    if (monthKeys[monthKeys.length - 1] !== key) {
      monthKeys.push(key);
      firstDays.push(i);
    }
    monthBucket[i] = monthKeys.length - 1;
    const md = `${pad2(mm + 1)}-${pad2(dt.getUTCDate())}`;
    dayByIso.set(`${yy}-${md}`, i);
    if (FIXED_HOLIDAYS.includes(md) || BUDDHA[yy] === md) holiday[i] = HOLIDAY_PUBLIC;
  }
  // Lunar holidays: the main day plus the days either side; the six days before are gift/grocery peaks.
  for (let yy = y - 1; yy <= y + Math.ceil(months / 12) + 1; yy++) {
    for (const md of LUNAR_HOLIDAYS[yy] ?? []) {
      const main = Date.UTC(yy, Number(md.slice(0, 2)) - 1, Number(md.slice(3))) / 1000;
      const idx = Math.round((main - startMidnightUtc) / DAY);
      for (let k = idx - 1; k <= idx + 1; k++) if (k >= 0 && k < days) holiday[k] = HOLIDAY_LUNAR;
      for (let k = idx - 7; k <= idx - 2; k++) if (k >= 0 && k < days) preLunar[k] = 1;
    }
  }
  return {
    start,
    months,
    startUtc: startMidnightUtc - KST_OFFSET_SECONDS,
    days,
    weekday,
    monthOfYear,
    dayOfMonth,
    monthLength,
    year,
    monthBucket,
    holiday,
    preLunar,
    monthKeys,
    monthFirstDay: Int32Array.from(firstDays),
  };
}

/** 'YYYY-MM-DD' (KST) of a day index; works for days before the window too. */
export function dayIso(cal: Calendar, day: number): string {
  return isoDay(cal.startUtc + KST_OFFSET_SECONDS + day * DAY);
}

/** Days in the calendar month containing `day` (a day inside the window). */
export function daysInMonthOf(cal: Calendar, day: number): number {
  return cal.monthLength[day] as number;
}

/** True on Monday–Friday that are not public holidays. */
export function isWorkday(cal: Calendar, day: number): boolean {
  return (cal.weekday[day] as number) < 5 && cal.holiday[day] === HOLIDAY_NONE;
}
