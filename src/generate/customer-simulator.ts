/**
 * Acts out one customer's plan over the window and emits their card transactions.
 *
 * Layers, each a method below:
 * - everyday spending: per category an inhomogeneous Poisson process over days whose rate is the
 *   customer's base rate × persona, demographic and household multipliers × the day factor; merchants
 *   are mostly a few favourites near home (or near work on working days), sometimes random ones;
 * - habits: commuting taps on working days, the daily morning coffee;
 * - purchase cycles (diapers, pet food, haircut, bills, fuel...) at one merchant with a period and jitter;
 * - trips: flight booked weeks ahead, airport on departure day, hotel, meals and taxis abroad in
 *   local currency and local time;
 * - life-event purchases (dealer, movers, furniture, maternity hospital, new-job clothes);
 * - one-off noise that must not fool tags (a single golf round, a baby gift, one foreign web order).
 *
 * Everything draws from the customer's own stream, in a fixed order, so the output for a customer
 * does not depend on any other customer.
 */
import { daysInMonthOf, isWorkday, KST_OFFSET_SECONDS } from './calendar.js';
import { CAT, CATEGORIES, type CategoryKey, CATEGORY_COLUMNS as COL, CUISINES, H } from './categories.js';
import type { CustomerEvents } from './event-buffer.js';
import {
  AIRPORTS,
  airportIndex,
  CITIES,
  type City,
  CURRENCIES,
  cityIndex,
  DESTINATION_INDEXES,
  DOMESTIC_DESTINATION_INDEXES,
  departureAirport,
} from './geography.js';
import { mccIndex } from './mcc-codes.js';
import { type CustomerPlan, type LifeEvent, P, planCustomer } from './personas.js';
import { cumulative, Rng, Stream } from './prng.js';
import { utcFromLocal, type Zone } from './timezones.js';
import type { World } from './world.js';

const DAY = 86_400;
const NCAT = CATEGORIES.length;
/** Calibrates total volume to ~160 transactions per customer per year (habits, cycles and trips come on top). */
const RATE_SCALE = 0.35;
const PRODUCT_SCALE = [0.85, 1.0, 1.3, 1.8];
/** Price level abroad relative to Korea, by country. */
const PRICE_LEVEL: Readonly<Record<string, number>> = {
  KR: 1,
  JP: 1.05,
  TH: 0.6,
  VN: 0.5,
  PH: 0.6,
  TW: 0.8,
  HK: 1.25,
  SG: 1.3,
  GU: 1.4,
  CN: 0.8,
  ID: 0.6,
  FR: 1.5,
  IT: 1.4,
  GB: 1.6,
  US: 1.6,
  AU: 1.4,
};
/** Categories where luxury customers spend much more per purchase. */
const LUXURY_CATS = new Set(
  (['department_store', 'jewelry', 'restaurant', 'clothing', 'hotel', 'cosmetics', 'bar'] as const).map(
    (k) => CAT[k],
  ),
);
/** Airlines Korean travellers fly to each country with. */
const AIRLINES_BY_COUNTRY: Readonly<Record<string, readonly string[]>> = {
  JP: ['Korean Air', 'Asiana Airlines', 'Jeju Air', 'Jin Air', "T'way Air", 'Japan Airlines'],
  FR: ['Korean Air', 'Air France', 'Asiana Airlines'],
  IT: ['Korean Air', 'Lufthansa', 'Asiana Airlines'],
  GB: ['Korean Air', 'Asiana Airlines', 'Lufthansa'],
  US: ['Korean Air', 'Delta Air Lines', 'Asiana Airlines'],
  GU: ['Korean Air', 'Jeju Air', "T'way Air"],
  SG: ['Singapore Airlines', 'Korean Air', 'Asiana Airlines'],
  HK: ['Cathay Pacific', 'Korean Air', 'Asiana Airlines'],
  AU: ['Korean Air', 'Asiana Airlines'],
  KR: ['Korean Air', 'Asiana Airlines', 'Jeju Air', 'Jin Air', "T'way Air"],
};

const SEOUL = cityIndex('Seoul');
const HOSPITAL_MCC = mccIndex('8062');
const BUSAN = cityIndex('Busan');

export interface CycleTruth {
  readonly item: string;
  readonly category: string;
  readonly merchant: number;
  readonly periodDays: number;
  readonly jitterDays: number;
  readonly fromDay: number;
  /** Last active day (inclusive). */
  readonly toDay: number;
}

/** What the simulation decided about a customer beyond the plan: the rest of the ground truth. */
export interface CustomerOutcome {
  readonly plan: CustomerPlan;
  readonly cycles: readonly CycleTruth[];
  readonly trips: number;
  readonly foreignTrips: number;
  /** Human-readable details per life event (same order as plan.events). */
  readonly eventDetails: readonly string[];
  readonly finalCity: number;
}

interface Trip {
  start: number;
  /** Day of return (inclusive). */
  end: number;
  city: number;
}

/** State of the household on a given day, derived from the plan's life events. */
interface State {
  infant: boolean;
  car: boolean;
  employed: boolean;
  retired: boolean;
}

export class CustomerSimulator {
  private readonly act: Float32Array;
  private readonly away: Uint8Array;
  private rng!: Rng;
  private plan!: CustomerPlan;
  private ev!: CustomerEvents;
  private first = 0;
  private end = 0;
  /** Favourite merchants: key → offset of the category's favourites in `regularIds` (reset per customer). */
  private readonly regulars = new SmallIntMap();
  private regularIds = new Int32Array(1024);
  private regularCount = 0;
  /** Merchants of the customer's purchase cycles: everyday purchases avoid them so cycles stay clean. */
  private readonly cycleMerchants = new Set<number>();
  private readonly amountScale = new Float64Array(NCAT);
  private readonly onlineShareOf = new Float64Array(NCAT);
  // Timeline of the household (from the plan's events).
  private moveDay = Number.POSITIVE_INFINITY;
  private newCity = 0;
  private newDistrict = 0;
  private newWorkDistrict = 0;
  private babyDay = Number.POSITIVE_INFINITY;
  private carDay = Number.POSITIVE_INFINITY;
  private retireDay = Number.POSITIVE_INFINITY;
  private jobDay = Number.POSITIVE_INFINITY;
  private jobDistrict = 0;
  private nightShare = 0;

  constructor(private readonly world: World) {
    this.act = new Float32Array(world.cal.days);
    this.away = new Uint8Array(world.cal.days);
  }

