/**
 * The recommenders: popularity, item-kNN (cosine) and EASE. Each is fitted on an interaction matrix
 * (matrix.ts) into a plain, serialisable model of typed arrays, and scores every item for one entity
 * from that entity's history (its row of the matrix).
 *
 * Item-kNN and EASE work on the `maxItems` most popular items (by entities who interacted): EASE
 * inverts a dense n x n matrix (O(n³) time, 8n² bytes), so n is capped; items beyond the cap can only
 * be recommended by popularity. Entities with no history get the popularity ranking from every model.
 */
import { spdInverse } from './linalg.js';
import { type Csr, columnSupport, columnsByPopularity } from './matrix.js';

export const ALGORITHMS = ['popularity', 'item_knn', 'ease'] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

export interface FitParams {
  /** Items item-kNN and EASE model: the most popular ones (default 1000). */
  readonly maxItems: number;
  /** EASE L2 regularisation λ added to the Gram diagonal (default 200). */
  readonly lambda: number;
  /** item-kNN: neighbours kept per item (default 100). */
  readonly neighbours: number;
  /** item-kNN: shrinkage of the cosine towards 0 for items seen together rarely (default 10). */
  readonly shrink: number;
}

export const DEFAULT_FIT_PARAMS: FitParams = { maxItems: 1000, lambda: 200, neighbours: 100, shrink: 10 };

interface ModelBase {
  /** Support (entities) of every item: the popularity ranking and the cold-start fallback. */
  readonly popularity: Float64Array;
}
export interface PopularityModel extends ModelBase {
  readonly algorithm: 'popularity';
}
export interface ItemKnnModel extends ModelBase {
  readonly algorithm: 'item_knn';
  /** The modelled items (column indices), most popular first. */
  readonly top: Uint32Array;
  readonly k: number;
  /** Row p (position in `top`): neighbour positions and cosine similarities, k each (-1/0 padded). */
  readonly neighbours: Int32Array;
  readonly similarities: Float32Array;
}
export interface EaseModel extends ModelBase {
  readonly algorithm: 'ease';
  readonly top: Uint32Array;
  /** The n x n item weights B (row-major, positions in `top`), zero diagonal. */
  readonly weights: Float32Array;
}
export type RecModel = PopularityModel | ItemKnnModel | EaseModel;

/** Dense Gram matrix XᵀX over the columns `top` (positions), Float64, n x n. */
export function gramMatrix(x: Csr, top: Uint32Array): Float64Array {
  const n = top.length;
  const pos = new Int32Array(x.cols).fill(-1);
  for (let p = 0; p < n; p++) pos[top[p]!] = p;
  const g = new Float64Array(n * n);
  const ps: number[] = [];
  const vs: number[] = [];
  for (let r = 0; r < x.rows; r++) {
    ps.length = 0;
    vs.length = 0;
    for (let k = x.indptr[r]!; k < x.indptr[r + 1]!; k++) {
      const p = pos[x.indices[k]!]!;
      if (p >= 0) {
        ps.push(p);
        vs.push(x.values[k]!);
      }
    }
    for (let a = 0; a < ps.length; a++) {
      const row = ps[a]! * n;
      const va = vs[a]!;
      for (let b = 0; b < ps.length; b++) g[row + ps[b]!]! += va * vs[b]!;
    }
  }
  return g;
}

function topColumns(x: Csr, maxItems: number): Uint32Array {
  const support = columnSupport(x);
  const order = columnsByPopularity(x);
  let n = 0;
  while (n < order.length && n < maxItems && support[order[n]!]! > 0) n++;
  return order.slice(0, n);
}

/** EASE (Steck 2019): B = I - P·diag(1/diag(P)) with P = (XᵀX + λI)⁻¹, i.e. B_ij = -P_ij / P_jj, B_jj = 0. */
export function fitEase(x: Csr, params: FitParams): EaseModel {
  const top = topColumns(x, params.maxItems);
  const n = top.length;
  const g = gramMatrix(x, top);
  for (let i = 0; i < n; i++) g[i * n + i]! += params.lambda;
  const p = spdInverse(g, n);
  const weights = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) weights[i * n + j] = i === j ? 0 : -p[i * n + j]! / p[j * n + j]!;
  }
  return { algorithm: 'ease', popularity: columnSupport(x), top, weights };
}

/**
 * Item-kNN: cosine similarity of item columns, shrunk by co-occurrence (sim · c / (c + shrink), c the
 * number of entities with both), the `neighbours` most similar kept per item.
 */
