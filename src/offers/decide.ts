/**
 * Next-best-offer decisions: rank the eligible offers for one entity in one live context, with a
 * score and human-readable reasons, and grant the returned ones against budgets and caps (ledger.ts).
 *
 * An offer is considered when all hard rules pass: validity dates, channel, capacity, budget, the
 * per-entity frequency cap, eligibility (segment expression on the entity's served tags), and the
 * context rules it declares (local hours, weekdays, cities, weather, maximum distance to a target
 * place). Its score is
 *
 *   score = priority x (0.1 + affinity + model + due + recommended + nearby)
 *
 * each term in [0, 1] and 0 when the offer does not use that signal or the entity lacks it:
 * affinity = 1 - the entity's top share for that value (top 3% -> 0.97); model = the score tag's
 * value; due = 1 when the recurrence tag's next purchase is due within `due_within` (or overdue);
 * recommended = 1 - (rank - 1) / 20 when a target item is in the entity's top 20 recommendations;
 * nearby = 1 / (1 + km) to the nearest target place when the context has a location. Ties rank by
 * offer id. See docs/offers.md.
 */
import type { ProjectConfig } from '../config/project.js';
import { type Column, lowerBound, type NumberColumn, refValue } from '../online/columns.js';
import type { TagStore } from '../online/store.js';
import { entityMatches } from '../recs/entity-scope.js';
import type { Recommender } from '../recs/recommend.js';
import { SegmentError } from '../segments/segment.js';
import { type Problem, ProjectError, TagverseError } from '../util/problems.js';
import type { Offer } from './definition.js';
import type { OfferLedger } from './ledger.js';
import { NearestIndex, type Places } from './places.js';

export interface DecideContext {
  /** ISO time of the moment (default: now); local rules read it in `timezone` (default: project's). */
  readonly time?: string;
  readonly timezone?: string;
  readonly channel?: string;
  readonly location?: { readonly lat: number; readonly lon: number } | { readonly city: string };
  readonly weather?: string;
  readonly [key: string]: unknown;
}

export interface DecideRequest {
  readonly entityId: string;
  readonly context?: DecideContext;
  /** Offers returned, best first (default 3, at most 50). */
  readonly limit?: number;
  /** Rank without granting (no budget or cap is used). */
  readonly dryRun?: boolean;
}

export interface DecidedOffer {
  readonly id: string;
  readonly title: string;
  readonly score: number;
  readonly value: Offer['input']['value'];
  readonly channels?: readonly string[];
  readonly reasons: readonly string[];
  /** Nearest target place, when the context had a location. */
  readonly place?: { readonly id: string; readonly km: number; readonly city?: string };
}

export interface Decision {
  readonly entityId: string;
  readonly decidedAt: string;
  readonly localTime: string;
  readonly offers: readonly DecidedOffer[];
  /** Offers in the catalog, and how many passed every rule. */
  readonly considered: number;
  readonly eligible: number;
  readonly granted: boolean;
  readonly buildId: number;
}

const RECS_DEPTH = 20;
const DAY_MS = 86_400_000;

interface PreparedOffer {
  readonly offer: Offer;
  /** Indices into places of the target places (undefined: the offer has no place target). */
  readonly places?: Uint32Array;
  /** The target places by latitude, for the nearest one to a location. */
  readonly nearest?: NearestIndex;
  readonly targetItems: ReadonlySet<string>;
}

/** Local calendar parts of an instant in a zone (formatters cached per zone). */
const formatters = new Map<string, Intl.DateTimeFormat>();
export function localParts(
  ms: number,
  timezone: string,
): { hour: number; minute: number; weekday: number; text: string } {
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    });
    formatters.set(timezone, f);
  }
  const parts = f.formatToParts(new Date(ms));
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  const weekday = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(get('weekday')) + 1;
  const hour = Number(get('hour'));
  const minute = Number(get('minute'));
  return {
    hour,
    minute,
    weekday,
    text: `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}`,
  };
}

export function daypart(hour: number): string {
  if (hour >= 5 && hour < 11) return 'morning';
  if (hour >= 11 && hour < 14) return 'lunchtime';
  if (hour >= 14 && hour < 17) return 'afternoon';
  if (hour >= 17 && hour < 22) return 'evening';
  return 'late night';
}

const pctText = (share: number) => {
  const p = share * 100;
  return p < 1 ? `top ${Math.max(0.1, Math.round(p * 10) / 10)}%` : `top ${Math.ceil(p)}%`;
};
const kmText = (km: number) => (km < 1 ? `${Math.round(km * 1000)} m away` : `${km.toFixed(1)} km away`);
const humanize = (v: string) => v.replace(/_/g, ' ');