  simulate(index: number, out: CustomerEvents): CustomerOutcome {
    const { cal } = this.world;
    const rng = Rng.derive(this.world.seed, Stream.customer, index);
    const plan = planCustomer(rng, index, cal);
    this.rng = rng;
    this.plan = plan;
    this.ev = out;
    this.regulars.clear();
    this.regularCount = 0;
    this.first = Math.max(0, plan.signupDay);
    this.end = plan.churnDay >= 0 ? plan.churnDay : cal.days;
    this.setUpTimeline();
    this.setUpActivity();
    this.setUpAmounts();
    this.setUpOnlineShares();
    this.nightShare =
      (plan.persona[P.night_owl] as number) > 0 ? 0.3 + 0.35 * (plan.persona[P.night_owl] as number) : 0;

    const eventDetails = this.describeEvents();
    const trips = this.planTrips();
    this.cycleMerchants.clear();
    const cycles = this.cycles();
    this.everydaySpending();
    this.commute();
    this.morningCoffee();
    for (const trip of trips) this.travel(trip);
    this.lifeEventPurchases();
    this.annualInsurance();
    this.noise();
    return {
      plan,
      cycles,
      trips: trips.length,
      foreignTrips: trips.filter((t) => (CITIES[t.city] as City).country !== 'KR').length,
      eventDetails,
      finalCity: this.cityAt(this.world.cal.days - 1),
    };
  }

  // ---- timeline -------------------------------------------------------------------------------

  private setUpTimeline(): void {
    const p = this.plan;
    this.moveDay = this.babyDay = this.carDay = this.retireDay = this.jobDay = Number.POSITIVE_INFINITY;
    for (const e of p.events) {
      switch (e.kind) {
        case 'moved_city':
          this.moveDay = e.day;
          this.newCity = e.city as number;
          this.newDistrict = e.district as number;
          this.newWorkDistrict = this.rng.int((CITIES[this.newCity] as City).districts.length);
          break;
        case 'new_baby':
          this.babyDay = e.day;
          break;
        case 'new_car':
          this.carDay = e.day;
          break;
        case 'retirement':
          this.retireDay = e.day;
          break;
        case 'new_job':
          this.jobDay = e.day;
          this.jobDistrict = e.district as number;
          break;
      }
    }
  }

  private cityAt(d: number): number {
    return d >= this.moveDay ? this.newCity : this.plan.homeCity;
  }
  private homeDistrictAt(d: number): number {
    return d >= this.moveDay ? this.newDistrict : this.plan.homeDistrict;
  }
  private workDistrictAt(d: number): number {
    if (d >= this.moveDay) return this.newWorkDistrict;
    return d >= this.jobDay ? this.jobDistrict : this.plan.workDistrict;
  }
  private stateAt(d: number): State {
    const p = this.plan;
    const retired = d >= this.retireDay;
    return {
      infant: p.youngChild || d >= this.babyDay,
      car: p.carOwner || d >= this.carDay,
      employed: retired ? false : p.employed || d >= this.jobDay,
      retired,
    };
  }
  private employedAt(d: number): boolean {
    if (d >= this.retireDay) return false;
    return this.plan.employed || d >= this.jobDay;
  }

  /** 0 before signup and after churn, a fading ramp in the weeks before churn, 1 otherwise. */
  private setUpActivity(): void {
    const { act, away } = this;
    const p = this.plan;
    away.fill(0);
    for (let d = 0; d < act.length; d++) {
      if (d < this.first || d >= this.end) act[d] = 0;
      else if (p.declineDay >= 0 && d >= p.declineDay)
        act[d] = 1 - (0.8 * (d - p.declineDay)) / (this.end - p.declineDay);
      else act[d] = 1;
    }
  }

  private setUpAmounts(): void {
    const p = this.plan;
    const base = (PRODUCT_SCALE[p.product] as number) * (1.25 - 0.5 * p.priceSensitivity);
    const lux = p.persona[P.luxury] as number;
    for (let c = 0; c < NCAT; c++) {
      let s = base;
      if (lux > 0 && LUXURY_CATS.has(c)) s *= 1.4 + 0.8 * lux;
      if (c === CAT.restaurant && (p.persona[P.foodie] as number) > 0) s *= 1.25;
      this.amountScale[c] = s;
    }
  }

  private describeEvents(): string[] {
    return this.plan.events.map((e) => describeEvent(this.plan, e));
  }

  // ---- rates ----------------------------------------------------------------------------------

  /** Purchases per day by category for the household state (before day factors and activity). */
  private ratesFor(state: State): Float64Array {
    const p = this.plan;
    const per = p.persona;
    const r = new Float64Array(NCAT);
    for (let c = 0; c < NCAT; c++) {
      const spec = CATEGORIES[c]!;
      r[c] = spec.perYear * (spec.age?.[p.ageBand] ?? 1) * (spec.gender?.[p.gender] ?? 1);
    }
    const mul = (key: CategoryKey, f: number) => {
      r[CAT[key]] = (r[CAT[key]] as number) * f;
    };
    const add = (key: CategoryKey, perYear: number) => {
      r[CAT[key]] = (r[CAT[key]] as number) + perYear;
    };
    const s = (name: keyof typeof P) => per[P[name]] as number;

    if (s('golfer') > 0) {
      add('golf', 10 + 26 * s('golfer'));
      mul('sporting_goods', 2 + 3 * s('golfer'));
      mul('department_store', 1.2);
    }
    if (s('foodie') > 0) {
      mul('restaurant', 1.4 + 0.9 * s('foodie'));
      mul('bar', 1.2);
      mul('bakery', 1.5);
    }
    if (s('frequent_traveller') > 0) mul('intercity_rail', 1.5);
    if (s('online_shopper') > 0) {
      mul('online_marketplace', 2.5 + 3 * s('online_shopper'));
      mul('food_delivery', 1.6 + s('online_shopper'));
      mul('digital_goods', 1.5);
      mul('clothing', 1.3);
    }
    if (s('fitness') > 0) {
      mul('sporting_goods', 2 + 2 * s('fitness'));
      add('fitness', 2 + 4 * s('fitness'));
      mul('bar', 0.7);
      mul('fast_food', 0.6);
    }
    if (s('pet_owner') > 0) {
      add('pet', 3 + 5 * s('pet_owner'));
      add('veterinary', 2 + 3 * s('pet_owner'));
    }
    if (s('night_owl') > 0) {
      mul('convenience', 1.4);
      mul('bar', 1.6);
      mul('food_delivery', 1.6);
      mul('taxi', 1.6);
    }
    if (s('luxury') > 0) {
      mul('department_store', 4 + 6 * s('luxury'));
      mul('jewelry', 5 + 10 * s('luxury'));
      mul('hotel', 3);
    }
    if (s('bookworm') > 0) mul('books', 6 + 10 * s('bookworm'));
    if (s('movie_goer') > 0) {
      mul('cinema', 5 + 8 * s('movie_goer'));
      mul('fast_food', 1.2);
    }

    if (state.car) {
      add('parking', 18);
      add('tolls', 12);
      add('auto_service', 2.5);
      add('car_wash', 5);
      mul('transit', 0.6);
      mul('taxi', 0.7);
    }
    if (state.infant) {
      add('baby', 26);
      add('kids_clothing', 6);
      add('toys', 3);
      mul('pharmacy', 1.6);
      mul('medical', 1.3);
      mul('restaurant', 0.75);
      mul('bar', 0.3);
      mul('food_delivery', 1.4);
      mul('online_marketplace', 1.3);
      mul('cinema', 0.4);
      mul('hotel', 0.5);
    }
    if (state.retired) {
      mul('pharmacy', 1.4);
      mul('medical', 1.4);
      mul('golf', 1.5);
      mul('cafe', 1.1);
      mul('clothing', 0.8);
      mul('transit', 1.5);
      mul('attractions', 1.5);
      mul('cinema', 1.3);
    }
    if (state.employed) {
      mul('restaurant', 1.1);
      mul('cafe', 1.1);
    }
    const k = (p.activity * RATE_SCALE) / 365.25;
    for (let c = 0; c < NCAT; c++) r[c] = (r[c] as number) * k;
    return r;
  }

