/**
 * Who a customer is: demographics, card product, personas with strengths, household state
 * (employment, car, young child), life events and churn. This is the *plan* the simulator then acts
 * out, and most of the planted ground truth. Pure: everything comes from the customer's own stream.
 */
import type { Calendar } from './calendar.js';
import { CUISINE_SHARE, CUISINES, type Cuisine, FOODIE_CUISINE_WEIGHTS } from './categories.js';
import { CITIES, type City, HOME_CITY_INDEXES } from './geography.js';
import { cumulative, type Rng } from './prng.js';

export const AGE_BANDS = ['20s', '30s', '40s', '50s', '60s', '70s'] as const;
export const GENDERS = ['F', 'M'] as const;
export const CARD_PRODUCTS = ['Basic', 'Gold', 'Platinum', 'Black'] as const;

export const PERSONAS = [
  'golfer',
  'foodie',
  'frequent_traveller',
  'online_shopper',
  'coffee_daily',
  'fitness',
  'pet_owner',
  'night_owl',
  'luxury',
  'bookworm',
  'movie_goer',
] as const;
export type Persona = (typeof PERSONAS)[number];
export const P = Object.fromEntries(PERSONAS.map((p, i) => [p, i])) as Record<Persona, number>;

interface PersonaOdds {
  readonly base: number;
  readonly age: readonly number[];
  readonly gender?: readonly [number, number];
  readonly product?: readonly [number, number, number, number];
}

/** How common each persona is, and how that depends on age band, gender and card product. */
const PERSONA_ODDS: Readonly<Record<Persona, PersonaOdds>> = {
  golfer: { base: 0.07, age: [0.2, 0.6, 1.3, 1.8, 1.6, 0.8], gender: [0.5, 1.5], product: [0.5, 1, 2, 3] },
  foodie: { base: 0.12, age: [1.3, 1.3, 1, 0.8, 0.6, 0.4], product: [0.8, 1, 1.3, 1.5] },
  frequent_traveller: { base: 0.08, age: [1.2, 1.2, 1, 1, 0.9, 0.5], product: [0.5, 1, 2, 3] },
  online_shopper: { base: 0.18, age: [1.5, 1.4, 1.1, 0.7, 0.4, 0.2], gender: [1.2, 0.8] },
  coffee_daily: { base: 0.08, age: [1.3, 1.4, 1.2, 0.8, 0.4, 0.2] },
  fitness: { base: 0.1, age: [1.6, 1.4, 1, 0.7, 0.4, 0.2] },
  pet_owner: { base: 0.14, age: [1.1, 1.2, 1, 1, 0.9, 0.6] },
  night_owl: { base: 0.07, age: [2.2, 1.3, 0.7, 0.4, 0.2, 0.1], gender: [0.8, 1.2] },
  luxury: { base: 0.04, age: [0.5, 0.9, 1.2, 1.3, 1.2, 0.8], gender: [1.4, 0.6], product: [0.2, 0.6, 3, 8] },
  bookworm: { base: 0.06, age: [1, 1, 1, 1, 1.1, 1] },
  movie_goer: { base: 0.1, age: [1.5, 1.3, 1, 0.8, 0.5, 0.3] },
};

const AGE_WEIGHTS = [0.18, 0.2, 0.22, 0.2, 0.13, 0.07];
const PRODUCT_WEIGHTS = [0.5, 0.3, 0.15, 0.05];
const EMPLOYED_BY_AGE = [0.7, 0.85, 0.85, 0.75, 0.35, 0.08];
const CAR_BY_AGE = [0.2, 0.5, 0.65, 0.65, 0.55, 0.35];
const YOUNG_CHILD_BY_AGE = [0.04, 0.16, 0.05, 0, 0, 0];

export const LIFE_EVENTS = ['new_baby', 'moved_city', 'new_car', 'retirement', 'new_job'] as const;
export type LifeEventKind = (typeof LIFE_EVENTS)[number];

export interface LifeEvent {
  readonly kind: LifeEventKind;
  /** Day index in the window. */
  readonly day: number;
  /** moved_city: the new home; new_job: the new work district. */
  readonly city?: number;
  readonly district?: number;
}

export interface CustomerPlan {
  readonly index: number;
  readonly ageBand: number;
  readonly gender: number;
  readonly product: number;
  readonly priceSensitivity: number;
  readonly homeCity: number;
  readonly homeDistrict: number;
  readonly workDistrict: number;
  readonly employed: boolean;
  readonly carOwner: boolean;
  readonly youngChild: boolean;
  /** Persona strength in (0, 1], 0 when the customer does not have the persona. Indexed by P. */
  readonly persona: Float64Array;
  /** Index into CUISINES, or -1 (only foodies have a planted favourite). */
  readonly favouriteCuisine: number;
  /** Cumulative restaurant cuisine weights (CUISINES order). */
  readonly cuisineCumulative: Float64Array;
  /** Overall activity level (a multiplier on every frequency). */
  readonly activity: number;
  /** Day index of signup (negative: before the window). */
  readonly signupDay: number;
  /** Day index from which the customer is gone (-1: never churns), and the start of the decline. */
  readonly churnDay: number;
  readonly declineDay: number;
  readonly events: readonly LifeEvent[];
}

const HOME_CUMULATIVE = cumulative(HOME_CITY_INDEXES.map((ci) => (CITIES[ci] as City).population ?? 0));
const DISTRICT_CUMULATIVE = CITIES.map((c) => cumulative(c.districts.map((d) => d.weight)));

/** A home city in proportion to population (another one than `exclude`). */
function pickHome(rng: Rng, exclude = -1): number {
  for (;;) {
    const city = HOME_CITY_INDEXES[rng.pickCumulative(HOME_CUMULATIVE)] as number;
    if (city !== exclude) return city;
  }
}

