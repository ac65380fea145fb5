/**
 * The card pack's tags of the kinds that read people — affinity (packs/card/tags/tastes.yaml),
 * recurrence (cycles.yaml), onset and shift (changes.yaml) — measured against the ground truth the
 * world generator plants (truth/*.csv, see docs/world.md):
 * - planted preferences (personas, and a foodie's favourite cuisine) against affinity lists;
 * - life events against onset and shift tags, with the error of `<tag>_since` against the event date;
 * - purchase cycles against recurrence tags, with the error of `<tag>_next_due` against the
 *   customer's actual next purchase at the cycle's merchant.
 *
 * One world of 20,000 customers x 12 months is generated and ingested. Cycles are built as of
 * CYCLE_AS_OF, 61 days before the world ends, so that the next purchase after it is in the data;
 * preferences and life events as of the last day. Bars are the lowest value measured over several
 * seeds, minus a margin (see BARS). To measure another world:
 *   CARD_KINDS_SEED=7 CARD_KINDS_CUSTOMERS=20000 npx vitest run test/packs/card-kinds-truth.test.ts
 */
import { cpSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../src/engine/build.js';
import { generateWorld } from '../../src/generate/index.js';
import { ingest } from '../../src/ingest/ingest.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import { tempDir } from '../helpers.js';

const PACK_TAGS = fileURLToPath(new URL('../../packs/card/tags', import.meta.url));
/** The pack's files of affinity, recurrence, onset and shift tags (nothing else is read by them). */
const KIND_FILES = ['tastes.yaml', 'cycles.yaml', 'changes.yaml'];
const SEED = Number(process.env.CARD_KINDS_SEED ?? 20260612);
const CUSTOMERS = Number(process.env.CARD_KINDS_CUSTOMERS ?? 20_000);
/** The world covers 2025-01-01 .. 2025-12-31 (Korean time). */
const WINDOW_START = '2025-01-01';
const AS_OF = '2025-12-31';
/** 61 days before the end: every cycle of period <= 35 days has a next purchase after it. */
const CYCLE_AS_OF = '2025-10-31';
const TZ = 'Asia/Seoul';

type AffinityList = readonly { readonly value: string; readonly score: number }[];
type Row = Record<string, unknown>;

const has = (list: unknown, value: string) =>
  Array.isArray(list) && (list as AffinityList).some((x) => x.value === value);
const topValue = (list: unknown) =>
  Array.isArray(list) && list.length > 0 ? (list as AffinityList)[0]!.value : null;

/** A planted persona, and the affinity value that should show it. */
interface PreferenceCheck {
  readonly persona: string;
  /** The customer is tagged with the preference. */
  readonly tagged: (v: Row) => boolean;
  /** For personas with a value (the foodie's cuisine): the tag names the planted value. */
  readonly right?: (v: Row, t: Truth) => boolean;
}

const PREFERENCES: readonly PreferenceCheck[] = [
  { persona: 'golfer', tagged: (v) => has(v.lifestyle_affinity, 'golf') },
  { persona: 'bookworm', tagged: (v) => has(v.lifestyle_affinity, 'books') },
  { persona: 'movie_goer', tagged: (v) => has(v.lifestyle_affinity, 'cinema') },
  { persona: 'fitness', tagged: (v) => has(v.lifestyle_affinity, 'fitness') },
  { persona: 'pet_owner', tagged: (v) => has(v.lifestyle_affinity, 'pets') },
  { persona: 'luxury', tagged: (v) => has(v.lifestyle_affinity, 'luxury') },
  { persona: 'online_shopper', tagged: (v) => has(v.lifestyle_affinity, 'online_marketplace') },
  { persona: 'coffee_daily', tagged: (v) => has(v.lifestyle_affinity, 'cafe') },
  { persona: 'frequent_traveller', tagged: (v) => has(v.travel_affinity, 'travel') },
  { persona: 'night_owl', tagged: (v) => has(v.daypart_affinity, 'small_hours') },
  {
    persona: 'foodie',
    tagged: (v) => topValue(v.cuisine_affinity) !== null,
    right: (v, t) => topValue(v.cuisine_affinity) === t.favouriteCuisine,
  },
];

/** A planted life event, the tag that should detect it and its companion dating it. */
interface EventCheck {
  readonly event: string;
  readonly tag: string;
  readonly since: string;
}

const EVENTS: readonly EventCheck[] = [
  { event: 'new_baby', tag: 'became_parent', since: 'became_parent_since' },
  { event: 'new_car', tag: 'became_car_owner', since: 'became_car_owner_since' },
  { event: 'moved_city', tag: 'moved_city', since: 'moved_city_date' },
  { event: 'retirement', tag: 'commute_ended', since: 'commute_ended_since' },
  { event: 'new_job', tag: 'commute_began', since: 'commute_began_since' },
];

/** Planted cycle item -> recurrence tag. */
const CYCLES: Readonly<Record<string, string>> = {
  fuel: 'fuel_cycle',
  phone_bill: 'phone_bill_cycle',
  streaming: 'streaming_cycle',
  haircut: 'haircut_cycle',
  utilities: 'utilities_cycle',
  pet_food: 'pet_food_cycle',
  diapers: 'diaper_cycle',
  gym_membership: 'gym_cycle',
  contact_lenses: 'contact_lens_cycle',
};
/** The issue's next-due target covers cycles with a period of at most 35 days. */
const NEXT_DUE_MAX_PERIOD = 35;

/*
 * Bars: measured on seeds 20260612 (the default), 7, 11 and 42 (20,000 customers x 12 months each).
 * The comments give the range over those worlds; a bar is the lowest value minus about 0.03, rounded
 * down to a multiple of 0.05 (for day errors: the highest median plus a day or more). Where the
 * issue's targets (F1 >= 0.9 for preferences and life events, next-due median error <= 3 days) are
 * missed, the comment says why.
 */
const BARS = {
  preferences: {
    /**
     * F1 over all (customer, persona) pairs (0.918-0.922): the issue's target, met on every seed
     * with about 0.02 to spare, so it is asserted as is.
     */
    microF1: 0.9,
    perPersona: {
      golfer: 0.9, // 0.960-0.966 (P 1.000)
      bookworm: 0.85, // 0.922-0.930
      movie_goer: 0.85, // 0.906-0.910
      // 0.866-0.888. Fitness people without a gym membership visit a gym or studio 1-3 times a year:
      // too few days for any preference rule, so recall stays near 0.8.
      fitness: 0.8,
      pet_owner: 0.9, // 0.942-0.951 (P 1.000)
      // 0.823-0.834. Weak luxury personas on low activity visit department stores and jewellers
      // barely more than others; P and R both ~0.83.
      luxury: 0.75,
      // 0.875-0.883. Marketplace orders are common for everyone; weak online shoppers (2.5x) on low
      // activity overlap with heavy ordinary users: R ~0.85.
      online_shopper: 0.8,
      coffee_daily: 0.95, // 1.000
      // 0.851-0.874. One holiday makes many travel days and non-travellers take a trip now and then:
      // a lift over travel days cannot tell two trips from three well.
      frequent_traveller: 0.8,
      night_owl: 0.9, // 0.957-0.963
      // 0.948-0.962, favourite cuisine named right. Korean and Korean BBQ are ~44% of all visits, so
      // their lovers reach a smaller lift than lovers of rarer cuisines.
      foodie: 0.9,
    } as Record<string, number>,
  },
  events: {
    new_baby: { f1: 0.95, medianDateError: 5 }, // F1 0.995-0.998, |since - date| median 1-2 days
    new_car: { f1: 0.95, medianDateError: 1 }, // F1 0.998-0.999, 0 days (the dealer payment)
    // F1 0.948-0.961 (P 1.000, R 0.90-0.93), 4 days. Missed: moves whose windows hold too few
    // everyday purchases to reach the 5 rows and 60% share a shift needs.
    moved_city: { f1: 0.9, medianDateError: 7 },
    // F1 0.189-0.211 (P ~0.25, R ~0.17), 13-16 days. Missed target. Commute taps are a small share
    // of transit; car owners commute by transit on 2% of working days, so 60 quiet days happen by
    // chance; a new car ends transit commuting too; and ~60% of retirees never commuted by transit.
    // Fixed onset windows cannot test the earlier rate the way packs/card/tags/life-events.yaml
    // does. (recently_retired there reaches F1 ~0.85 through the farewell dinner.)
    retirement: { f1: 0.15, medianDateError: 30 },
    // F1 0.146-0.161 (P ~0.19, R ~0.13), 16-38 days. Missed target. Only the car-less among the
    // previously unemployed start commuting; a job change within a city leaves no onset at all;
    // occasional transit users look like new commuters after a quiet 40-day baseline.
    new_job: { f1: 0.1, medianDateError: 60 },
  } as Record<string, { f1: number; medianDateError: number }>,
  cycles: {
    /**
     * Median |next_due - actual next purchase| in days, pooled over every found cycle of <= 35 days
     * (0 on every seed: monthly bills are billed on a fixed day and are most of the cycles).
     */
    medianNextDueError: 1,
    /**
     * The same per item: 0 for the monthly bills and the gym, 2 for fuel, pet food and diapers (jitter
     * of 2 days), 2-3 for haircuts (jitter of 3 days, hence 4).
     */
    itemNextDueError: { haircut: 4 } as Record<string, number>,
    defaultItemNextDueError: 3,
    /** Customers called regular who have a running planted cycle of the item: 0.976-0.994. */
    precision: 0.95,
    /** Found at the planted merchant, among cycles running on CYCLE_AS_OF. */
    recall: {
      fuel: 0.9, // 0.950-0.952
      phone_bill: 0.9, // 0.954-0.960
      streaming: 0.9, // 0.953-0.956
      haircut: 0.85, // 0.901-0.910
      utilities: 0.9, // 0.956-0.960
      pet_food: 0.85, // 0.927-0.929
      // 0.799-0.826. Babies born in the last months have fewer than 4 purchase episodes yet.
      diapers: 0.75,
      gym_membership: 0.9, // 0.936-0.942
      // 0.805-0.813. Bought every ~90 days: 3 purchases need most of the 10 months of data before
      // CYCLE_AS_OF, so cycles started late in the window are not regular yet.
      contact_lenses: 0.75,
    } as Record<string, number>,
  },
};

interface Truth {
  readonly id: string;
  /** Signed up before the window: a full year of history. */
  readonly fullYear: boolean;
  readonly churned: boolean;
  readonly personas: ReadonlySet<string>;
  readonly favouriteCuisine: string | null;
  /** Life event -> local date. */
  readonly events: ReadonlyMap<string, string>;
}

/** A planted cycle running on CYCLE_AS_OF, with the first purchase at its merchant after it. */
interface CycleTruth {
  readonly id: string;
  readonly item: string;
  readonly merchant: string;
  readonly period: number;
  /** Local date of the next purchase at the merchant after CYCLE_AS_OF (null: none in the data). */
  readonly nextDay: string | null;
}

interface Score {
  readonly population: number;
  readonly positives: number;
  readonly tagged: number;
  readonly truePositives: number;
}
const precision = (s: Score) => (s.tagged === 0 ? 0 : s.truePositives / s.tagged);
const recall = (s: Score) => (s.positives === 0 ? 0 : s.truePositives / s.positives);
const f1 = (s: Score) => {
  const p = precision(s);
  const r = recall(s);
  return p + r === 0 ? 0 : (2 * p * r) / (p + r);
};
const median = (xs: readonly number[]) => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const daysBetween = (a: string, b: string) => Math.round((Date.parse(b) - Date.parse(a)) / 86_400_000);
const pct = (x: number) => x.toFixed(3);

let truths: Truth[] = [];
let cycleTruths: CycleTruth[] = [];
/** Entity id -> tag values (dates as local YYYY-MM-DD) as of AS_OF, and as of CYCLE_AS_OF. */
let values = new Map<string, Row>();
let cycleValues = new Map<string, Row>();
const elapsed: Record<string, number> = {};

async function timed<T>(step: string, f: () => Promise<T>): Promise<T> {
  const t = Date.now();
  const r = await f();
  elapsed[step] = Date.now() - t;
  return r;
}

const localDay = (col: string) => `strftime(timezone('${TZ}', ${col}), '%Y-%m-%d') AS ${col}`;

function scorePreference(c: PreferenceCheck): Score {
  let population = 0;
  let positives = 0;
  let tagged = 0;
  let truePositives = 0;
  for (const t of truths) {
    // Preferences are judged on customers observable all year: joined before it and never left.
    if (!t.fullYear || t.churned) continue;
    population++;
    const v = values.get(t.id) ?? {};
    const actual = t.personas.has(c.persona);
    const predicted = c.tagged(v);
    if (actual) positives++;
    if (predicted) tagged++;
    if (actual && predicted && (c.right === undefined || c.right(v, t))) truePositives++;
  }
  return { population, positives, tagged, truePositives };
}

interface EventScore extends Score {
  /** |since - event date| in days, per true positive. */
  readonly dateErrors: readonly number[];
  /** since - event date (negative: the tag dates it before the event). */
  readonly signedErrors: readonly number[];
}

function scoreEvent(c: EventCheck): EventScore {
  let population = 0;
  let positives = 0;
  let tagged = 0;
  let truePositives = 0;
  const dateErrors: number[] = [];
  const signedErrors: number[] = [];
  for (const t of truths) {
    // Onsets compare with the customer's own past: only customers paying before the window are judged.
    if (!t.fullYear) continue;
    population++;
    const v = values.get(t.id) ?? {};
    const date = t.events.get(c.event);
    const predicted = v[c.tag] === true;
    if (date !== undefined) positives++;
    if (predicted) tagged++;
    if (date !== undefined && predicted) {
      truePositives++;
      const since = v[c.since];
      if (typeof since === 'string') {
        signedErrors.push(daysBetween(date, since));
        dateErrors.push(Math.abs(daysBetween(date, since)));
      }
    }
  }
  return { population, positives, tagged, truePositives, dateErrors, signedErrors };
}

interface CycleScore {
  /** Customers with a running planted cycle of the item. */
  readonly running: number;
  /** Customers the recurrence tag calls regular, and those of them with a running cycle of the item. */
  readonly tagged: number;
  readonly taggedRight: number;
  /** Running cycles the tag finds at their planted merchant (`<tag>_value`). */
  readonly found: number;
  /** |next_due - next purchase| in days, per found cycle of period <= 35 days. */
  readonly nextDueErrors: readonly number[];
}
const cyclePrecision = (s: CycleScore) => (s.tagged === 0 ? 0 : s.taggedRight / s.tagged);
const cycleRecall = (s: CycleScore) => (s.running === 0 ? 0 : s.found / s.running);

function scoreCycle(item: string): CycleScore {
  const tag = CYCLES[item]!;
  const running = new Map<string, CycleTruth[]>();
  for (const c of cycleTruths) {
    if (c.item === item) running.set(c.id, [...(running.get(c.id) ?? []), c]);
  }
  let tagged = 0;
  let taggedRight = 0;
  for (const [id, v] of cycleValues) {
    if (v[tag] !== true) continue;
    tagged++;
    if (running.has(id)) taggedRight++;
  }
  let found = 0;
  const nextDueErrors: number[] = [];
  for (const [id, cs] of running) {
    const v = cycleValues.get(id) ?? {};
    const c = cs.find((x) => x.merchant === v[`${tag}_value`]);
    if (v[tag] !== true || c === undefined) continue;
    found++;
    const due = v[`${tag}_next_due`];
    if (c.period <= NEXT_DUE_MAX_PERIOD && c.nextDay !== null && typeof due === 'string')
      nextDueErrors.push(Math.abs(daysBetween(c.nextDay, due)));
  }
  return { running: running.size, tagged, taggedRight, found, nextDueErrors };
}

const sumScores = (scores: readonly Score[]): Score =>
  scores.reduce(
    (a, b) => ({
      population: a.population + b.population,
      positives: a.positives + b.positives,
      tagged: a.tagged + b.tagged,
      truePositives: a.truePositives + b.truePositives,
    }),
    { population: 0, positives: 0, tagged: 0, truePositives: 0 },
  );

async function readValues(wh: Warehouse, columns: readonly string[], dates: readonly string[]) {
  const rows = await wh.objects(
    `SELECT entity_id, ${[...columns, ...dates.map(localDay)].join(', ')} FROM tags.current`,
  );
  return new Map(rows.map((r) => [String(r.entity_id), r]));
}

async function readTruth(wh: Warehouse, dir: string, cycleAsOfIso: string): Promise<void> {
  const csv = (name: string) =>
    `read_csv('${path.join(dir, 'truth', name)}', header = true, all_varchar = true)`;
  const customers = await wh.objects<Record<string, string | null>>(
    `SELECT t.customer_id, t.personas, t.favourite_cuisine, t.churn_date,
            CAST(p.signup_date AS VARCHAR) AS signup_date
     FROM ${csv('customers.csv')} t JOIN main.customers p USING (customer_id) ORDER BY customer_id`,
  );
  const events = await wh.objects<{ customer_id: string; event: string; date: string }>(
    `SELECT customer_id, event, date FROM ${csv('life_events.csv')}`,
  );
  const byCustomer = new Map<string, Map<string, string>>();
  for (const e of events) {
    const m = byCustomer.get(e.customer_id) ?? new Map<string, string>();
    m.set(e.event, e.date);
    byCustomer.set(e.customer_id, m);
  }
  truths = customers.map((c) => ({
    id: c.customer_id as string,
    fullYear: (c.signup_date as string) < WINDOW_START,
    churned: c.churn_date !== null,
    personas: new Set((c.personas ?? '').split(';').filter((p) => p !== '')),
    favouriteCuisine: c.favourite_cuisine ?? null,
    events: byCustomer.get(c.customer_id as string) ?? new Map(),
  }));
  const cycles = await wh.objects<{
    customer_id: string;
    item: string;
    merchant_id: string;
    period: number;
    next_day: string | null;
  }>(
    `WITH running AS (
       SELECT customer_id, item, merchant_id, CAST(period_days AS INTEGER) AS period FROM ${csv('cycles.csv')}
       WHERE active_from <= '${CYCLE_AS_OF}' AND active_to > '${CYCLE_AS_OF}'),
     next AS (
       SELECT customer_id, merchant_id, min(ts) AS ts FROM main.transactions
       WHERE ts > CAST('${cycleAsOfIso}' AS TIMESTAMPTZ) GROUP BY 1, 2)
     SELECT running.*, strftime(timezone('${TZ}', next.ts), '%Y-%m-%d') AS next_day
     FROM running LEFT JOIN next USING (customer_id, merchant_id)`,
  );
  cycleTruths = cycles.map((c) => ({
    id: c.customer_id,
    item: c.item,
    merchant: c.merchant_id,
    period: Number(c.period),
    nextDay: c.next_day,
  }));
}

beforeAll(async () => {
  const dir = tempDir();
  await timed('generate', () =>
    generateWorld({ customers: CUSTOMERS, months: 12, seed: SEED, out: dir, format: 'parquet' }),
  );
  mkdirSync(path.join(dir, 'tags'), { recursive: true });
  for (const f of KIND_FILES) cpSync(path.join(PACK_TAGS, f), path.join(dir, 'tags', f));
  await timed('ingest', () => ingest(dir));
  const file = path.join(dir, '.tagverse', 'warehouse.duckdb');
  // Cycles first, as of 61 days before the end. `build({ tags })` recomputes a kind tag's companion
  // outputs only when they are named (naming the main tag alone leaves them as they were), so the
  // companions read here are named too.
  const cycleTags = Object.values(CYCLES).flatMap((t) => [t, `${t}_value`, `${t}_next_due`]);
  const cycleBuild = await timed('build cycles', () =>
    build(dir, { asOf: CYCLE_AS_OF, tags: cycleTags, skipHistory: true }),
  );
  let wh = await Warehouse.open(file, { readOnly: true });
  try {
    cycleValues = await readValues(
      wh,
      Object.values(CYCLES).flatMap((t) => [t, `${t}_value`]),
      Object.values(CYCLES).map((t) => `${t}_next_due`),
    );
    await readTruth(wh, dir, cycleBuild.asOf);
  } finally {
    wh.close();
  }
  // Then preferences and life events as of the end (the affinity, onset and shift tags, with the
  // companions read here).
  const affinities = ['lifestyle_affinity', 'travel_affinity', 'cuisine_affinity', 'daypart_affinity'];
  const eventTags = EVENTS.flatMap((e) => [e.tag, e.since]);
  await timed('build', () =>
    build(dir, { asOf: AS_OF, tags: [...affinities, ...eventTags], skipHistory: true }),
  );
  wh = await Warehouse.open(file, { readOnly: true });
  try {
    values = await readValues(
      wh,
      [...affinities, ...EVENTS.map((e) => e.tag)],
      EVENTS.map((e) => e.since),
    );
  } finally {
    wh.close();
  }

  const lines: string[] = [];
  for (const c of PREFERENCES) {
    const s = scorePreference(c);
    lines.push(
      `preference ${c.persona.padEnd(20)} truth=${String(s.positives).padStart(5)} tagged=${String(s.tagged).padStart(5)} P=${pct(precision(s))} R=${pct(recall(s))} F1=${pct(f1(s))}`,
    );
  }
  const all = sumScores(PREFERENCES.map(scorePreference));
  lines.push(`preferences (micro) P=${pct(precision(all))} R=${pct(recall(all))} F1=${pct(f1(all))}`);
  for (const c of EVENTS) {
    const s = scoreEvent(c);
    lines.push(
      `event ${c.event.padEnd(12)} via ${c.tag.padEnd(18)} truth=${String(s.positives).padStart(4)} tagged=${String(s.tagged).padStart(5)} P=${pct(precision(s))} R=${pct(recall(s))} F1=${pct(f1(s))} |since-date| median=${median(s.dateErrors)} signed median=${median(s.signedErrors)}`,
    );
  }
  const allErrors: number[] = [];
  for (const item of Object.keys(CYCLES)) {
    const s = scoreCycle(item);
    allErrors.push(...s.nextDueErrors);
    lines.push(
      `cycle ${item.padEnd(15)} running=${String(s.running).padStart(5)} tagged=${String(s.tagged).padStart(5)} P=${pct(cyclePrecision(s))} R(at merchant)=${pct(cycleRecall(s))} |next_due-next| median=${median(s.nextDueErrors)} (n=${s.nextDueErrors.length})`,
    );
  }
  lines.push(`cycles of period <= ${NEXT_DUE_MAX_PERIOD}d: next_due median error ${median(allErrors)} days`);
  console.log(
    `card kinds vs planted truth, seed ${SEED}, ${CUSTOMERS} customers, as of ${AS_OF} (cycles ${CYCLE_AS_OF}) ` +
      `(${JSON.stringify(elapsed)} ms):\n${lines.join('\n')}`,
  );
}, 600_000);

describe('card pack affinity tags find the planted preferences', () => {
  it.each(PREFERENCES.map((c) => [c.persona, c] as const))('%s', (persona, c) => {
    const s = scorePreference(c);
    expect(s.positives, `${persona}: customers with the persona`).toBeGreaterThan(100);
    expect(f1(s), `${persona}: F1`).toBeGreaterThanOrEqual(BARS.preferences.perPersona[persona]!);
  });

  it(`over all personas, F1 >= ${BARS.preferences.microF1}`, () => {
    const s = sumScores(PREFERENCES.map(scorePreference));
    expect(f1(s)).toBeGreaterThanOrEqual(BARS.preferences.microF1);
  });
});

describe('card pack onset and shift tags find the planted life events, and date them', () => {
  it.each(EVENTS.map((c) => [c.event, c] as const))('%s', (event, c) => {
    const s = scoreEvent(c);
    const bar = BARS.events[event]!;
    expect(s.positives, `${event}: customers with the event`).toBeGreaterThan(100);
    expect(f1(s), `${event}: F1 of ${c.tag}`).toBeGreaterThanOrEqual(bar.f1);
    expect(median(s.dateErrors), `${event}: median |${c.since} - date|`).toBeLessThanOrEqual(
      bar.medianDateError,
    );
  });
});

describe('card pack recurrence tags find the planted cycles and predict the next purchase', () => {
  it.each(Object.keys(CYCLES).map((item) => [item] as const))('%s', (item) => {
    const s = scoreCycle(item);
    expect(s.running, `${item}: running cycles`).toBeGreaterThan(100);
    expect(cyclePrecision(s), `${item}: precision`).toBeGreaterThanOrEqual(BARS.cycles.precision);
    expect(cycleRecall(s), `${item}: recall at the planted merchant`).toBeGreaterThanOrEqual(
      BARS.cycles.recall[item]!,
    );
    if (s.nextDueErrors.length > 0) {
      expect(median(s.nextDueErrors), `${item}: median |next_due - next purchase|`).toBeLessThanOrEqual(
        BARS.cycles.itemNextDueError[item] ?? BARS.cycles.defaultItemNextDueError,
      );
    }
  });

  it(`next_due is off the actual next purchase by at most ${BARS.cycles.medianNextDueError} day(s) (median), for cycles of <= ${NEXT_DUE_MAX_PERIOD} days`, () => {
    const errors = Object.keys(CYCLES).flatMap((item) => scoreCycle(item).nextDueErrors);
    expect(errors.length).toBeGreaterThan(1000);
    expect(median(errors)).toBeLessThanOrEqual(BARS.cycles.medianNextDueError);
  });
});