  /** Online shoppers buy a larger share of mixed categories online. */
  private setUpOnlineShares(): void {
    const shopper = this.plan.persona[P.online_shopper] as number;
    for (let c = 0; c < NCAT; c++) {
      const share = CATEGORIES[c]!.onlineShare;
      this.onlineShareOf[c] =
        shopper > 0 && share > 0 && share < 1 ? Math.min(0.9, share + 0.4 * shopper) : share;
    }
  }

  // ---- everyday spending ------------------------------------------------------------------------

  /**
   * Per category and segment of constant household state, an inhomogeneous Poisson process over
   * days: the count is Poisson(rate × Σ day factors) and each purchase falls on a day drawn in
   * proportion to the day factor (inverting the cumulative factors). The fading activity of a
   * churner thins purchases out.
   */
  private everydaySpending(): void {
    const { world, act, rng } = this;
    const bounds = [this.first];
    for (const d of [this.babyDay, this.carDay, this.retireDay, this.jobDay]) {
      if (d > this.first && d < this.end) bounds.push(d);
    }
    bounds.sort((a, b) => a - b);
    bounds.push(this.end);
    for (let s = 0; s + 1 < bounds.length; s++) {
      const from = bounds[s] as number;
      const to = bounds[s + 1] as number;
      if (to <= from) continue;
      const rates = this.ratesFor(this.stateAt(from));
      for (let c = 0; c < NCAT; c++) {
        const rate = rates[c] as number;
        if (rate <= 0) continue;
        const cf = world.dayCumulative[c] as Float64Array;
        const lo = cf[from] as number;
        const span = (cf[to] as number) - lo;
        for (let k = rng.poisson(rate * span); k > 0; k--) {
          const d = dayAt(cf, lo + rng.float() * span, from, to);
          const a = act[d] as number;
          if (a < 1 && rng.float() >= a) continue;
          this.everydayPurchase(c, d);
        }
      }
    }
  }

  private everydayPurchase(c: number, d: number): void {
    const rng = this.rng;
    const share = this.onlineShareOf[c] as number;
    const hours = COL.hours[c] as number;
    const flexible = COL.flexible[c] === 1;
    if (share > 0 && (share >= 1 || rng.float() < share)) {
      let m = this.onlineMerchant(c);
      if (this.cycleMerchants.has(m)) m = this.onlineMerchant(c, 0);
      if (m < 0 || this.cycleMerchants.has(m)) return;
      const profile = hours === H.delivery || hours === H.bill ? hours : H.online;
      this.emitHome(d, this.sampleSecond(this.nightShift(flexible, profile)), m, this.amount(c));
      return;
    }
    if (this.away[d]) return;
    let profile = this.nightShift(flexible, hours);
    const cal = this.world.cal;
    const workplace = COL.workplace[c] === 1;
    if (workplace && d >= this.retireDay && (cal.weekday[d] as number) < 5 && rng.float() < 0.5)
      profile = H.daytime;
    const sec = this.sampleSecond(profile);
    const hour = sec / 3600;
    const atWork = workplace && hour >= 8 && hour < 18 && isWorkday(cal, d) && this.employedAt(d);
    const cuisine = c === CAT.restaurant ? rng.pickCumulative(this.plan.cuisineCumulative) : -1;
    let m = this.localMerchant(c, d, atWork, cuisine);
    if (this.cycleMerchants.has(m)) m = this.anyMerchant(c, this.cityAt(d), this.homeDistrictAt(d), cuisine);
    if (m < 0 || this.cycleMerchants.has(m)) return;
    this.emitHome(d, sec, m, this.amount(c));
  }

  /** Night owls move a share of flexible purchases late into the night. */
  private nightShift(flexible: boolean, profile: number): number {
    return flexible && this.nightShare > 0 && this.rng.float() < this.nightShare ? H.late : profile;
  }

  // ---- merchants --------------------------------------------------------------------------------

  /** A merchant of category c near home (or work) on day d: usually a favourite, sometimes any. */
  private localMerchant(c: number, d: number, atWork: boolean, cuisine = -1, share = -1): number {
    const city = this.cityAt(d);
    const district = atWork ? this.workDistrictAt(d) : this.homeDistrictAt(d);
    const rng = this.rng;
    if (rng.float() < (share >= 0 ? share : (COL.regularShare[c] as number))) {
      const key = (((c * 64 + cuisine + 1) * 256 + city) * 16 + district) * 2 + (atWork ? 1 : 0);
      const n = COL.regulars[c] as number;
      let at = this.regulars.get(key);
      if (at < 0) {
        at = this.reserveRegulars(key, n);
        for (let i = 0; i < n; i++) this.regularIds[at + i] = this.anyMerchant(c, city, district, cuisine);
      }
      // The first favourite gets most visits.
      const x = rng.float();
      const i = n === 1 || x < 0.6 ? 0 : n === 2 || x < 0.88 ? 1 : 2;
      return this.regularIds[at + i] as number;
    }
    return this.anyMerchant(c, city, district, cuisine);
  }

  private reserveRegulars(key: number, n: number): number {
    if (this.regularCount + n > this.regularIds.length) {
      const grown = new Int32Array(this.regularIds.length * 2);
      grown.set(this.regularIds);
      this.regularIds = grown;
    }
    const at = this.regularCount;
    this.regularCount += n;
    this.regulars.set(key, at);
    return at;
  }

  /** Any merchant of the category in the city, preferring the district. -1 if the city has none. */
  private anyMerchant(c: number, city: number, district: number, cuisine = -1): number {
    const catalog = this.world.catalog;
    const rng = this.rng;
    if (rng.float() < 0.65) {
      const near = catalog.pool(c, city, district, cuisine);
      if (near.length > 0) return near[rng.int(near.length)] as number;
    }
    const all = catalog.pool(c, city, -1, cuisine);
    if (all.length > 0) return all[rng.int(all.length)] as number;
    if (cuisine >= 0) return this.anyMerchant(c, city, district, -1);
    return -1;
  }

