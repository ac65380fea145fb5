/**
 * The card pack's tag library (packs/card/tags) measured against the ground truth that the synthetic
 * world generator plants (truth/*.csv, see src/generate/truth.ts): personas, household state, life
 * events, purchase cycles and churn.
 *
 * One 12-month world is generated, ingested and built as of the last day of its window. Each tag with
 * a planted counterpart is scored (precision, recall, F1 for booleans; accuracy for categories) and
 * must clear a bar set from measurements on several seeds, with a margin. The seed used here was not
 * the one the thresholds were tuned on. To measure another world:
 *   CARD_LIBRARY_SEED=7 CARD_LIBRARY_CUSTOMERS=4000 npx vitest run test/packs/card-library.test.ts
 */
import { cpSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { type BuildResult, build } from '../../src/engine/build.js';
import { generateWorld } from '../../src/generate/index.js';
import { ingest } from '../../src/ingest/ingest.js';
import { loadTagDefinitions, type TagDefinitionInput } from '../../src/lang/definitions.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import { tempDir } from '../helpers.js';

const PACK_TAGS = fileURLToPath(new URL('../../packs/card/tags', import.meta.url));
const SEED = Number(process.env.CARD_LIBRARY_SEED ?? 20260611);
const CUSTOMERS = Number(process.env.CARD_LIBRARY_CUSTOMERS ?? 4000);
/** The world covers 2025-01-01 .. 2025-12-31 (Korean time); tags are built as of the end of it. */
const WINDOW_START = '2025-01-01';
const AS_OF = '2025-12-31';
/** A second, earlier build: churners whose churn date is still ahead are in their decline then. */
const MID_AS_OF = '2025-09-30';

/** What the generator planted about one customer. */
interface Truth {
  readonly id: string;
  readonly personas: ReadonlySet<string>;
  readonly favouriteCuisine: string | null;
  readonly employed: boolean;
  readonly carOwner: boolean;
  readonly youngChild: boolean;
  readonly finalCity: string;
  readonly churnDate: string | null;
  /** Start of the fading activity before churn. */
  readonly declineFrom: string | null;
  readonly signupDate: string;
  /** Life event -> ISO date. */
  readonly events: ReadonlyMap<string, string>;
  /** Purchase-cycle items still running on the last day of the window. */
  readonly activeCycles: ReadonlySet<string>;
}

/** Who a score is computed over. */
type Population = (t: Truth) => boolean;
/** Customers observable for the whole window: signed up before it and never churned. */
const steady: Population = (t) => t.signupDate < WINDOW_START && t.churnDate === null;
/** Everyone, including customers who joined during the window or churned. */
const everyone: Population = () => true;

interface BooleanCheck {
  readonly tag: string;
  /** Build time of the values scored (default AS_OF). */
  readonly asOf?: string;
  /** Tells checks of one tag apart in test names and the printed table. */
  readonly label?: string;
  readonly truth: (t: Truth) => boolean;
  readonly population: Population;
  readonly minPrecision: number;
  readonly minRecall: number;
}

interface CategoryCheck {
  readonly tag: string;
  /** The planted value, or null when the customer is not scored. */
  readonly truth: (t: Truth) => string | null;
  readonly population: Population;
  readonly minAccuracy: number;
}

const daysBefore = (iso: string, days: number) =>
  new Date(Date.parse(`${iso}T00:00:00Z`) - days * 86_400_000).toISOString().slice(0, 10);
const persona = (name: string) => (t: Truth) => t.personas.has(name);
const eventWithin = (event: string, days: number) => (t: Truth) => {
  const d = t.events.get(event);
  return d !== undefined && d > daysBefore(AS_OF, days);
};
const cycle = (item: string) => (t: Truth) => t.activeCycles.has(item);
const employedAtEnd = (t: Truth) => (t.employed || t.events.has('new_job')) && !t.events.has('retirement');

/** A scored boolean tag, as of AS_OF unless `more` says otherwise. */
const check = (
  tag: string,
  truth: (t: Truth) => boolean,
  population: Population,
  [minPrecision, minRecall]: readonly [number, number],
  more: Partial<BooleanCheck> = {},
): BooleanCheck => ({ tag, truth, population, minPrecision, minRecall, ...more });

/*
 * Bars: the lowest value measured on seeds 7, 11, 23, 42 and the test's own seed (4,000 customers x 12
 * months each; thresholds were tuned on seed 7, cross-checked on 11), minus 0.04, rounded down to a
 * multiple of 0.05: room for sampling noise and for small changes to the generator. The comments
 * give the measured range, precision | recall, over those five worlds.
 */
const BOOLEAN_CHECKS: readonly BooleanCheck[] = [
  // Personas (preferences.csv), over the customers observable all year.
  check('golf_lover', persona('golfer'), steady, [0.95, 0.95]), // P 1.000 | R 0.996
  check('foodie', persona('foodie'), steady, [0.85, 0.85]), // P 0.902-0.938 | R 0.927-0.960
  check('frequent_traveller', persona('frequent_traveller'), steady, [0.85, 0.8]), // P 0.892-0.927 | R 0.858-0.904
  check('online_shopper', persona('online_shopper'), steady, [0.85, 0.75]), // P 0.929-0.945 | R 0.828-0.842
  check('cafe_daily', persona('coffee_daily'), steady, [0.95, 0.95]), // P 1.000 | R 1.000
  // Fitness people without a gym membership visit 1-3 times a year: some of them stay below 3 visits.
  check('fitness_enthusiast', persona('fitness'), steady, [0.95, 0.7]), // P 0.996-1.000 | R 0.773-0.818
  check('pet_owner', persona('pet_owner'), steady, [0.95, 0.9]), // P 1.000 | R 0.968-0.986
  check('night_owl', persona('night_owl'), steady, [0.85, 0.7]), // P 0.908-0.952 | R 0.780-0.842
  // Weak luxury personas with low activity make fewer than 5 department-store visits a year.
  check('luxury_shopper', persona('luxury'), steady, [0.9, 0.6]), // P 0.955-0.981 | R 0.678-0.810
  check('bookworm', persona('bookworm'), steady, [0.9, 0.8]), // P 0.956-0.989 | R 0.865-0.917
  check('movie_goer', persona('movie_goer'), steady, [0.85, 0.8]), // P 0.915-0.942 | R 0.876-0.910
  // Household state (customers.csv, updated by life events).
  check('car_owner', (t) => t.carOwner || t.events.has('new_car'), steady, [0.95, 0.9]), // P 1.000 | R 0.985-0.992
  check('has_young_child', (t) => t.youngChild || t.events.has('new_baby'), steady, [0.95, 0.95]), // P 1.000 | R 0.990-1.000
  // Employment: people who drive to work rarely tap transit, so about a third of workers go unseen.
  check('commuter', employedAtEnd, steady, [0.95, 0.6]), // P 0.992-0.995 | R 0.668-0.710
  // Purchase cycles still running at the end of the window (cycles.csv).
  check('streaming_subscriber', cycle('streaming'), steady, [0.95, 0.95]), // P 1.000 | R 1.000
  check('phone_bill_on_card', cycle('phone_bill'), steady, [0.95, 0.95]), // P 1.000 | R 1.000
  check('utilities_on_card', cycle('utilities'), steady, [0.95, 0.95]), // P 1.000 | R 1.000
  check('regular_salon_visits', cycle('haircut'), steady, [0.95, 0.9]), // P 0.996-0.999 | R 0.944-0.964
  // Life events in the last 365 days (life_events.csv), over everyone. Onset tags need some history
  // before the event: customers who joined just before it, or churned soon after, are missed.
  check('new_parent', eventWithin('new_baby', 365), everyone, [0.95, 0.8]), // P 1.000 | R 0.877-0.935
  check('new_car_owner', eventWithin('new_car', 365), everyone, [0.9, 0.95]), // P 0.973-0.984 | R 1.000
  check('moved_city_recently', eventWithin('moved_city', 365), everyone, [0.95, 0.95]), // P 1.000 | R 1.000
  // Recall rests on the farewell dinner the generator plants; commute_stopped alone finds only the
  // ~40% of retirees who commuted by transit, and big barbecue dinners of other 50+ customers cost
  // precision.
  check('recently_retired', eventWithin('retirement', 365), everyone, [0.75, 0.85]), // P 0.796-0.847 | R 0.921-0.953
  // The truth is subtle: a job change within a city leaves only a wardrobe burst (2-4 clothing
  // purchases around the start date, 4+ in one month for a third of them), and only the car-less among
  // those who start working show a new commute. High precision, low recall by design.
  check('new_job', eventWithin('new_job', 365), everyone, [0.8, 0.2]), // P 0.902-0.940 | R 0.274-0.316
  // Churn (customers.csv churn_date; the decline starts 30-90 days before it). Every churner of the
  // world has churned by the end of the window.
  check(
    'dormant_60d',
    (t) => t.churnDate !== null && t.churnDate <= daysBefore(AS_OF, 60),
    everyone,
    [0.9, 0.95],
  ), // P 0.958-0.976 | R 1.000
  check('churn_risk', (t) => t.churnDate !== null, everyone, [0.8, 0.95]), // P 0.859-0.929 | R 1.000
  // Three months earlier part of the churners are still paying but fading. Their decline is gentle
  // (activity falls linearly to 20% over 30-90 days) and hides in normal month-to-month noise: only
  // those already gone or silent for 3 weeks are flagged, hence the modest recall.
  check(
    'churn_risk',
    (t) => t.declineFrom !== null && t.declineFrom <= MID_AS_OF,
    (t) => t.signupDate < daysBefore(MID_AS_OF, 180),
    [0.8, 0.55], // P 0.845-0.910 | R 0.621-0.707
    { asOf: MID_AS_OF, label: 'declining or gone' },
  ),
  check(
    'dormant_60d',
    (t) => t.churnDate !== null && t.churnDate <= daysBefore(MID_AS_OF, 60),
    (t) => t.signupDate <= MID_AS_OF,
    [0.85, 0.95], // P 0.915-0.969 | R 1.000
    { asOf: MID_AS_OF },
  ),
];

const CATEGORY_CHECKS: readonly CategoryCheck[] = [
  // The favourite cuisine of every planted foodie (accuracy 0.995-1.000).
  {
    tag: 'favourite_cuisine',
    truth: (t) => (t.personas.has('foodie') ? t.favouriteCuisine : null),
    population: steady,
    minAccuracy: 0.95,
  },
  // The city lived in at the end of the window, after any move (accuracy 0.999-1.000).
  { tag: 'home_city_90d', truth: (t) => t.finalCity, population: steady, minAccuracy: 0.95 },
];

interface Score {
  readonly tag: string;
  readonly population: number;
  readonly positives: number;
  readonly tagged: number;
  readonly truePositives: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
}

let dir = '';
let built: BuildResult;
let definitions: TagDefinitionInput[] = [];
let truths: Truth[] = [];
/** As-of -> entity id -> tag values. */
const values = new Map<string, Map<string, Record<string, unknown>>>();
let oneOffs: { golf: string[]; pet: string[]; baby: string[] } = { golf: [], pet: [], baby: [] };
const elapsed: Record<string, number> = {};

async function timed<T>(step: string, f: () => Promise<T>): Promise<T> {
  const t = Date.now();
  const r = await f();
  elapsed[step] = Date.now() - t;
  return r;
}

async function readTruth(wh: Warehouse): Promise<Truth[]> {
  const csv = (name: string) =>
    `read_csv('${path.join(dir, 'truth', name)}', header = true, all_varchar = true)`;
  const customers = await wh.objects<Record<string, string | null>>(
    `SELECT t.*, CAST(p.signup_date AS VARCHAR) AS signup_date
     FROM ${csv('customers.csv')} t JOIN main.customers p USING (customer_id) ORDER BY customer_id`,
  );
  const events = await wh.objects<{ customer_id: string; event: string; date: string }>(
    `SELECT customer_id, event, date FROM ${csv('life_events.csv')}`,
  );
  const cycles = await wh.objects<{ customer_id: string; item: string }>(
    `SELECT customer_id, item FROM ${csv('cycles.csv')} WHERE active_to = '${AS_OF}'`,
  );
  const byCustomer = <T extends { customer_id: string }>(rows: T[]) => {
    const m = new Map<string, T[]>();
    for (const r of rows) m.set(r.customer_id, [...(m.get(r.customer_id) ?? []), r]);
    return m;
  };
  const ev = byCustomer(events);
  const cy = byCustomer(cycles);
  return customers.map((c) => {
    const id = c.customer_id as string;
    return {
      id,
      personas: new Set((c.personas ?? '').split(';').filter((p) => p !== '')),
      favouriteCuisine: c.favourite_cuisine ?? null,
      employed: c.employed === 'true',
      carOwner: c.car_owner === 'true',
      youngChild: c.young_child === 'true',
      finalCity: c.final_city as string,
      churnDate: c.churn_date ?? null,
      declineFrom: c.decline_from ?? null,
      signupDate: c.signup_date as string,
      events: new Map((ev.get(id) ?? []).map((e) => [e.event, e.date])),
      activeCycles: new Set((cy.get(id) ?? []).map((x) => x.item)),
    };
  });
}

function scoreBoolean(c: BooleanCheck): Score {
  let population = 0;
  let positives = 0;
  let tagged = 0;
  let truePositives = 0;
  for (const t of truths) {
    if (!c.population(t)) continue;
    population++;
    const actual = c.truth(t);
    const predicted = values.get(c.asOf ?? AS_OF)?.get(t.id)?.[c.tag] === true;
    if (actual) positives++;
    if (predicted) tagged++;
    if (actual && predicted) truePositives++;
  }
  const precision = tagged === 0 ? 0 : truePositives / tagged;
  const recall = positives === 0 ? 0 : truePositives / positives;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { tag: c.tag, population, positives, tagged, truePositives, precision, recall, f1 };
}

function scoreCategory(c: CategoryCheck): { scored: number; correct: number; accuracy: number } {
  let scored = 0;
  let correct = 0;
  for (const t of truths) {
    if (!c.population(t)) continue;
    const expected = c.truth(t);
    if (expected === null) continue;
    scored++;
    if (values.get(AS_OF)?.get(t.id)?.[c.tag] === expected) correct++;
  }
  return { scored, correct, accuracy: scored === 0 ? 0 : correct / scored };
}

const pct = (x: number) => x.toFixed(3);
const checkName = (c: BooleanCheck) => `${c.tag} as of ${c.asOf ?? AS_OF}${c.label ? ` (${c.label})` : ''}`;

beforeAll(async () => {
  dir = tempDir();
  await timed('generate', () =>
    generateWorld({ customers: CUSTOMERS, months: 12, seed: SEED, out: dir, format: 'parquet' }),
  );
  cpSync(PACK_TAGS, path.join(dir, 'tags'), { recursive: true });
  await timed('ingest', () => ingest(dir));
  const wh = () => Warehouse.open(path.join(dir, '.tagverse', 'warehouse.duckdb'), { readOnly: true });
  const readValues = async (asOf: string) => {
    const w = await wh();
    try {
      const rows = await w.objects(`SELECT * FROM tags.current`);
      values.set(asOf, new Map(rows.map((r) => [String(r.entity_id), r])));
    } finally {
      w.close();
    }
  };
  const midTags = [...new Set(BOOLEAN_CHECKS.filter((c) => c.asOf === MID_AS_OF).map((c) => c.tag))];
  await timed('build mid-year', () => build(dir, { asOf: MID_AS_OF, tags: midTags, skipHistory: true }));
  await readValues(MID_AS_OF);
  built = await timed('build', () => build(dir, { asOf: AS_OF }));
  await readValues(AS_OF);
  definitions = loadTagDefinitions(dir).definitions.map((d) => d.input);
  const w = await wh();
  try {
    truths = await readTruth(w);
    const onlyOnce = async (categories: string) =>
      (
        await w.objects<{ id: string }>(
          `SELECT customer_id AS id FROM main.transactions WHERE category IN (${categories})
           GROUP BY 1 HAVING count(*) = 1`,
        )
      ).map((r) => r.id);
    oneOffs = {
      golf: await onlyOnce("'golf'"),
      pet: await onlyOnce("'pet', 'veterinary'"),
      baby: await onlyOnce("'baby', 'kids_clothing'"),
    };
  } finally {
    w.close();
  }
  const table = BOOLEAN_CHECKS.map((c) => {
    const s = scoreBoolean(c);
    return `${checkName(c).padEnd(60)} n=${String(s.population).padStart(5)} truth=${String(s.positives).padStart(4)} tagged=${String(s.tagged).padStart(4)} P=${pct(s.precision)} R=${pct(s.recall)} F1=${pct(s.f1)}`;
  });
  for (const c of CATEGORY_CHECKS) {
    const s = scoreCategory(c);
    table.push(`${c.tag.padEnd(60)} scored=${s.scored} accuracy=${pct(s.accuracy)}`);
  }
  console.log(
    `card library vs planted truth, seed ${SEED}, ${CUSTOMERS} customers, as of ${AS_OF} ` +
      `(${JSON.stringify(elapsed)} ms):\n${table.join('\n')}`,
  );
}, 180_000);

describe('card tag library', () => {
  it('every tag of the pack builds, with its declared category and type, documented and approved', () => {
    const builtByName = new Map(built.tags.map((t) => [t.name, t]));
    expect(definitions.length).toBeGreaterThanOrEqual(30);
    // Every definition builds (kinds such as recurrence add companion outputs, which build too).
    expect(definitions.map((d) => d.name).filter((n) => !builtByName.has(n))).toEqual([]);
    for (const d of definitions) {
      const b = builtByName.get(d.name);
      expect({ name: d.name, category: b?.category, type: b?.type }).toEqual({
        name: d.name,
        category: d.category,
        type: d.type,
      });
      expect(['behavior', 'preference', 'condition']).toContain(d.category);
      expect(d.status).toBe('approved');
      expect(d.owner ?? '').not.toBe('');
      expect(d.title ?? '').not.toBe('');
      expect(d.description.length).toBeGreaterThan(20);
    }
    for (const category of ['behavior', 'preference', 'condition']) {
      expect(definitions.filter((d) => d.category === category).length).toBeGreaterThanOrEqual(5);
    }
  });

  it('coverage is sane: no tag is null for everyone, no boolean tag is constant', () => {
    expect(built.entities).toBe(CUSTOMERS);
    for (const t of built.tags) {
      expect(t.nonNull, `${t.name}: share of customers with a value`).toBeGreaterThan(0);
      if (t.type === 'boolean') {
        expect(t.trueShare, `${t.name}: share of customers where it is true`).toBeGreaterThan(0);
        expect(t.trueShare, `${t.name}: share of customers where it is true`).toBeLessThan(1);
      }
    }
  });

  it.each(BOOLEAN_CHECKS.map((c) => [checkName(c), c] as const))(
    '%s matches the planted truth (precision and recall above the bars)',
    (name, check) => {
      const s = scoreBoolean(check);
      expect(s.positives, `${name}: customers with the truth`).toBeGreaterThan(0);
      expect(s.precision, `${name}: precision`).toBeGreaterThanOrEqual(check.minPrecision);
      expect(s.recall, `${name}: recall`).toBeGreaterThanOrEqual(check.minRecall);
    },
  );

  it.each(CATEGORY_CHECKS.map((c) => [c.tag, c] as const))('%s names the planted value', (name, check) => {
    const s = scoreCategory(check);
    expect(s.scored, `${name}: customers scored`).toBeGreaterThan(0);
    expect(s.accuracy, `${name}: accuracy`).toBeGreaterThanOrEqual(check.minAccuracy);
  });

  it('a single purchase outside the profile (the noise the generator plants) makes no preference', () => {
    expect(oneOffs.golf.length).toBeGreaterThan(0);
    expect(oneOffs.golf.filter((id) => values.get(AS_OF)?.get(id)?.golf_lover === true)).toEqual([]);
    expect(oneOffs.pet.filter((id) => values.get(AS_OF)?.get(id)?.pet_owner === true)).toEqual([]);
    expect(oneOffs.baby.filter((id) => values.get(AS_OF)?.get(id)?.has_young_child === true)).toEqual([]);
    expect(oneOffs.baby.filter((id) => values.get(AS_OF)?.get(id)?.new_parent === true)).toEqual([]);
  });
});