/** A district of the city in proportion to its weight (another one than `exclude`, when there is one). */
function pickDistrict(rng: Rng, city: number, exclude = -1): number {
  const table = DISTRICT_CUMULATIVE[city] as Float64Array;
  if (table.length === 1) return 0;
  for (;;) {
    const d = rng.pickCumulative(table);
    if (d !== exclude) return d;
  }
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** Draws everything about a customer that is decided up front. Consumes only `rng`. */
export function planCustomer(rng: Rng, index: number, cal: Calendar): CustomerPlan {
  const D = cal.days;
  const ageBand = rng.pickWeighted(AGE_WEIGHTS);
  const gender = rng.chance(0.51) ? 0 : 1;
  const product = rng.pickWeighted(PRODUCT_WEIGHTS);
  const priceSensitivity = round2(
    Math.min(1, Math.max(0, [0.65, 0.5, 0.35, 0.2][product]! + 0.15 * rng.normal())),
  );
  const homeCity = pickHome(rng);
  const homeDistrict = pickDistrict(rng, homeCity);
  const employed = rng.chance(EMPLOYED_BY_AGE[ageBand]!);
  const workDistrict = pickDistrict(rng, homeCity, homeDistrict);
  const carOwner = rng.chance(CAR_BY_AGE[ageBand]!);
  const youngChild = rng.chance(YOUNG_CHILD_BY_AGE[ageBand]!);

  const persona = new Float64Array(PERSONAS.length);
  PERSONAS.forEach((p, i) => {
    const o = PERSONA_ODDS[p];
    const prob = o.base * (o.age[ageBand] ?? 1) * (o.gender?.[gender] ?? 1) * (o.product?.[product] ?? 1);
    if (rng.chance(Math.min(0.9, prob))) persona[i] = round2(rng.range(0.35, 1));
  });

  // Everyone has cuisine tastes around the national mix; a foodie's favourite takes a large share.
  const weights = CUISINES.map((c) => CUISINE_SHARE[c] * Math.exp(0.35 * rng.normal()));
  let favouriteCuisine = -1;
  const foodie = persona[P.foodie] as number;
  if (foodie > 0) {
    favouriteCuisine = rng.pickWeighted(CUISINES.map((c) => FOODIE_CUISINE_WEIGHTS[c as Cuisine]));
    const total = weights.reduce((s, w) => s + w, 0);
    const share = 0.45 + 0.3 * foodie; // of all restaurant visits
    for (let i = 0; i < weights.length; i++) weights[i] = ((weights[i] as number) / total) * (1 - share);
    weights[favouriteCuisine] = (weights[favouriteCuisine] as number) + share;
  }
  let s = 0;
  const cuisineCumulative = Float64Array.from(weights.map((w) => (s += w)));

  const activity = Math.min(2.5, Math.max(0.35, Math.exp(0.3 * rng.normal())));

  // Most customers joined years ago; some sign up during the window (and start from nothing).
  const signupDay = rng.chance(0.88)
    ? -rng.intBetween(30, 365 * 12)
    : rng.int(Math.max(1, Math.floor(D * 0.85)));

  let churnDay = -1;
  let declineDay = -1;
  if (rng.chance(0.06)) {
    const lo = Math.max(Math.floor(D * 0.3), signupDay + 90);
    const hi = Math.floor(D * 0.95);
    if (lo < hi) {
      churnDay = rng.intBetween(lo, hi);
      declineDay = Math.max(signupDay, churnDay - rng.intBetween(30, 90));
    }
  }

  // Life events: dated well inside the window so there is a "before" and an "after" to compare.
  const events: LifeEvent[] = [];
  const lo = Math.max(Math.floor(D * 0.12), signupDay + 30);
  const hi = churnDay >= 0 ? Math.min(Math.floor(D * 0.88), churnDay - 60) : Math.floor(D * 0.88);
  const eventDay = () => rng.intBetween(lo, hi);
  if (lo < hi) {
    if (!youngChild && rng.chance([0.07, 0.11, 0.025, 0, 0, 0][ageBand]!))
      events.push({ kind: 'new_baby', day: eventDay() });
    if (rng.chance(0.05 * [1.4, 1.3, 1, 0.8, 0.6, 0.4][ageBand]!)) {
      const city = pickHome(rng, homeCity);
      events.push({ kind: 'moved_city', day: eventDay(), city, district: pickDistrict(rng, city) });
    }
    if (!carOwner && rng.chance(0.1 * [1.2, 1.2, 1, 0.9, 0.6, 0.2][ageBand]!))
      events.push({ kind: 'new_car', day: eventDay() });
    if (employed && rng.chance([0, 0, 0, 0.12, 0.35, 0][ageBand]!)) {
      events.push({ kind: 'retirement', day: eventDay() });
    } else if (rng.chance([0.16, 0.09, 0.05, 0.03, 0, 0][ageBand]!)) {
      events.push({ kind: 'new_job', day: eventDay(), district: pickDistrict(rng, homeCity, workDistrict) });
    }
  }
  events.sort((a, b) => a.day - b.day || LIFE_EVENTS.indexOf(a.kind) - LIFE_EVENTS.indexOf(b.kind));

  return {
    index,
    ageBand,
    gender,
    product,
    priceSensitivity,
    homeCity,
    homeDistrict,
    workDistrict,
    employed,
    carOwner,
    youngChild,
    persona,
    favouriteCuisine,
    cuisineCumulative,
    activity,
    signupDay,
    churnDay,
    declineDay,
    events,
  };
}