  private onlineMerchant(c: number, share = -1): number {
    const pool = this.world.catalog.onlinePool(c);
    if (pool.ids.length === 0) return -1;
    const rng = this.rng;
    if (rng.float() < (share >= 0 ? share : (COL.regularShare[c] as number))) {
      const key = -1 - c;
      const n = COL.regulars[c] as number;
      let at = this.regulars.get(key);
      if (at < 0) {
        at = this.reserveRegulars(key, n);
        for (let i = 0; i < n; i++)
          this.regularIds[at + i] = pool.ids[rng.pickCumulative(pool.cumulative)] as number;
      }
      return this.regularIds[at + (n === 1 || rng.float() < 0.7 ? 0 : 1)] as number;
    }
    return pool.ids[rng.pickCumulative(pool.cumulative)] as number;
  }

  // ---- amounts and emission ---------------------------------------------------------------------

  private amount(c: number, factor = 1): number {
    const v =
      (COL.median[c] as number) *
      Math.exp((COL.sigma[c] as number) * this.rng.normal()) *
      (this.amountScale[c] as number) *
      factor;
    return roundTo(v, COL.step[c] as number);
  }

  /** A second of the local day, from hour profile `profile` (an index, see H). */
  private sampleSecond(profile: number): number {
    const rng = this.rng;
    return rng.pickCumulative(this.world.hourCumulative[profile] as Float64Array) * 3600 + rng.int(3600);
  }

  /** A purchase at local Korean time (online purchases happen where the customer is: Korea). */
  private emitHome(d: number, sec: number, m: number, krwValue: number): void {
    this.emit(d * DAY + sec, m, krwValue, d);
  }

  /** A purchase at local time of a zone abroad. */
  private emitAbroad(d: number, sec: number, m: number, krwValue: number, zone: Zone): void {
    const local = this.world.cal.startUtc + KST_OFFSET_SECONDS + d * DAY + sec;
    this.emit(utcFromLocal(zone, local) - this.world.cal.startUtc, m, krwValue, d);
  }

  /** Converts a KRW value into the merchant's currency (rounded the way prices are) and bills it back in KRW. */
  private emit(t: number, m: number, krwValue: number, d: number): void {
    const catalog = this.world.catalog;
    const cur = catalog.currency[m] as number;
    if (cur === 0) {
      this.ev.push(t, m, krwValue, krwValue);
      return;
    }
    const c = CURRENCIES[cur]!;
    const cal = this.world.cal;
    const dd = Math.max(0, Math.min(d, cal.days - 1));
    const rate = fxRate(cur, (cal.year[dd] as number) * 12 + (cal.monthOfYear[dd] as number));
    const original = Math.max(c.step, Math.round(krwValue / rate / c.step) * c.step);
    const minor = Math.round(original * 10 ** c.decimals);
    const billed = Math.max(1, Math.round(original * rate));
    this.ev.push(t, m, billed, minor);
  }

  // ---- habits -----------------------------------------------------------------------------------

  /** Transit taps around commuting hours on working days while employed (car commuters rarely). */
  private commute(): void {
    const { rng, act, away } = this;
    const cal = this.world.cal;
    const p = this.plan;
    const everEmployed = p.employed || this.jobDay < this.end;
    if (!everEmployed) return;
    let leave = clamp(8 * 3600 + 1800 * rng.normal(), 6.5 * 3600, 9.5 * 3600);
    const back = clamp(18.8 * 3600 + 2800 * rng.normal(), 17 * 3600, 21 * 3600);
    const newLeave = clamp(7.9 * 3600 + 1800 * rng.normal(), 6.5 * 3600, 9.5 * 3600);
    const transit = CAT.transit as number;
    for (let d = this.first; d < this.end; d++) {
      if (!isWorkday(cal, d) || away[d] || !this.employedAt(d)) continue;
      if (d === this.jobDay) leave = newLeave;
      const car = p.carOwner || d >= this.carDay;
      const a = act[d] as number;
      if (rng.float() < (car ? 0.02 : 0.07) * a) {
        const m = this.localMerchant(transit, d, false);
        if (m >= 0) this.emitHome(d, Math.round(leave + 480 * rng.normal()), m, this.amount(transit));
      }
      if (rng.float() < (car ? 0.02 : 0.065) * a) {
        const m = this.localMerchant(transit, d, true);
        if (m >= 0) this.emitHome(d, Math.round(back + 900 * rng.normal()), m, this.amount(transit));
      }
    }
  }

  /** coffee_daily: a near-daily cup at the usual café before work, the usual order. */
  private morningCoffee(): void {
    const s = this.plan.persona[P.coffee_daily] as number;
    if (s <= 0) return;
    const { rng, act, away } = this;
    const cal = this.world.cal;
    const cafe = CAT.cafe as number;
    const habit = clamp(8.25 * 3600 + 1500 * rng.normal(), 7 * 3600, 9.75 * 3600);
    const usual = roundTo(rng.lognormal(4300, 0.2) * (this.amountScale[cafe] as number), 100);
    for (let d = this.first; d < this.end; d++) {
      if (away[d]) continue;
      const working = isWorkday(cal, d);
      if (rng.float() >= (working ? 0.35 + 0.3 * s : 0.2) * (act[d] as number)) continue;
      const atWork = working && this.employedAt(d);
      const sec = working ? habit + 600 * rng.normal() : 10.5 * 3600 + 3600 * rng.normal();
      const m = this.localMerchant(cafe, d, atWork, -1, 0.9);
      if (m < 0) continue;
      this.emitHome(d, clamp(Math.round(sec), 0, DAY - 1), m, rng.float() < 0.75 ? usual : this.amount(cafe));
    }
  }

  // ---- cycles -----------------------------------------------------------------------------------

  private cycles(): CycleTruth[] {
    const { rng } = this;
    const p = this.plan;
    const out: CycleTruth[] = [];
    const wanted: { item: CycleItem; from: number; byEvent: boolean }[] = [];
    if (p.youngChild) wanted.push({ item: 'diapers', from: this.first, byEvent: false });
    if (this.babyDay < this.end)
      wanted.push({ item: 'diapers', from: this.babyDay + rng.intBetween(3, 14), byEvent: true });
    if ((p.persona[P.pet_owner] as number) > 0 && rng.chance(0.85))
      wanted.push({ item: 'pet_food', from: this.first, byEvent: false });
    if (p.carOwner && rng.chance(0.92)) wanted.push({ item: 'fuel', from: this.first, byEvent: false });
    if (this.carDay < this.end)
      wanted.push({ item: 'fuel', from: this.carDay + rng.intBetween(1, 6), byEvent: true });
    if ((p.persona[P.fitness] as number) > 0 && rng.chance(0.75))
      wanted.push({ item: 'gym_membership', from: this.first, byEvent: false });
    const streamingOdds =
      0.3 +
      ((p.persona[P.night_owl] as number) > 0 ||
      (p.persona[P.movie_goer] as number) > 0 ||
      (p.persona[P.online_shopper] as number) > 0
        ? 0.2
        : 0);
    const optional: [CycleItem, number][] = [
      ['phone_bill', 0.45],
      ['streaming', streamingOdds],
      ['haircut', 0.3],
      ['utilities', 0.25],
      ['contact_lenses', 0.08],
    ];
    for (const [item, odds] of optional)
      if (rng.chance(odds)) wanted.push({ item, from: this.first, byEvent: false });
    for (const w of wanted.slice(0, 4)) this.runCycle(w.item, w.from, w.byEvent, out);
    return out;
  }

