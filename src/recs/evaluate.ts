/**
 * Offline evaluation of a recommender, every algorithm side by side on one temporal split
 * (docs/recommendations.md "Evaluation protocol"):
 * - split: `after` a date (events before it train, events at or after it are held out) or, per
 *   entity, its `last` N events (plus any event at the same time as the earliest of them, so a basket
 *   is never cut in two);
 * - relevant items of an entity: the distinct items of its held-out events; with exclude_bought (the
 *   default) only items it had not interacted with in training ("new" items), since those are the ones
 *   a recommender filtering bought items can return;
 * - evaluated entities: at least one training event and one relevant item;
 * - each algorithm is fitted on the training events only and ranks the catalogue (items with a
 *   training event) for every evaluated entity; Recall@K, NDCG@K, MAP@K (metrics.ts) are averaged over
 *   entities, catalogue coverage is the share of the catalogue that appears in any top K.
 */
import { type ProjectConfig, requireProject } from '../config/project.js';
import { TagverseError } from '../util/problems.js';
import { ALGORITHMS, type Algorithm, fitModel, scoreItems, topK } from './algorithms.js';
import type { RecsDefinition } from './definition.js';
import { type InteractionLog, interactionMatrix, readInteractions } from './interactions.js';
import { RankingAccumulator } from './metrics.js';
import { openWarehouse, requireRecsDefinition } from './train.js';

export type Holdout =
  | { readonly kind: 'after'; readonly date: string }
  | { readonly kind: 'last'; readonly n: number };

export interface RecsEvaluationOptions {
  readonly k?: number;
  /** Default: after the date 80% of the way through the data's time span. */
  readonly holdout?: Holdout;
  readonly algorithms?: readonly Algorithm[];
  /** Relevant items: only new ones (default: the definition's exclude_bought) or all held-out items. */
  readonly targets?: 'new' | 'all';
  readonly onProgress?: (step: string) => void;
}

export interface AlgorithmScores {
  readonly algorithm: Algorithm;
  readonly recall: number;
  readonly ndcg: number;
  readonly map: number;
  readonly coverage: number;
  readonly trainSeconds: number;
  readonly scoreSeconds: number;
  /** NDCG@K over popularity's (when popularity was evaluated). */
  readonly ndcgVsPopularity?: number;
}

export interface RecsEvaluation {
  readonly recommender: string;
  readonly k: number;
  readonly protocol: {
    readonly holdout: Holdout;
    readonly targets: 'new' | 'all';
    readonly splitAt?: string;
  };
  readonly events: { readonly train: number; readonly test: number };
  readonly entities: number;
  readonly catalogue: number;
  readonly results: readonly AlgorithmScores[];
}

/** Which events are held out: true = test. */
export function splitEvents(log: InteractionLog, holdout: Holdout): { test: Uint8Array; splitAtMs?: number } {
  const n = log.entity.length;
  const test = new Uint8Array(n);
  if (holdout.kind === 'after') {
    const at = Date.parse(holdout.date);
    if (Number.isNaN(at)) throw new TagverseError('recs.bad_holdout', `'${holdout.date}' is not a date`);
    for (let k = 0; k < n; k++) if (log.time[k]! >= at) test[k] = 1;
    return { test, splitAtMs: at };
  }
  // Per entity: its events by time, the last N (and ties with the earliest of them) held out.
  const byEntity: number[][] = Array.from({ length: log.entities.length }, () => []);
  for (let k = 0; k < n; k++) byEntity[log.entity[k]!]!.push(k);
  for (const evs of byEntity) {
    if (evs.length === 0) continue;
    evs.sort((a, b) => log.time[a]! - log.time[b]! || a - b);
    const first = Math.max(0, evs.length - holdout.n);
    const cut = log.time[evs[first]!]!;
    for (const k of evs) if (log.time[k]! >= cut) test[k] = 1;
  }
  return { test };
}

/** The default split date: 80% of the way from the first to the last event (UTC day start). */
export function defaultSplitDate(log: InteractionLog): string {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const t of log.time) {
    if (t < lo) lo = t;
    if (t > hi) hi = t;
  }
  const at = new Date(lo + 0.8 * (hi - lo));
  return at.toISOString().slice(0, 10);
}