/** Sorted scores of every entity listing a value in a list tag (top shares), cached per store. */
const listScores = new WeakMap<TagStore, Map<string, Float64Array>>();
function valueScores(store: TagStore, tag: string, col: Column, value: string): Float64Array {
  let byKey = listScores.get(store);
  if (!byKey) {
    byKey = new Map();
    listScores.set(store, byKey);
  }
  const key = `${tag}\u0000${value}`;
  let s = byKey.get(key);
  if (!s && col.kind === 'list') {
    const code = col.codeOf.get(value);
    const out: number[] = [];
    if (code !== undefined) {
      // Entity by entity: real time leaves stale slots between the lists.
      for (let o = 0; o < col.starts.length; o++) {
        for (let k = col.starts[o]!; k < col.ends[o]!; k++)
          if (col.items[k] === code) out.push(col.scores[k]!);
      }
    }
    s = Float64Array.from(out).sort();
    byKey.set(key, s);
  }
  return s ?? new Float64Array(0);
}

/** Share of all entities whose value is >= v (sorted ascending scores). */
function topShareOfSorted(sorted: Float64Array, v: number, total: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return total === 0 ? 1 : (sorted.length - lo) / total;
}

export interface OfferEngineOptions {
  readonly config: ProjectConfig;
  readonly offers: readonly Offer[];
  readonly places?: Places;
  readonly ledger: OfferLedger;
  readonly recommender?: (name: string) => Recommender | undefined;
  /** Server clock, epoch ms (caps, budgets, the default decision time). */
  readonly now?: () => number;
}

export class OfferEngine {
  readonly offers: readonly PreparedOffer[];
  private readonly checked = new WeakSet<TagStore>();
  private readonly now: () => number;

  constructor(private readonly opts: OfferEngineOptions) {
    this.now = opts.now ?? Date.now;
    this.offers = opts.offers.map((offer) => {
      const t = offer.input.target;
      const targetItems = new Set([...(t?.items ?? []), ...(t?.merchants ?? [])]);
      const p = opts.places;
      if (!t || !p || (!t.merchants && !t.categories && !t.match)) return { offer, targetItems };
      const merchants = t.merchants ? new Set(t.merchants) : undefined;
      const categories = t.categories ? new Set(t.categories) : undefined;
      const category = p.columns.get('category');
      const match = Object.entries(t.match ?? {}).map(([c, vs]) => [p.columns.get(c), new Set(vs)] as const);
      const idx: number[] = [];
      for (let i = 0; i < p.ids.length; i++) {
        if (merchants && !merchants.has(p.ids[i]!)) continue;
        if (categories && !categories.has(category?.[i] ?? '')) continue;
        if (match.some(([col, vs]) => !vs.has(col?.[i] ?? ''))) continue;
        idx.push(i);
      }
      const places = Uint32Array.from(idx);
      return { offer, targetItems, places, nearest: new NearestIndex(p, places) };
    });
  }

  /**
   * Problems of the catalog against a store's tags: eligibility expressions, and signal tags that do
   * not exist or have the wrong type, each at its file:line:col.
   */
  check(store: TagStore): Problem[] {
    const problems: Problem[] = [];
    for (const { offer } of this.offers) {
      const i = offer.index;
      const e = offer.input.eligibility;
      if (e !== undefined) {
        try {
          entityMatches(this.opts.config, store, 0, e);
        } catch (err) {
          if (!(err instanceof SegmentError)) {
            if (store.size === 0) continue;
            throw err;
          }
          for (const p of err.problems) {
            const at = offer.eligibilityAt?.(p.start) ?? offer.file.position([i, 'eligibility']);
            problems.push({
              ...offer.file.problemAt(at.line, at.col, p.message, 'error'),
              length: Math.max(1, p.end - p.start),
            });
          }
        }
      }
      const s = offer.input.signals;
      const need = (
        tag: string | undefined,
        kind: Column['kind'],
        path: (string | number)[],
        what: string,
      ) => {
        if (tag === undefined) return;
        const col = store.tags.get(tag);
        if (!col) problems.push(offer.file.problem(path, `unknown tag '${tag}'`));
        else if (col.kind !== kind) problems.push(offer.file.problem(path, `'${tag}' is not ${what}`));
      };
      need(s?.affinity?.tag, 'list', [i, 'signals', 'affinity', 'tag'], 'a list (affinity) tag');
      need(s?.model, 'number', [i, 'signals', 'model'], 'a number tag');
      if (s?.due !== undefined) {
        need(s.due, 'boolean', [i, 'signals', 'due'], 'a recurrence tag');
        need(`${s.due}_next_due`, 'number', [i, 'signals', 'due'], 'a recurrence tag');
      }
      if (s?.recommender !== undefined && this.opts.recommender && !this.opts.recommender(s.recommender)) {
        problems.push(
          offer.file.problem([i, 'signals', 'recommender'], `no trained recommender '${s.recommender}'`),
        );
      }
    }
    return problems;
  }