  private runCycle(item: CycleItem, from: number, byEvent: boolean, out: CycleTruth[]): void {
    const spec = CYCLE_ITEMS[item];
    const rng = this.rng;
    const c = CAT[spec.category];
    const period = spec.monthly ? 30 : rng.intBetween(spec.period[0], spec.period[1]);
    const online = rng.float() < spec.online;
    const base = this.cycleAmount(item);
    const dom = rng.intBetween(spec.monthly ? 1 : 1, 28);
    // An offline merchant is near home, so a move to another city starts a new cycle with a new merchant.
    const segments: [number, number][] =
      !online && this.moveDay > from && this.moveDay < this.end
        ? [
            [from, this.moveDay],
            [this.moveDay + rng.intBetween(2, Math.max(3, Math.floor(period / 2))), this.end],
          ]
        : [[from, this.end]];
    for (const [segFrom, segTo] of segments) {
      if (segFrom >= segTo) continue;
      const m = online
        ? this.cycleOnlineMerchant(item, c)
        : this.anyMerchant(c, this.cityAt(segFrom), this.homeDistrictAt(segFrom));
      if (m < 0) continue;
      this.cycleMerchants.add(m);
      let emitted = 0;
      let day = segFrom;
      if (spec.monthly) {
        // Billed on the same day every month.
        day = nextMonthlyDay(this.world.cal, segFrom, dom);
        while (day < segTo) {
          this.cyclePurchase(item, c, day, m, base, online);
          emitted++;
          day = nextMonthlyDay(this.world.cal, day + 1, dom);
        }
      } else {
        day = segFrom + (byEvent ? rng.int(3) : rng.int(period));
        while (day < segTo) {
          // Occasionally a cycle is skipped (bought elsewhere, or not needed): a double gap.
          if (!rng.chance(0.05)) {
            let d = day;
            while (!online && d < segTo && this.away[d]) d++;
            if (d < segTo) {
              this.cyclePurchase(item, c, d, m, base, online);
              emitted++;
            }
          }
          day += Math.max(Math.ceil(period / 2), period + Math.round(spec.jitter * rng.normal()));
        }
      }
      if (emitted > 0 || segTo - segFrom >= period) {
        out.push({
          item,
          category: spec.category,
          merchant: m,
          periodDays: period,
          jitterDays: spec.monthly ? 1 : spec.jitter,
          fromDay: segFrom,
          toDay: segTo - 1,
        });
      }
    }
  }

  private cycleOnlineMerchant(item: CycleItem, c: number): number {
    const catalog = this.world.catalog;
    if (item === 'utilities') {
      const home = this.plan.homeCity;
      const options =
        home === SEOUL
          ? ['KEPCO Electricity', 'Seoul City Gas']
          : home === BUSAN
            ? ['KEPCO Electricity', 'Busan City Gas']
            : ['KEPCO Electricity', 'Korea District Heating'];
      return catalog.byName(this.rng.pick(options));
    }
    return this.onlineMerchant(c, 1);
  }

  private cycleAmount(item: CycleItem): number {
    const rng = this.rng;
    const p = this.plan;
    switch (item) {
      case 'phone_bill':
        return rng.pick([33000, 49000, 55000, 69000, 89000, 100000, 130000]);
      case 'haircut':
        return roundTo(rng.lognormal(p.gender === 0 ? 45000 : 17000, 0.25), 1000);
      case 'gym_membership':
        return roundTo(rng.lognormal(80000, 0.3), 10000);
      default:
        return roundTo(rng.lognormal(CYCLE_ITEMS[item].median, 0.15), 100);
    }
  }

  private cyclePurchase(
    item: CycleItem,
    c: number,
    d: number,
    m: number,
    base: number,
    online: boolean,
  ): void {
    const rng = this.rng;
    const cal = this.world.cal;
    let value = base;
    let profile = online ? H.online : H.shop;
    switch (item) {
      case 'phone_bill':
        profile = H.bill;
        value = roundTo(base * (1 + 0.04 * rng.normal()), 10);
        break;
      case 'utilities':
        // Heating in winter, air conditioning in summer.
        profile = H.bill;
        value = roundTo(
          base *
            ([1.6, 1.5, 1.2, 1, 0.9, 0.95, 1.25, 1.35, 1, 0.9, 1.1, 1.45][
              cal.monthOfYear[d] as number
            ] as number) *
            (1 + 0.08 * rng.normal()),
          10,
        );
        break;
      case 'streaming': {
        profile = H.bill;
        const price = this.world.catalog.price[m] as number;
        value = price > 0 ? price : base;
        break;
      }
      case 'gym_membership':
        profile = H.evening;
        break;
      case 'fuel':
        // Half fill up to a round sum.
        value = rng.float() < 0.5 ? roundTo(base, 10000) : roundTo(base * (1 + 0.15 * rng.normal()), 10);
        break;
      default:
        value = roundTo(base * (1 + 0.1 * rng.normal()), c === CAT.beauty ? 1000 : 100);
    }
    this.emitHome(d, this.sampleSecond(profile), m, Math.max(100, value));
  }

  // ---- trips ------------------------------------------------------------------------------------

  private planTrips(): Trip[] {
    const { rng, away } = this;
    const p = this.plan;
    const cal = this.world.cal;
    const s = p.persona[P.frequent_traveller] as number;
    const years = cal.days / 365.25;
    const perYear = s > 0 ? 3 + 4 * s : 0.45 * (p.product >= 2 ? 1.5 : 1);
    const n = rng.poisson(perYear * years);
    const trips: Trip[] = [];
    for (let k = 0; k < n; k++) {
      const foreign = rng.chance(s > 0 ? 0.7 : 0.4);
      const home = p.homeCity;
      const candidates = (foreign ? DESTINATION_INDEXES : DOMESTIC_DESTINATION_INDEXES).filter(
        (c) => c !== home,
      );
      const city = candidates[
        rng.pickWeighted(candidates.map((c) => (CITIES[c] as City).popularity ?? 1))
      ] as number;
      const dest = CITIES[city] as City;
      const nights = !foreign
        ? rng.intBetween(1, 3)
        : dest.longHaul
          ? rng.intBetween(5, 10)
          : rng.intBetween(2, 5);
      for (let attempt = 0; attempt < 8; attempt++) {
        const start = this.first + rng.int(Math.max(1, this.end - this.first));
        const end = start + nights;
        if (end >= this.end) continue;
        if (
          (this.plan.declineDay >= 0 && start >= this.plan.declineDay) ||
          (start <= this.babyDay + 90 && end >= this.babyDay - 30)
        )
          continue;
        if (trips.some((t) => start <= t.end + 3 && end >= t.start - 3)) continue;
        // Peak season: accept summer and winter holidays more readily.
        const month = cal.monthOfYear[start] as number;
        if (!rng.chance([0.8, 0.7, 0.5, 0.55, 0.7, 0.6, 0.95, 1, 0.6, 0.8, 0.5, 0.75][month] as number))
          continue;
        trips.push({ start, end, city });
        for (let d = start; d <= end; d++) away[d] = 1;
        break;
      }
    }
    trips.sort((a, b) => a.start - b.start);
    return trips;
  }

