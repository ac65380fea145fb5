/**
 * Offer definitions: `offers/*.yaml` in a project, each file a YAML list of offers. An offer says who
 * may get it (eligibility: a segment expression), what it is for (target merchants, categories,
 * items), what it is worth, where and when it may be shown (channels, validity, context rules), how
 * much of it there is (budget, capacity, a per-entity frequency cap) and which signals rank it
 * (affinity, model score, due date, recommendations). See docs/offers.md.
 *
 * Problems carry file:line:col; eligibility expressions are checked against the served tags
 * (catalog.ts), pointing at the offending character in the file.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isScalar } from 'yaml';
import { z } from 'zod';
import { durationSeconds } from '../lang/parser.js';
import type { Problem } from '../util/problems.js';
import { YamlFile } from '../util/yaml-locator.js';
import { scalarMapper, type TextPositionMapper } from '../util/yaml-text-position.js';
import { zodIssuesToProblems } from '../util/zod-problems.js';

export const OFFERS_DIR = 'offers';
const OFFER_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const DATE = /^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/;
const duration = z.string().regex(/^\d+(\.\d+)?[smhdw]$/, 'a duration like 30d, 12h or 2w');
const text = z.union([z.string(), z.number()]).transform(String);

export const OfferSchema = z
  .strictObject({
    id: z
      .string()
      .regex(OFFER_ID, 'an offer id is lower case letters, digits, _ or -, at most 63 characters'),
    title: z.string().min(1),
    description: z.string().optional(),
    eligibility: z
      .union([z.string().min(1), z.boolean()])
      .transform(String)
      .optional()
      .describe('Segment expression over tags: who may get the offer (default: everyone).'),
    target: z
      .strictObject({
        merchants: z
          .array(text)
          .optional()
          .describe('Ids in the places lookup where the offer is redeemable.'),
        categories: z.array(text).optional().describe("Values of the places lookup's `category` column."),
        match: z
          .record(z.string(), z.array(text))
          .optional()
          .describe(
            'Other columns of the places lookup and the values that match, e.g. {cuisine: [korean_bbq]}.',
          ),
        items: z.array(text).optional().describe("Items of the offer's recommender the offer is for."),
      })
      .optional(),
    places: z
      .string()
      .optional()
      .describe(
        'The lookup source of places (with lat, lon, city); default: the first lookup with lat and lon.',
      ),
    value: z
      .strictObject({
        kind: z.enum(['percent', 'amount', 'points', 'gift']),
        amount: z.number().min(0).optional(),
        currency: z.string().optional(),
      })
      .describe('What the offer gives.'),
    cost: z.number().min(0).optional().describe('Budget used by one grant (default 1).'),
    channels: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe('Channels it may be shown in (default: any).'),
    valid: z
      .strictObject({
        from: z.string().regex(DATE, 'a date like 2025-06-30').optional(),
        to: z.string().regex(DATE, 'a date like 2025-06-30').optional(),
      })
      .optional()
      .describe('Validity: [from, to] (dates are whole days in the project time zone; to is inclusive).'),
    budget: z.number().min(0).optional().describe('Total cost all grants may use.'),
    capacity: z.number().int().min(0).optional().describe('Total number of grants.'),
    frequency_cap: z
      .strictObject({ max: z.number().int().min(1), per: duration })
      .optional()
      .describe('At most `max` grants to one entity per `per`.'),
    signals: z
      .strictObject({
        affinity: z
          .strictObject({ tag: z.string(), value: text })
          .optional()
          .describe('A list (affinity) tag and the value the offer is about.'),
        model: z
          .string()
          .optional()
          .describe('A number tag in [0, 1], e.g. a model score (churn_60d_score).'),
        due: z
          .string()
          .optional()
          .describe('A recurrence tag: the offer ranks up when the next purchase is due.'),
        due_within: duration.optional().describe('How soon counts as due (default 7d).'),
        recommender: z
          .string()
          .optional()
          .describe('A recommender whose top items include the target items.'),
      })
      .optional(),
    context: z
      .strictObject({
        hours: z
          .tuple([z.number().int().min(0).max(23), z.number().int().min(1).max(24)])
          .optional()
          .describe('Local hours [from, to) when it may be shown, e.g. [11, 14].'),
        weekdays: z.array(z.number().int().min(1).max(7)).optional().describe('ISO weekdays (1 = Monday).'),
        max_distance_km: z
          .number()
          .positive()
          .optional()
          .describe('Only within this distance of a target place.'),
        cities: z.array(z.string()).optional().describe('Only when the context is in one of these cities.'),
        weather: z.array(z.string()).optional().describe('Only in this weather (context.weather).'),
      })
      .optional(),
    priority: z.number().min(0).optional().describe('Multiplies the score (default 1).'),
  })
  .describe('An offer.');

export type OfferInput = z.infer<typeof OfferSchema>;

export interface Offer {
  readonly input: OfferInput;
  readonly id: string;
  readonly file: YamlFile;
  readonly index: number;
  readonly validFromMs?: number;
  readonly validToMs?: number;
  readonly capSeconds?: number;
  readonly dueWithinSeconds: number;
  /** Where in the file the eligibility expression's characters are. */
  readonly eligibilityAt?: TextPositionMapper;
}