  private ensureChecked(store: TagStore): void {
    if (this.checked.has(store)) return;
    const problems = this.check(store).filter((p) => p.severity === 'error');
    if (problems.length > 0) throw new ProjectError(problems);
    this.checked.add(store);
  }

  /**
   * Rank the offers for an entity in a context; unless `dryRun`, the returned offers are granted
   * (budget, capacity and caps used, written to the ledger) in the same synchronous step.
   * @example
   *   const d = engine.decide(store, { entityId: 'C0000042', context: { channel: 'app', location: { lat: 37.5, lon: 127.03 } } });
   *   d.offers[0]?.reasons; // ['prefers korean bbq (top 3%)', '1.2 km away', 'lunchtime']
   */
  decide(store: TagStore, req: DecideRequest): Decision {
    this.ensureChecked(store);
    const ordinal = store.ordinal(req.entityId);
    if (ordinal === undefined) {
      throw new TagverseError(
        'profile.unknown_entity',
        `no ${store.info.entityName} '${req.entityId}' in the served tags`,
      );
    }
    const ctx = req.context ?? {};
    const nowMs = this.now();
    const atMs = ctx.time !== undefined ? Date.parse(ctx.time) : nowMs;
    if (Number.isNaN(atMs))
      throw new TagverseError('request.invalid', `context.time: '${ctx.time}' is not an ISO time`);
    const tz = ctx.timezone ?? store.program.timezone;
    let local: ReturnType<typeof localParts>;
    try {
      local = localParts(atMs, tz);
    } catch {
      throw new TagverseError('request.invalid', `context.timezone: unknown time zone '${tz}'`);
    }
    const limit = Math.max(1, Math.min(50, Math.floor(req.limit ?? 3)));
    const loc = ctx.location;
    const point = loc && 'lat' in loc ? loc : undefined;
    const city = loc && 'city' in loc ? loc.city : undefined;
    const places = this.opts.places;
    const cityCol = places?.columns.get('city');
    const recsCache = new Map<string, Map<string, number>>();
    const eligibility = new Map<string, boolean>();
    const ranked: { d: DecidedOffer; cost: number; score: number }[] = [];
    for (const { offer, places: targets, nearest, targetItems } of this.offers) {
      const o = offer.input;
      // Hard rules, cheapest first.
      if (offer.validFromMs !== undefined && atMs < offer.validFromMs) continue;
      if (offer.validToMs !== undefined && atMs > offer.validToMs) continue;
      if (o.channels && (ctx.channel === undefined || !o.channels.includes(ctx.channel))) continue;
      const cost = o.cost ?? 1;
      const ledger = this.opts.ledger;
      if (o.capacity !== undefined && ledger.grants(o.id) >= o.capacity) continue;
      if (o.budget !== undefined && ledger.spent(o.id) + cost > o.budget) continue;
      if (o.frequency_cap && offer.capSeconds !== undefined) {
        if (ledger.recentGrants(o.id, req.entityId, nowMs - offer.capSeconds * 1000) >= o.frequency_cap.max)
          continue;
      }
      const c = o.context;
      const reasons: string[] = [];
      if (c?.hours) {
        if (local.hour < c.hours[0] || local.hour >= c.hours[1]) continue;
        reasons.push(daypart(local.hour));
      }
      if (c?.weekdays && !c.weekdays.includes(local.weekday)) continue;
      if (c?.weather) {
        if (ctx.weather === undefined || !c.weather.includes(ctx.weather)) continue;
        reasons.push(`${ctx.weather} weather`);
      }
      if (c?.cities) {
        const where = city ?? undefined;
        if (where === undefined || !c.cities.includes(where)) continue;
      }
      // Places: nearest target place to the location, or target places in the city.
      let nearby = 0;
      let place: DecidedOffer['place'];
      if (targets && places) {
        if (point) {
          const found = nearest!.nearest(point.lat, point.lon, c?.max_distance_km);
          if (!found) continue;
          const best = found.place;
          const bestKm = found.km;
          nearby = 1 / (1 + bestKm);
          const pc = cityCol?.[best];
          place = {
            id: places.ids[best]!,
            km: Math.round(bestKm * 1000) / 1000,
            ...(pc ? { city: pc } : {}),
          };
          reasons.push(kmText(bestKm));
        } else if (city !== undefined) {
          let found = -1;
          for (const p of targets) {
            if (cityCol?.[p] === city) {
              found = p;
              break;
            }
          }
          if (found < 0) continue;
          place = { id: places.ids[found]!, km: Number.NaN, city };
          reasons.push(`in ${city}`);
        } else if (c?.max_distance_km !== undefined) continue;
      } else if (c?.max_distance_km !== undefined && !point) continue;
      if (o.eligibility !== undefined) {
        // Offers often share an eligibility expression: evaluate each text once per decision.
        let ok = eligibility.get(o.eligibility);
        if (ok === undefined) {
          ok = entityMatches(this.opts.config, store, ordinal, o.eligibility);
          eligibility.set(o.eligibility, ok);
        }
        if (!ok) continue;
      }

      // Signals.
      const s = o.signals;
      let affinity = 0;
      let model = 0;
      let due = 0;
      let recommended = 0;
      if (s?.affinity) {
        const col = store.tags.get(s.affinity.tag)!;
        if (col.kind === 'list') {
          const code = col.codeOf.get(s.affinity.value);
          for (let k = col.starts[ordinal]!; code !== undefined && k < col.ends[ordinal]!; k++) {
            if (col.items[k] !== code) continue;
            const share = topShareOfSorted(
              valueScores(store, s.affinity.tag, col, s.affinity.value),
              col.scores[k]!,
              store.size,
            );
            affinity = 1 - share;
            reasons.unshift(`prefers ${humanize(s.affinity.value)} (${pctText(share)})`);
          }
        }
      }
      if (s?.model) {
        const col = store.tags.get(s.model) as NumberColumn;
        const v = col.values[ordinal]!;
        if (!Number.isNaN(v)) {
          model = Math.max(0, Math.min(1, v));
          const share = store.size === 0 ? 1 : (col.sorted.length - lowerBound(col, v, false)) / store.size;
          reasons.push(`${s.model} ${v.toFixed(2)} (${pctText(share)})`);
        }
      }
      if (s?.due) {
        const flag = refValue(store.tags.get(s.due)!, ordinal);
        const next = refValue(store.tags.get(`${s.due}_next_due`)!, ordinal);
        if (flag === true && typeof next === 'number') {
          const dueMs = next / 1000;
          if (dueMs <= atMs + offer.dueWithinSeconds * 1000) {
            due = 1;
            const days = Math.round((dueMs - atMs) / DAY_MS);
            reasons.unshift(
              days < 0
                ? `${humanize(s.due)}: overdue by ${-days} d`
                : days === 0
                  ? `${humanize(s.due)}: due today`
                  : `${humanize(s.due)}: due in ${days} d`,
            );
          }
        }
      }
      if (s?.recommender && this.opts.recommender && targetItems.size > 0) {
        let ranks = recsCache.get(s.recommender);
        if (!ranks) {
          ranks = new Map();
          const r = this.opts.recommender(s.recommender);
          if (r) {
            const res = r.recommend(req.entityId, { k: RECS_DEPTH, store, nowMs: atMs });
            for (const it of res.items) ranks.set(it.item, it.rank);
          }
          recsCache.set(s.recommender, ranks);
        }
        let best = Number.POSITIVE_INFINITY;
        for (const it of targetItems) best = Math.min(best, ranks.get(it) ?? Number.POSITIVE_INFINITY);
        if (Number.isFinite(best)) {
          recommended = 1 - (best - 1) / RECS_DEPTH;
          reasons.push(`recommended for you (#${best})`);
        }
      }
      const score = (o.priority ?? 1) * (0.1 + affinity + model + due + recommended + nearby);
      ranked.push({
        score,
        cost,
        d: {
          id: o.id,
          title: o.title,
          score: Math.round(score * 10_000) / 10_000,
          value: o.value,
          ...(o.channels ? { channels: o.channels } : {}),
          reasons,
          ...(place
            ? {
                place: Number.isNaN(place.km)
                  ? { id: place.id, km: 0, ...(place.city ? { city: place.city } : {}) }
                  : place,
              }
            : {}),
        },
      });
    }
    ranked.sort((a, b) => b.score - a.score || (a.d.id < b.d.id ? -1 : 1));
    const chosen = ranked.slice(0, limit);
    // Grant: the checks above and this record run in one synchronous step (no await in between).
    if (!req.dryRun) {
      this.opts.ledger.record(
        chosen.map((x) => ({ offer: x.d.id, entity: req.entityId, t: nowMs, cost: x.cost })),
      );
    }
    return {
      entityId: req.entityId,
      decidedAt: new Date(atMs).toISOString(),
      localTime: `${local.text} ${tz}`,
      offers: chosen.map((x) => x.d),
      considered: this.offers.length,
      eligible: ranked.length,
      granted: !req.dryRun && chosen.length > 0,
      buildId: store.info.buildId,
    };
  }
}