  private travel(trip: Trip): void {
    const { rng } = this;
    const catalog = this.world.catalog;
    const dest = CITIES[trip.city] as City;
    const homeCity = CITIES[this.cityAt(trip.start)] as City;
    const foreign = dest.country !== 'KR';
    const level = PRICE_LEVEL[dest.country] ?? 1;
    const party = Math.min(4, 1 + rng.poisson(0.8));
    const lux = (this.plan.persona[P.luxury] as number) > 0;
    const flies = foreign || dest.name === 'Jeju';
    const depSec = rng.intBetween(7, 20) * 3600 + rng.int(3600);

    // Booking weeks ahead.
    if (flies) {
      const airline = this.pickAirline(dest, homeCity);
      const fare = foreign
        ? dest.longHaul
          ? 1_600_000
          : ['JP', 'CN', 'TW', 'HK'].includes(dest.country)
            ? 350_000
            : 550_000
        : 140_000;
      const bookDay = trip.start - rng.intBetween(14, 75);
      if (bookDay >= this.first) {
        this.emitHome(
          bookDay,
          this.sampleSecond(H.online),
          airline,
          roundTo(fare * party * rng.lognormal(1, 0.2) * (lux ? 2.5 : 1), 100),
        );
      }
    } else {
      const rail = this.onlineMerchant(CAT.intercity_rail as number, 1);
      const bookDay = trip.start - rng.intBetween(1, 20);
      if (rail >= 0 && bookDay >= this.first)
        this.emitHome(
          bookDay,
          this.sampleSecond(H.online),
          rail,
          roundTo(52000 * party * rng.lognormal(1, 0.15), 100),
        );
    }
    const nights = trip.end - trip.start;
    const nightly = 150_000 * level * rng.lognormal(1, 0.35) * (lux ? 2.2 : 1) * (party > 2 ? 1.4 : 1);
    const prepaid = rng.chance(0.55);
    if (prepaid) {
      const agency = this.onlineMerchant(CAT.travel_agency as number);
      const bookDay = trip.start - rng.intBetween(7, 60);
      if (agency >= 0 && bookDay >= this.first)
        this.emitHome(bookDay, this.sampleSecond(H.online), agency, roundTo(nightly * nights, 100));
    }

    // Departure day: the home airport.
    if (flies) {
      const ap = catalog.airports[airportIndex(departureAirport(homeCity, dest))]!;
      const before = depSec - rng.intBetween(3600, 7200);
      this.emitHome(
        trip.start,
        Math.max(6 * 3600, before),
        ap.services,
        roundTo(rng.lognormal(16000, 0.5), 100),
      );
      if (foreign && rng.chance(0.6)) {
        this.emitHome(
          trip.start,
          Math.max(6 * 3600, before + 1800),
          rng.pick(ap.dutyFree),
          this.amount(CAT.duty_free as number),
        );
      }
    }

    // At the destination, in local time and currency.
    const zone = dest.zone;
    const at = (d: number, sec: number, m: number, krw: number) => {
      if (m < 0 || d < this.first || d >= this.end) return;
      if (foreign) this.emitAbroad(d, sec, m, krw, zone);
      else this.emitHome(d, sec, m, krw);
    };
    const local = (c: number, cuisine = -1) =>
      this.anyMerchant(c, trip.city, rng.int(dest.districts.length), cuisine);
    if (dest.name === 'Jeju' && rng.chance(0.6)) {
      at(
        trip.start,
        clamp(depSec + 5400, 0, DAY - 1),
        local(CAT.car_rental as number),
        roundTo(60000 * (nights + 1) * rng.lognormal(1, 0.2), 1000),
      );
    }
    const foodie = (this.plan.persona[P.foodie] as number) > 0 ? 1.3 : 1;
    const cuisines = destinationCuisines(trip.city) ?? this.plan.cuisineCumulative;
    for (let d = trip.start; d <= trip.end; d++) {
      // Arrival and departure days are half days.
      const part = d === trip.start || d === trip.end ? 0.5 : 1;
      const times = (mean: number) => rng.poisson(mean * part);
      for (let k = times(1.7 * foodie); k > 0; k--) {
        const cuisine = rng.pickCumulative(cuisines);
        at(
          d,
          this.sampleSecond(H.meal),
          local(CAT.restaurant as number, cuisine),
          this.amount(CAT.restaurant as number, level * (party > 1 ? 1.4 : 1)),
        );
      }
      for (let k = times(0.6); k > 0; k--)
        at(d, this.sampleSecond(H.cafe), local(CAT.cafe as number), this.amount(CAT.cafe as number, level));
      for (let k = times(foreign ? 0.8 : 0.4); k > 0; k--)
        at(
          d,
          this.sampleSecond(H.convenience),
          local(CAT.convenience as number),
          this.amount(CAT.convenience as number, level * 1.5),
        );
      for (let k = times(0.6); k > 0; k--)
        at(
          d,
          this.sampleSecond(H.taxi),
          local(CAT.taxi as number),
          this.amount(CAT.taxi as number, level * 1.3),
        );
      if (foreign)
        for (let k = times(0.4); k > 0; k--)
          at(
            d,
            this.sampleSecond(H.transit),
            local(CAT.transit as number),
            this.amount(CAT.transit as number, level * 1.5),
          );
      for (let k = times(foreign ? (lux ? 0.6 : 0.25) : 0.1); k > 0; k--)
        at(
          d,
          this.sampleSecond(H.shop),
          local(CAT.department_store as number),
          this.amount(CAT.department_store as number, level),
        );
      if (foreign)
        for (let k = times(0.15); k > 0; k--)
          at(
            d,
            this.sampleSecond(H.shop),
            local(CAT.pharmacy as number),
            this.amount(CAT.pharmacy as number, level * 2),
          );
      for (let k = times(0.35); k > 0; k--)
        at(
          d,
          this.sampleSecond(H.daytime),
          local(CAT.attractions as number),
          this.amount(CAT.attractions as number, level * party),
        );
    }
    if (!prepaid) {
      const hotel = local(CAT.hotel as number);
      at(trip.end, this.sampleSecond(H.checkout), hotel, roundTo(nightly * Math.max(1, nights), 100));
    }
    // Return day: the airport abroad.
    if (foreign && rng.chance(0.6)) {
      const code = dest.airports[rng.int(dest.airports.length)] as string;
      const ap = catalog.airports[airportIndex(code)]!;
      const m = rng.chance(0.5) ? ap.services : rng.pick(ap.dutyFree);
      at(
        trip.end,
        rng.intBetween(9, 18) * 3600 + rng.int(3600),
        m,
        roundTo(rng.lognormal(40000, 0.8) * level, 100),
      );
    }
  }