export function fitItemKnn(x: Csr, params: FitParams): ItemKnnModel {
  const top = topColumns(x, params.maxItems);
  const n = top.length;
  const g = gramMatrix(x, top);
  const binary: Csr = { ...x, values: new Float64Array(x.values.length).fill(1) };
  const co = params.shrink > 0 ? gramMatrix(binary, top) : undefined;
  const k = Math.min(params.neighbours, Math.max(0, n - 1));
  const neighbours = new Int32Array(n * k).fill(-1);
  const similarities = new Float32Array(n * k);
  const sim = new Float64Array(n);
  const order: number[] = [];
  for (let i = 0; i < n; i++) {
    const gii = g[i * n + i]!;
    order.length = 0;
    for (let j = 0; j < n; j++) {
      const gij = g[i * n + j]!;
      if (j === i || gij <= 0) continue;
      let s = gij / Math.sqrt(gii * g[j * n + j]!);
      if (co) {
        const c = co[i * n + j]!;
        s *= c / (c + params.shrink);
      }
      sim[j] = s;
      order.push(j);
    }
    order.sort((a, b) => sim[b]! - sim[a]! || a - b);
    for (let m = 0; m < Math.min(k, order.length); m++) {
      neighbours[i * k + m] = order[m]!;
      similarities[i * k + m] = sim[order[m]!]!;
    }
  }
  return { algorithm: 'item_knn', popularity: columnSupport(x), top, k, neighbours, similarities };
}

export function fitPopularity(x: Csr): PopularityModel {
  return { algorithm: 'popularity', popularity: columnSupport(x) };
}

export function fitModel(algorithm: Algorithm, x: Csr, params: FitParams = DEFAULT_FIT_PARAMS): RecModel {
  switch (algorithm) {
    case 'popularity':
      return fitPopularity(x);
    case 'item_knn':
      return fitItemKnn(x, params);
    case 'ease':
      return fitEase(x, params);
  }
}

/** Positions of items in a model's `top` (-1 when not modelled), cached per model. */
const positions = new WeakMap<Uint32Array, Int32Array>();
function positionOf(top: Uint32Array, cols: number): Int32Array {
  let p = positions.get(top);
  if (!p || p.length !== cols) {
    p = new Int32Array(cols).fill(-1);
    for (let i = 0; i < top.length; i++) p[top[i]!] = i;
    positions.set(top, p);
  }
  return p;
}

/**
 * Scores of every item for an entity with this history (item indices and values). Items a model does
 * not cover get -Infinity; an empty history (or one with no modelled item) gets popularity.
 * Popularity scores are the item supports; the others are on their own scale (compare within a model).
 */
export function scoreItems(
  model: RecModel,
  items: ArrayLike<number>,
  values: ArrayLike<number>,
): Float64Array {
  const cols = model.popularity.length;
  if (model.algorithm === 'popularity') return model.popularity.slice();
  const pos = positionOf(model.top, cols);
  const n = model.top.length;
  const out = new Float64Array(cols).fill(Number.NEGATIVE_INFINITY);
  const acc = new Float64Array(n);
  let used = 0;
  for (let h = 0; h < items.length; h++) {
    const p = pos[items[h]!]!;
    if (p < 0) continue;
    used++;
    const v = values[h]!;
    if (model.algorithm === 'ease') {
      const row = p * n;
      const w = model.weights;
      for (let j = 0; j < n; j++) acc[j]! += v * w[row + j]!;
    } else {
      const k = model.k;
      for (let m = 0; m < k; m++) {
        const j = model.neighbours[p * k + m]!;
        if (j < 0) break;
        acc[j]! += v * model.similarities[p * k + m]!;
      }
    }
  }
  if (used === 0) return model.popularity.slice();
  for (let p = 0; p < n; p++) out[model.top[p]!] = acc[p]!;
  return out;
}

/**
 * The k best items by score (ties by item index), skipping items `exclude` says to skip and
 * non-finite scores.
 */
export function topK(scores: Float64Array, k: number, exclude?: (item: number) => boolean): number[] {
  // A bounded insertion list: k is small (tens) next to the catalogue.
  const best: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (!Number.isFinite(s)) continue;
    if (best.length === k) {
      const worst = best[k - 1]!;
      if (s < scores[worst]! || (s === scores[worst]! && i > worst)) continue;
    }
    if (exclude?.(i)) continue;
    let at = best.length;
    while (at > 0 && (scores[best[at - 1]!]! < s || (scores[best[at - 1]!]! === s && best[at - 1]! > i)))
      at--;
    best.splice(at, 0, i);
    if (best.length > k) best.pop();
  }
  return best;
}