/** Evaluate every algorithm on an interaction log (the pure part of evaluateRecommender). */
export function evaluateLog(
  def: Pick<RecsDefinition, 'params' | 'weight' | 'scale' | 'halfLifeSeconds' | 'filters'> & { name: string },
  log: InteractionLog,
  opts: RecsEvaluationOptions = {},
): RecsEvaluation {
  const k = opts.k ?? 10;
  const holdout = opts.holdout ?? { kind: 'after', date: defaultSplitDate(log) };
  const targets = opts.targets ?? (def.filters.excludeBought ? 'new' : 'all');
  const algorithms = opts.algorithms ?? ALGORITHMS;
  const progress = opts.onProgress ?? (() => {});
  const { test, splitAtMs } = splitEvents(log, holdout);
  let trainAsOf = Number.NEGATIVE_INFINITY;
  let nTrain = 0;
  for (let e = 0; e < test.length; e++) {
    if (test[e] === 0) {
      nTrain++;
      if (log.time[e]! > trainAsOf) trainAsOf = log.time[e]!;
    }
  }
  const x = interactionMatrix(log, def, { keep: (e) => test[e] === 0, asOfMs: trainAsOf });
  // Relevant items per entity (sorted entity order), and the catalogue.
  const relevant = new Map<number, Set<number>>();
  for (let e = 0; e < test.length; e++) {
    if (test[e] === 0) continue;
    const u = log.entity[e]!;
    let s = relevant.get(u);
    if (!s) {
      s = new Set();
      relevant.set(u, s);
    }
    s.add(log.item[e]!);
  }
  const inCatalogue = new Uint8Array(x.cols);
  for (const i of x.indices) inCatalogue[i] = 1;
  const catalogue = inCatalogue.reduce((a, b) => a + b, 0);
  const users: number[] = [];
  for (const [u, s] of [...relevant.entries()].sort((a, b) => a[0] - b[0])) {
    const from = x.indptr[u]!;
    const to = x.indptr[u + 1]!;
    if (to === from) continue;
    if (targets === 'new') for (let p = from; p < to; p++) s.delete(x.indices[p]!);
    if (s.size > 0) users.push(u);
  }
  const results: AlgorithmScores[] = [];
  for (const algorithm of algorithms) {
    progress(`${algorithm}: fitting`);
    const t0 = performance.now();
    const model = fitModel(algorithm, x, def.params);
    const trainSeconds = (performance.now() - t0) / 1000;
    progress(`${algorithm}: ranking for ${users.length} entities`);
    const t1 = performance.now();
    const acc = new RankingAccumulator(k, x.cols);
    for (const u of users) {
      const from = x.indptr[u]!;
      const to = x.indptr[u + 1]!;
      const hist = x.indices.subarray(from, to);
      const scores = scoreItems(model, hist, x.values.subarray(from, to));
      const bought = targets === 'new' ? new Set(hist) : undefined;
      const ranked = topK(scores, k, (i) => inCatalogue[i] === 0 || (bought?.has(i) ?? false));
      acc.add(ranked, relevant.get(u)!);
    }
    const r = acc.result();
    results.push({
      algorithm,
      recall: r.recall,
      ndcg: r.ndcg,
      map: r.map,
      coverage: catalogue === 0 ? 0 : (r.coverage * x.cols) / catalogue,
      trainSeconds,
      scoreSeconds: (performance.now() - t1) / 1000,
    });
  }
  const pop = results.find((r) => r.algorithm === 'popularity');
  return {
    recommender: def.name,
    k,
    protocol: {
      holdout,
      targets,
      ...(splitAtMs !== undefined ? { splitAt: new Date(splitAtMs).toISOString() } : {}),
    },
    events: { train: nTrain, test: test.length - nTrain },
    entities: users.length,
    catalogue,
    results: results.map((r) => (pop && pop.ndcg > 0 ? { ...r, ndcgVsPopularity: r.ndcg / pop.ndcg } : r)),
  };
}

/**
 * `tagverse evaluate recs`: evaluate a project's recommender with every algorithm.
 * @example
 *   const e = await evaluateRecommender('./world', 'merchants', { k: 10, holdout: { kind: 'last', n: 5 } });
 *   for (const r of e.results) console.log(r.algorithm, r.ndcg);
 */
export async function evaluateRecommender(
  project: ProjectConfig | string,
  name?: string,
  opts: RecsEvaluationOptions = {},
): Promise<RecsEvaluation> {
  const config = typeof project === 'string' ? requireProject(project) : project;
  const def = requireRecsDefinition(config, name);
  opts.onProgress?.('reading events');
  const wh = await openWarehouse(config);
  const log = await readInteractions(wh, config, def).finally(() => wh.close());
  if (log.entity.length === 0) {
    throw new TagverseError('recs.no_data', `recommender '${def.input.name}' has no events`);
  }
  return evaluateLog({ ...def, name: def.input.name }, log, opts);
}