  private pickAirline(dest: City, home: City): number {
    const catalog = this.world.catalog;
    const rng = this.rng;
    const options = [
      ...(AIRLINES_BY_COUNTRY[dest.country] ?? ['Korean Air', 'Asiana Airlines', 'Jeju Air', 'Jin Air']),
    ];
    if (home.airports.includes('PUS') && !dest.longHaul) options.push('Air Busan', 'Air Busan');
    return catalog.byName(rng.pick(options));
  }

  // ---- life events, insurance and noise ----------------------------------------------------------

  private lifeEventPurchases(): void {
    const { rng } = this;
    const alive = (d: number) => d >= this.first && d < this.end;
    const local = (c: number, d: number) => this.localMerchant(c, d, false, -1, 0);
    for (const e of this.plan.events) {
      const E = e.day;
      switch (e.kind) {
        case 'new_baby': {
          const d = E + rng.intBetween(0, 3);
          const hospital = this.hospital(d);
          if (alive(d) && hospital >= 0)
            this.emitHome(
              d,
              this.sampleSecond(H.daytime),
              hospital,
              roundTo(rng.lognormal(900000, 0.4), 1000),
            );
          break;
        }
        case 'moved_city': {
          const d = E + rng.intBetween(-1, 1);
          const movers = local(CAT.moving as number, E);
          if (alive(d) && movers >= 0)
            this.emitHome(d, this.sampleSecond(H.daytime), movers, this.amount(CAT.moving as number));
          for (let k = rng.intBetween(1, 3); k > 0; k--) {
            const f = E + rng.intBetween(-10, 30);
            const online = rng.chance(0.4);
            const m = online
              ? this.onlineMerchant(CAT.furniture as number, 0)
              : local(CAT.furniture as number, Math.max(f, E));
            if (alive(f) && m >= 0)
              this.emitHome(
                f,
                this.sampleSecond(online ? H.online : H.shop),
                m,
                this.amount(CAT.furniture as number),
              );
          }
          for (let k = rng.intBetween(1, 3); k > 0; k--) {
            const h = E + rng.intBetween(-5, 30);
            const m = local(CAT.home_improvement as number, Math.max(h, E));
            if (alive(h) && m >= 0)
              this.emitHome(h, this.sampleSecond(H.shop), m, this.amount(CAT.home_improvement as number));
          }
          if (rng.chance(0.5)) {
            const x = E + rng.intBetween(-7, 21);
            const m = local(CAT.electronics as number, Math.max(x, E));
            if (alive(x) && m >= 0)
              this.emitHome(x, this.sampleSecond(H.shop), m, this.amount(CAT.electronics as number, 2));
          }
          break;
        }
        case 'new_car': {
          const dealer = local(CAT.car_dealer as number, E);
          if (alive(E) && dealer >= 0)
            this.emitHome(E, this.sampleSecond(H.daytime), dealer, this.amount(CAT.car_dealer as number));
          const ins = this.onlineMerchant(CAT.auto_insurance as number, 1);
          const d = E + rng.intBetween(0, 1);
          if (alive(d) && ins >= 0)
            this.emitHome(d, this.sampleSecond(H.online), ins, this.amount(CAT.auto_insurance as number));
          if (alive(E + 365) && ins >= 0)
            this.emitHome(
              E + 365,
              this.sampleSecond(H.online),
              ins,
              this.amount(CAT.auto_insurance as number, 0.9),
            );
          break;
        }
        case 'retirement': {
          const d = E - rng.intBetween(0, 2);
          // The farewell dinner with colleagues: Korean barbecue near the office.
          const m = this.localMerchant(CAT.restaurant as number, d, true, CUISINES.indexOf('korean_bbq'), 0);
          if (alive(d) && m >= 0)
            this.emitHome(d, 19 * 3600 + rng.int(3600), m, roundTo(rng.lognormal(180000, 0.3), 100));
          break;
        }
        case 'new_job': {
          for (let k = rng.intBetween(2, 4); k > 0; k--) {
            const d = E + rng.intBetween(-14, 7);
            const online = rng.chance(0.4);
            const m = online
              ? this.onlineMerchant(CAT.clothing as number, 0)
              : local(CAT.clothing as number, d);
            if (alive(d) && m >= 0)
              this.emitHome(
                d,
                this.sampleSecond(online ? H.online : H.shop),
                m,
                this.amount(CAT.clothing as number, 1.5),
              );
          }
          break;
        }
      }
    }
  }

  /** A hospital (MCC 8062) in the home city, for the birth. */
  private hospital(d: number): number {
    const catalog = this.world.catalog;
    const pool = catalog.pool(CAT.medical as number, this.cityAt(d));
    const hospitals = Array.from(pool).filter((m) => catalog.mcc[m] === HOSPITAL_MCC);
    if (hospitals.length > 0) return hospitals[this.rng.int(hospitals.length)] as number;
    return pool.length > 0 ? (pool[this.rng.int(pool.length)] as number) : -1;
  }

  /** Car owners renew their car insurance once a year, on the policy anniversary. */
  private annualInsurance(): void {
    if (!this.plan.carOwner) return;
    const anniversary = this.rng.int(365);
    const ins = this.onlineMerchant(CAT.auto_insurance as number, 1);
    for (let d = anniversary; d < this.end; d += 365) {
      if (d >= this.first && ins >= 0)
        this.emitHome(d, this.sampleSecond(H.online), ins, this.amount(CAT.auto_insurance as number));
    }
  }

  /** One-off purchases outside the customer's profile: good tags must not react to a single one. */
  private noise(): void {
    const { rng } = this;
    const p = this.plan;
    const span = this.end - this.first;
    if (span <= 0) return;
    const someDay = () => this.first + rng.int(span);
    const once = (c: number, online = false, factor = 1) => {
      const d = someDay();
      const m = online ? this.onlineMerchant(c, 0) : this.localMerchant(c, d, false, -1, 0);
      if (m >= 0)
        this.emitHome(
          d,
          this.sampleSecond(online ? H.online : (COL.hours[c] as number)),
          m,
          this.amount(c, factor),
        );
    };
    if ((p.persona[P.golfer] as number) === 0 && rng.chance(0.03)) once(CAT.golf as number);
    if (!p.youngChild && this.babyDay === Number.POSITIVE_INFINITY && rng.chance(0.03))
      once(CAT.baby as number, false, 1.5);
    if ((p.persona[P.pet_owner] as number) === 0 && rng.chance(0.02)) once(CAT.pet as number);
    if ((p.persona[P.luxury] as number) === 0 && rng.chance(0.02))
      once(CAT.department_store as number, false, 4);
    const shopper = p.persona[P.online_shopper] as number;
    const foreignOrders = shopper > 0 ? rng.poisson(2 * shopper * (span / 365)) : rng.chance(0.03) ? 1 : 0;
    for (let k = 0; k < foreignOrders; k++) {
      const d = someDay();
      const m = this.world.catalog.byName(rng.pick(['AliExpress', 'Amazon.com', 'iHerb']));
      this.emitHome(d, this.sampleSecond(H.online), m, this.amount(CAT.online_marketplace as number, 1.5));
    }
    // A single purchase abroad without a trip: a layover at a foreign airport.
    if (rng.chance(0.008)) {
      const ap = rng.pick(AIRPORTS.filter((a) => (CITIES[cityIndex(a.city)] as City).country !== 'KR'));
      const shops = this.world.catalog.airports[airportIndex(ap.code)]!;
      const d = someDay();
      const dest = CITIES[cityIndex(ap.city)] as City;
      this.emitAbroad(
        d,
        rng.intBetween(8, 20) * 3600,
        rng.pick(shops.dutyFree),
        this.amount(CAT.duty_free as number, 0.5),
        dest.zone,
      );
    }
  }
}