/** Start of a day in a time zone, as epoch ms (a date with a time is read as given). */
export function dayStartMs(date: string, timezone: string, endOfDay = false): number {
  if (date.length > 10) return Date.parse(date.replace(' ', 'T'));
  const utc = Date.parse(`${date}T00:00:00Z`);
  // The zone's offset at that day: format the instant there and compare.
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: timezone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(utc));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  const local = Date.UTC(
    get('year'),
    get('month') - 1,
    get('day'),
    get('hour'),
    get('minute'),
    get('second'),
  );
  const start = utc - (local - utc);
  return endOfDay ? start + 86_400_000 - 1 : start;
}

/** Parse one offers file: a YAML list of offers. */
export function parseOffersFile(
  displayName: string,
  source: string,
  timezone = 'UTC',
): { offers: Offer[]; problems: Problem[] } {
  const file = new YamlFile(displayName, source);
  const problems: Problem[] = [...file.parseProblems];
  if (problems.some((p) => p.severity === 'error')) return { offers: [], problems };
  const data = file.toJS();
  if (data === undefined || data === null) return { offers: [], problems };
  if (!Array.isArray(data)) {
    problems.push(
      file.problem([], 'an offers file holds a list of offers (each item starting with "- id: ...")'),
    );
    return { offers: [], problems };
  }
  const offers: Offer[] = [];
  data.forEach((item, i) => {
    const parsed = OfferSchema.safeParse(item);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((iss) => ({ ...iss, path: [i, ...iss.path] }));
      problems.push(
        ...zodIssuesToProblems(issues as typeof parsed.error.issues, file, z.array(OfferSchema), data),
      );
      return;
    }
    const o = parsed.data;
    const validFromMs = o.valid?.from !== undefined ? dayStartMs(o.valid.from, timezone) : undefined;
    const validToMs = o.valid?.to !== undefined ? dayStartMs(o.valid.to, timezone, true) : undefined;
    if (validFromMs !== undefined && validToMs !== undefined && validToMs < validFromMs) {
      problems.push(file.problem([i, 'valid', 'to'], "'to' is before 'from'"));
    }
    const h = o.context?.hours;
    if (h && h[1] <= h[0])
      problems.push(file.problem([i, 'context', 'hours'], 'hours are [from, to) with from < to'));
    const node = file.nodeAt([i, 'eligibility']);
    const eligibilityAt =
      o.eligibility !== undefined && node && isScalar(node) && node.range
        ? scalarMapper(file, o.eligibility, node.range[0], node.range[1])
        : undefined;
    offers.push({
      input: o,
      id: o.id,
      file,
      index: i,
      ...(validFromMs !== undefined ? { validFromMs } : {}),
      ...(validToMs !== undefined ? { validToMs } : {}),
      ...(o.frequency_cap ? { capSeconds: durationSeconds(o.frequency_cap.per) } : {}),
      dueWithinSeconds: durationSeconds(o.signals?.due_within ?? '7d'),
      ...(eligibilityAt ? { eligibilityAt } : {}),
    });
  });
  return { offers, problems };
}

/** Every offers/*.yaml of a project, parsed; duplicate ids are problems. */
export function loadOfferDefinitions(
  projectDir: string,
  timezone = 'UTC',
): { offers: Offer[]; problems: Problem[] } {
  const dir = path.join(projectDir, OFFERS_DIR);
  if (!existsSync(dir)) return { offers: [], problems: [] };
  const offers: Offer[] = [];
  const problems: Problem[] = [];
  for (const f of readdirSync(dir)
    .filter((x) => /\.ya?ml$/i.test(x))
    .sort()) {
    const r = parseOffersFile(`${OFFERS_DIR}/${f}`, readFileSync(path.join(dir, f), 'utf8'), timezone);
    problems.push(...r.problems);
    for (const o of r.offers) {
      const prev = offers.find((x) => x.id === o.id);
      if (prev) {
        problems.push(
          o.file.problem([o.index, 'id'], `offer '${o.id}' is already defined in ${prev.file.file}`),
        );
        continue;
      }
      offers.push(o);
    }
  }
  return { offers, problems };
}
