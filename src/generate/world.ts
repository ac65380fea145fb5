/**
 * Everything customers share, built once per run: the calendar, the merchant catalog and the
 * per-category day factors (weekday × season × payday × holidays) that the simulator multiplies into
 * every customer's purchase rates. Read-only after construction.
 */
import { buildCalendar, type Calendar, HOLIDAY_LUNAR, HOLIDAY_NONE } from './calendar.js';
import { buildCatalog, type Catalog } from './catalog.js';
import {
  CAT,
  CATEGORIES,
  HOUR_PROFILE_NAMES,
  HOUR_PROFILES,
  SEASON_PROFILES,
  WEEK_PROFILES,
} from './categories.js';
import { cumulative } from './prng.js';

export interface World {
  readonly seed: number;
  readonly customers: number;
  readonly cal: Calendar;
  readonly catalog: Catalog;
  /** Per category, per day: how busy the category is that day relative to an ordinary day. */
  readonly dayFactor: readonly Float32Array[];
  /** Per category: running sums of the day factors (length days + 1, starting at 0). */
  readonly dayCumulative: readonly Float64Array[];
  /** Cumulative hour weights, by hour profile index (H). */
  readonly hourCumulative: readonly Float64Array[];
}

/** Days that move particular categories: Valentine's, Parents' Day, Teachers' Day, Christmas Eve, New Year's Eve. */
function specialDay(cat: number, month: number, dom: number): number {
  if (cat === CAT.florist) {
    if (month === 1 && dom === 14) return 6;
    if (month === 4 && (dom === 8 || dom === 7)) return 8;
    if (month === 4 && dom === 15) return 4;
    if (month === 11 && dom === 24) return 3;
  }
  if (cat === CAT.restaurant && month === 11 && (dom === 24 || dom === 25)) return 1.6;
  if (cat === CAT.bar && month === 11 && dom === 31) return 2.5;
  if (cat === CAT.department_store && month === 11 && dom >= 18 && dom <= 24) return 1.8;
  return 1;
}

function lunarEffect(cat: number, holiday: number, preLunar: number): number {
  if (preLunar) {
    if (cat === CAT.grocery || cat === CAT.department_store) return 2;
    if (cat === CAT.intercity_rail) return 2.5;
  }
  if (holiday === HOLIDAY_LUNAR) {
    if (cat === CAT.grocery) return 0.4;
    if (cat === CAT.medical || cat === CAT.pharmacy) return 0.1;
    if (cat === CAT.restaurant) return 0.7;
    if (cat === CAT.intercity_rail) return 2;
  }
  return 1;
}

export function buildWorld(seed: number, customers: number, start: string, months: number): World {
  const cal = buildCalendar(start, months);
  const catalog = buildCatalog(seed, customers);
  const dayFactor: Float32Array[] = [];
  const dayCumulative: Float64Array[] = [];
  CATEGORIES.forEach((spec, c) => {
    const week = WEEK_PROFILES[spec.week];
    const season = SEASON_PROFILES[spec.season];
    const f = new Float32Array(cal.days);
    for (let d = 0; d < cal.days; d++) {
      const holiday = cal.holiday[d] as number;
      // Public holidays behave like Sundays.
      const wd = holiday === HOLIDAY_NONE ? (cal.weekday[d] as number) : 6;
      const month = cal.monthOfYear[d] as number;
      const dom = cal.dayOfMonth[d] as number;
      let v = (week[wd] as number) * (season[month] as number);
      if (spec.payday) {
        // Salaries land on the 25th: a few busy days after, a thin week before.
        if (dom >= 25 && dom <= 28) v *= 1.15;
        else if (dom >= 20 && dom <= 24) v *= 0.93;
      }
      v *= lunarEffect(c, holiday, cal.preLunar[d] as number) * specialDay(c, month, dom);
      f[d] = v;
    }
    const cf = new Float64Array(cal.days + 1);
    for (let d = 0; d < cal.days; d++) cf[d + 1] = (cf[d] as number) + (f[d] as number);
    dayFactor.push(f);
    dayCumulative.push(cf);
  });
  const hourCumulative = HOUR_PROFILE_NAMES.map((k) => cumulative(HOUR_PROFILES[k]));
  return { seed, customers, cal, catalog, dayFactor, dayCumulative, hourCumulative };
}