// ---- helpers -------------------------------------------------------------------------------------

/**
 * int32 key → non-negative int value, open addressing in typed arrays, cleared in O(1) by bumping a
 * generation: a customer's favourites are looked up on every purchase and reset for every customer.
 */
class SmallIntMap {
  private keys = new Int32Array(256);
  private values = new Int32Array(256);
  private stamps = new Uint32Array(256);
  private generation = 1;
  private size = 0;

  clear(): void {
    this.generation++;
    this.size = 0;
  }

  /** The value, or -1. */
  get(key: number): number {
    const mask = this.keys.length - 1;
    for (let i = (Math.imul(key, 0x9e3779b1) >>> 16) & mask; ; i = (i + 1) & mask) {
      if (this.stamps[i] !== this.generation) return -1;
      if (this.keys[i] === key) return this.values[i] as number;
    }
  }

  set(key: number, value: number): void {
    if ((this.size + 1) * 2 > this.keys.length) this.grow();
    const mask = this.keys.length - 1;
    for (let i = (Math.imul(key, 0x9e3779b1) >>> 16) & mask; ; i = (i + 1) & mask) {
      if (this.stamps[i] !== this.generation) {
        this.stamps[i] = this.generation;
        this.keys[i] = key;
        this.values[i] = value;
        this.size++;
        return;
      }
      if (this.keys[i] === key) {
        this.values[i] = value;
        return;
      }
    }
  }

  private grow(): void {
    const { keys, values, stamps, generation } = this;
    this.keys = new Int32Array(keys.length * 2);
    this.values = new Int32Array(keys.length * 2);
    this.stamps = new Uint32Array(keys.length * 2);
    this.size = 0;
    for (let i = 0; i < keys.length; i++)
      if (stamps[i] === generation) this.set(keys[i] as number, values[i] as number);
  }
}

const destinationCuisineCache = new Map<number, Float64Array | undefined>();

/** Cumulative cuisine weights of restaurants at a destination abroad (undefined: a Korean city). */
function destinationCuisines(city: number): Float64Array | undefined {
  if (!destinationCuisineCache.has(city)) {
    const c = CITIES[city] as City;
    destinationCuisineCache.set(
      city,
      c.cuisines ? cumulative(CUISINES.map((k) => c.cuisines?.[k] ?? 0)) : undefined,
    );
  }
  return destinationCuisineCache.get(city);
}

/** The `details` column of life_events.csv. */
function describeEvent(p: CustomerPlan, e: LifeEvent): string {
  const home = CITIES[p.homeCity] as City;
  switch (e.kind) {
    case 'moved_city':
      return `${home.name}->${(CITIES[e.city as number] as City).name}`;
    case 'new_job': {
      const work = home.districts[e.district as number]?.name ?? home.name;
      return p.employed
        ? `work ${home.districts[p.workDistrict]?.name ?? home.name}->${work}`
        : `starts work in ${work}`;
    }
    case 'new_baby':
      return 'first child';
    case 'new_car':
      return 'buys first car';
    case 'retirement':
      return 'stops working';
    default: {
      const never: never = e.kind;
      throw new Error(`unknown life event ${String(never)}`);
    }
  }
}

type CycleItem =
  | 'diapers'
  | 'pet_food'
  | 'haircut'
  | 'phone_bill'
  | 'utilities'
  | 'fuel'
  | 'contact_lenses'
  | 'gym_membership'
  | 'streaming';

interface CycleSpec {
  readonly category: CategoryKey;
  /** Range the customer's period is drawn from (days). */
  readonly period: readonly [number, number];
  readonly jitter: number;
  /** Share of customers buying it online. */
  readonly online: number;
  readonly median: number;
  /** Billed on a fixed day of the month instead of every `period` days. */
  readonly monthly?: boolean;
}

export const CYCLE_ITEMS: Readonly<Record<CycleItem, CycleSpec>> = {
  diapers: { category: 'baby', period: [18, 25], jitter: 2, online: 0.7, median: 45000 },
  pet_food: { category: 'pet', period: [28, 35], jitter: 2, online: 0.5, median: 42000 },
  haircut: { category: 'beauty', period: [28, 42], jitter: 3, online: 0, median: 25000 },
  phone_bill: { category: 'telecom', period: [30, 30], jitter: 1, online: 1, median: 60000, monthly: true },
  utilities: { category: 'utilities', period: [30, 30], jitter: 1, online: 1, median: 60000, monthly: true },
  fuel: { category: 'fuel', period: [7, 12], jitter: 2, online: 0, median: 65000 },
  contact_lenses: { category: 'optician', period: [85, 95], jitter: 4, online: 0.5, median: 60000 },
  gym_membership: {
    category: 'fitness',
    period: [30, 30],
    jitter: 1,
    online: 0,
    median: 80000,
    monthly: true,
  },
  streaming: { category: 'streaming', period: [30, 30], jitter: 1, online: 1, median: 13500, monthly: true },
};

/** The day d in [from, to) with cf[d] <= x < cf[d + 1] (binary search on cumulative day factors). */
function dayAt(cf: Float64Array, x: number, from: number, to: number): number {
  let lo = from;
  let hi = to - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if ((cf[mid] as number) <= x) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The first day ≥ `from` that falls on day-of-month `dom` (clamped to the month's last day). */
function nextMonthlyDay(cal: World['cal'], from: number, dom: number): number {
  let d = from;
  while (d < cal.days) {
    const target = Math.min(dom, daysInMonthOf(cal, d));
    const cur = cal.dayOfMonth[d] as number;
    if (cur === target) return d;
    if (cur < target) d += target - cur;
    else d += daysInMonthOf(cal, d) - cur + 1;
  }
  return cal.days;
}

function roundTo(v: number, step: number): number {
  return Math.max(step, Math.round(v / step) * step);
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

/** KRW per unit of a currency in a month (year * 12 + month): the 2025 rate with a gentle, deterministic drift. */
function fxRate(cur: number, month: number): number {
  const c = CURRENCIES[cur]!;
  return c.krw * (1 + 0.025 * Math.sin((2 * Math.PI * (month + cur * 1.7)) / 12));
}
