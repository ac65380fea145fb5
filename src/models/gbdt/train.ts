/**
 * Histogram gradient-boosted trees: our own trainer, in typed arrays.
 *
 * Each round fits one regression tree to the gradients of the loss (binary log-loss or squared
 * error) with second-order (Newton) leaf values, as XGBoost's `hist` method does:
 * - features are binned once (binning.ts); a node's histogram holds the sum of gradients and
 *   hessians per bin, built over the node's rows in one row-major pass;
 * - a node's children need one new histogram: the smaller child's is built, the larger one's is
 *   the parent's minus it (histogram subtraction);
 * - a split is the best threshold over the bins of a numeric feature, or the best partition of a
 *   categorical feature's levels (one-vs-rest for few levels, else levels sorted by gradient ratio
 *   and scanned as prefixes), and in both cases the side missing values take is learned;
 * - trees grow best-first (largest gain first) up to `maxDepth` and `maxLeaves`: without a leaf
 *   limit this gives exactly the depth-wise tree;
 * - rows are subsampled per tree (Bernoulli) and features per tree, from a seeded generator: the same
 *   data, parameters and seed always give the same model.
 * Early stopping watches the validation loss and keeps the trees up to the best round.
 */
import { Rng } from '../../generate/prng.js';
import { logit, sigmoid } from '../link.js';
import type { FeatureMatrix } from '../matrix.js';
import { type BinnedMatrix, binMatrix, type FeatureBins, fitBins } from './binning.js';
import type { Tree } from './tree.js';

export type GbdtObjective = 'binary' | 'regression';

export interface GbdtParams {
  readonly objective: GbdtObjective;
  /** Boosting rounds (trees) at most. */
  readonly trees: number;
  readonly learningRate: number;
  /** Deepest a leaf may be (0 = no limit; then maxLeaves must be set). */
  readonly maxDepth: number;
  /** Most leaves per tree (0 = no limit). */
  readonly maxLeaves: number;
  /** Smallest sum of hessians a child may have. */
  readonly minChildWeight: number;
  /** L2 regularisation of leaf values. */
  readonly lambda: number;
  /** Smallest loss reduction a split must bring. */
  readonly gamma: number;
  /** Share of rows drawn for each tree. */
  readonly subsample: number;
  /** Share of features drawn for each tree. */
  readonly colsampleByTree: number;
  /** Bins per numeric feature (one more holds missing values). */
  readonly maxBins: number;
  /** Categorical features with at most this many levels in a node split one level against the rest. */
  readonly maxCatToOnehot: number;
  /** Most levels on the left side of a partition split. */
  readonly maxCatThreshold: number;
  /** Stop when the validation loss has not improved for this many rounds (0 = never stop early). */
  readonly earlyStoppingRounds: number;
  readonly seed: number;
}

export const DEFAULT_GBDT_PARAMS: GbdtParams = {
  objective: 'binary',
  trees: 500,
  learningRate: 0.1,
  maxDepth: 6,
  maxLeaves: 0,
  minChildWeight: 1,
  lambda: 1,
  gamma: 0,
  subsample: 1,
  colsampleByTree: 1,
  maxBins: 256,
  maxCatToOnehot: 4,
  maxCatThreshold: 64,
  earlyStoppingRounds: 30,
  seed: 1,
};

export interface GbdtModel {
  readonly objective: GbdtObjective;
  /** Margin every prediction starts from (log-odds of the base rate, or the mean). */
  readonly baseMargin: number;
  readonly trees: readonly Tree[];
  readonly featureCount: number;
}

export interface GbdtTraining {
  readonly model: GbdtModel;
  /** Rounds trained before stopping, and the best one (1-based count of trees kept). */
  readonly roundsTrained: number;
  readonly bestRounds: number;
  /** Validation loss after each round (log-loss or RMSE); empty without validation data. */
  readonly validLoss: readonly number[];
  /** Total loss reduction of each feature's splits in the kept trees. */
  readonly featureGain: Float64Array;
  readonly bins: readonly FeatureBins[];
}

export interface LabelledMatrix {
  readonly x: FeatureMatrix;
  readonly y: Float64Array;
}

/** A split candidate of a node. */
interface Split {
  readonly gain: number;
  readonly feature: number;
  /** Numeric: rows with local bin <= bin go left. */
  readonly bin: number;
  readonly missingLeft: boolean;
  /** Missing values reached the node (else their side is the heavier child's, decided when recorded). */
  readonly missingSeen: boolean;
  /** Categorical: the level codes that go left (sorted). */
  readonly cats: number[] | null;
  readonly GL: number;
  readonly HL: number;
}

interface OpenNode {
  readonly id: number;
  readonly start: number;
  readonly end: number;
  readonly depth: number;
  readonly G: number;
  readonly H: number;
  hist: Float64Array;
  split: Split | null;
}

/** A tree while it grows: node fields in plain arrays, plus what binned traversal needs. */
class TreeBuilder {
  readonly feature: number[] = [];
  readonly threshold: number[] = [];
  readonly left: number[] = [];
  readonly right: number[] = [];
  readonly missingLeft: number[] = [];
  readonly categories: (Int32Array | null)[] = [];
  readonly value: number[] = [];
  readonly cover: number[] = [];
  readonly gain: number[] = [];
  /** Binned traversal: global bin threshold (left when bin <= it), the feature's missing bin, and the
   * left-level lookup of a categorical split (by local bin). */
  readonly binThreshold: number[] = [];
  readonly missingBin: number[] = [];
  readonly catLeft: (Uint8Array | null)[] = [];
  readonly binOffset: number[] = [];
  /** Leaves: their segment of the row index array (the sampled rows that reached them). */
  readonly segStart: number[] = [];
  readonly segEnd: number[] = [];

  add(cover: number, start: number, end: number): number {
    const id = this.feature.length;
    this.feature.push(-1);
    this.threshold.push(0);
    this.left.push(-1);
    this.right.push(-1);
    this.missingLeft.push(0);
    this.categories.push(null);
    this.value.push(0);
    this.cover.push(cover);
    this.gain.push(0);
    this.binThreshold.push(0);
    this.missingBin.push(0);
    this.catLeft.push(null);
    this.binOffset.push(0);
    this.segStart.push(start);
    this.segEnd.push(end);
    return id;
  }

  finish(): Tree {
    return {
      feature: Int32Array.from(this.feature),
      threshold: Float64Array.from(this.threshold),
      left: Int32Array.from(this.left),
      right: Int32Array.from(this.right),
      missingLeft: Uint8Array.from(this.missingLeft),
      categories: this.categories,
      value: Float64Array.from(this.value),
      cover: Float64Array.from(this.cover),
      gain: Float64Array.from(this.gain),
    };
  }

  /** Typed arrays for walking binned rows. */
  binned(): BinnedTree {
    return {
      feature: Int32Array.from(this.feature),
      threshold: Int32Array.from(this.binThreshold),
      missing: Int32Array.from(this.missingBin),
      missingLeft: Uint8Array.from(this.missingLeft),
      left: Int32Array.from(this.left),
      right: Int32Array.from(this.right),
      value: Float64Array.from(this.value),
      catLeft: this.catLeft,
      offset: Int32Array.from(this.binOffset),
    };
  }
}

interface BinnedTree {
  readonly feature: Int32Array;
  readonly threshold: Int32Array;
  readonly missing: Int32Array;
  readonly missingLeft: Uint8Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly value: Float64Array;
  readonly catLeft: readonly (Uint8Array | null)[];
  readonly offset: Int32Array;
}

/** Binary log-loss of margins (clamped probabilities) or RMSE. */
export function lossOf(objective: GbdtObjective, margin: Float64Array, y: Float64Array): number {
  const n = y.length;
  let s = 0;
  if (objective === 'binary') {
    for (let i = 0; i < n; i++) {
      const p = Math.min(1 - 1e-15, Math.max(1e-15, sigmoid(margin[i]!)));
      s -= y[i]! > 0.5 ? Math.log(p) : Math.log(1 - p);
    }
    return n === 0 ? 0 : s / n;
  }
  for (let i = 0; i < n; i++) {
    const d = margin[i]! - y[i]!;
    s += d * d;
  }
  return n === 0 ? 0 : Math.sqrt(s / n);
}

/**
 * Train a boosted tree ensemble.
 * @example
 *   const { model } = trainGbdt({ x, y }, { x: vx, y: vy }, { ...DEFAULT_GBDT_PARAMS, maxDepth: 4 });
 *   const margins = CompiledForest.compile(model).predictMargins(scoringColumns(x), x.rows);
 */
export function trainGbdt(
  train: LabelledMatrix,
  valid: LabelledMatrix | undefined,
  params: GbdtParams,
): GbdtTraining {
  const p = params;
  if (p.maxDepth <= 0 && p.maxLeaves <= 0) throw new Error('set maxDepth or maxLeaves (both are unlimited)');
  const n = train.x.rows;
  const F = train.x.columns.length;
  const y = train.y;
  const bins = fitBins(train.x, p.maxBins);
  const X = binMatrix(train.x, bins);
  const V = valid ? binMatrix(valid.x, bins) : undefined;
  const totalBins = X.offsets[F]!;
  const rng = new Rng(p.seed >>> 0);

  // Base margin: log-odds of the positive rate, or the mean label.
  let mean = 0;
  for (let i = 0; i < n; i++) mean += y[i]!;
  mean = n === 0 ? 0 : mean / n;
  const baseMargin = p.objective === 'binary' ? logit(mean) : mean;

  const margin = new Float64Array(n).fill(baseMargin);
  const vMargin = new Float64Array(V ? V.rows : 0).fill(baseMargin);
  const grad = new Float64Array(n);
  const hess = new Float64Array(n);
  const rows = new Uint32Array(n);
  const scratch = new Uint32Array(n);
  const unsampled = new Uint32Array(n);
  const pool: Float64Array[] = [];
  const allowed = new Uint8Array(F);
  const order = new Int32Array(F);
  const featureGainPerTree: Float64Array[] = [];
  const binary = p.objective === 'binary';

  const trees: Tree[] = [];
  const validLoss: number[] = [];
  let best = Number.POSITIVE_INFINITY;
  let bestRounds = 0;

  for (let round = 0; round < p.trees; round++) {
    // Gradients and hessians of the loss at the current margins.
    if (binary) {
      for (let i = 0; i < n; i++) {
        const q = 1 / (1 + Math.exp(-margin[i]!));
        grad[i] = q - y[i]!;
        const h = q * (1 - q);
        hess[i] = Math.max(h, 1e-16);
      }
    } else {
      for (let i = 0; i < n; i++) {
        grad[i] = margin[i]! - y[i]!;
        hess[i] = 1;
      }
    }
    // Rows and features of this tree.
    let m = 0;
    let u = 0;
    if (p.subsample < 1) {
      for (let i = 0; i < n; i++) {
        if (rng.float() < p.subsample) rows[m++] = i;
        else unsampled[u++] = i;
      }
    } else {
      for (let i = 0; i < n; i++) rows[i] = i;
      m = n;
    }
    if (p.colsampleByTree < 1) {
      allowed.fill(0);
      const k = Math.max(1, Math.round(F * p.colsampleByTree));
      for (let i = 0; i < F; i++) order[i] = i;
      for (let i = 0; i < k; i++) {
        const j = i + rng.int(F - i);
        const t = order[i]!;
        order[i] = order[j]!;
        order[j] = t;
        allowed[order[i]!] = 1;
      }
    } else allowed.fill(1);

    const builder = new TreeBuilder();
    const gains = new Float64Array(F);
    growTree(builder, X, bins, p, rows, scratch, m, grad, hess, allowed, totalBins, pool, gains);
    trees.push(builder.finish());
    featureGainPerTree.push(gains);

    // Training margins: sampled rows by their leaf's segment, the others by walking the tree.
    const bt = builder.binned();
    const feature = builder.feature;
    for (let id = 0; id < feature.length; id++) {
      if (feature[id]! >= 0) continue;
      const v = bt.value[id]!;
      const end = builder.segEnd[id]!;
      for (let i = builder.segStart[id]!; i < end; i++) margin[rows[i]!]! += v;
    }
    if (u > 0) addTree(bt, X, margin, unsampled, u);
    if (V && valid) {
      addTree(bt, V, vMargin, null, V.rows);
      const loss = lossOf(p.objective, vMargin, valid.y);
      validLoss.push(loss);
      if (loss < best - 1e-12) {
        best = loss;
        bestRounds = round + 1;
      } else if (p.earlyStoppingRounds > 0 && round + 1 - bestRounds >= p.earlyStoppingRounds) break;
    } else bestRounds = round + 1;
  }
  const kept = trees.slice(0, bestRounds);
  const featureGain = new Float64Array(F);
  for (const g of featureGainPerTree.slice(0, bestRounds))
    for (let f = 0; f < F; f++) featureGain[f]! += g[f]!;
  return {
    model: { objective: p.objective, baseMargin, trees: kept, featureCount: F },
    roundsTrained: trees.length,
    bestRounds,
    validLoss,
    featureGain,
    bins,
  };
}

/** Add a tree's leaf values to the margins of rows of a binned matrix (all rows, or `only[0..count)`). */
function addTree(
  t: BinnedTree,
  X: BinnedMatrix,
  margin: Float64Array,
  only: Uint32Array | null,
  count: number,
): void {
  const F = X.features;
  const data = X.data;
  const feature = t.feature;
  const threshold = t.threshold;
  const missing = t.missing;
  const missingLeft = t.missingLeft;
  const left = t.left;
  const right = t.right;
  const value = t.value;
  for (let k = 0; k < count; k++) {
    const r = only === null ? k : only[k]!;
    const base = r * F;
    let node = 0;
    for (;;) {
      const f = feature[node]!;
      if (f < 0) break;
      const g = data[base + f]!;
      let goLeft: boolean;
      if (g === missing[node]) goLeft = missingLeft[node] === 1;
      else {
        const cats = t.catLeft[node] ?? null;
        goLeft = cats === null ? g <= threshold[node]! : cats[g - t.offset[node]!] === 1;
      }
      node = goLeft ? left[node]! : right[node]!;
    }
    margin[r]! += value[node]!;
  }
}

/** Sum of gradients/hessians of rows[start, end) into hist (cleared first). */
function buildHist(
  hist: Float64Array,
  data: Uint16Array | Uint32Array,
  F: number,
  rows: Uint32Array,
  start: number,
  end: number,
  grad: Float64Array,
  hess: Float64Array,
): void {
  hist.fill(0);
  for (let i = start; i < end; i++) {
    const r = rows[i]!;
    const g = grad[r]!;
    const h = hess[r]!;
    let at = r * F;
    const stop = at + F;
    for (; at < stop; at++) {
      const k = data[at]! << 1;
      hist[k]! += g;
      hist[k + 1]! += h;
    }
  }
}

function leafValue(g: number, h: number, p: GbdtParams): number {
  return (-g / (h + p.lambda)) * p.learningRate;
}

function canSplit(depth: number, h: number, count: number, p: GbdtParams): boolean {
  return (p.maxDepth <= 0 || depth < p.maxDepth) && h >= 2 * p.minChildWeight && count >= 2;
}

function growTree(
  b: TreeBuilder,
  X: BinnedMatrix,
  bins: readonly FeatureBins[],
  p: GbdtParams,
  rows: Uint32Array,
  scratch: Uint32Array,
  m: number,
  grad: Float64Array,
  hess: Float64Array,
  allowed: Uint8Array,
  totalBins: number,
  pool: Float64Array[],
  gains: Float64Array,
): void {
  let G = 0;
  let H = 0;
  for (let i = 0; i < m; i++) {
    G += grad[rows[i]!]!;
    H += hess[rows[i]!]!;
  }
  const root: OpenNode = {
    id: b.add(H, 0, m),
    start: 0,
    end: m,
    depth: 0,
    G,
    H,
    hist: pool.pop() ?? new Float64Array(2 * totalBins),
    split: null,
  };
  b.value[root.id] = leafValue(G, H, p);
  if (m === 0) {
    pool.push(root.hist);
    return;
  }
  buildHist(root.hist, X.data, X.features, rows, 0, m, grad, hess);
  if (canSplit(0, H, m, p)) root.split = findSplit(root, X, bins, p, allowed);
  const open: OpenNode[] = [root];
  let leaves = 1;
  for (;;) {
    let pick = -1;
    for (let i = 0; i < open.length; i++) {
      const s = open[i]!.split;
      if (s && (pick < 0 || s.gain > open[pick]!.split!.gain)) pick = i;
    }
    if (pick < 0 || (p.maxLeaves > 0 && leaves >= p.maxLeaves)) break;
    const node = open[pick]!;
    open.splice(pick, 1);
    const s = node.split!;
    const mid = partition(X, bins, s, rows, scratch, node.start, node.end);
    const GR = node.G - s.GL;
    const HR = node.H - s.HL;
    const l: OpenNode = {
      id: b.add(s.HL, node.start, mid),
      start: node.start,
      end: mid,
      depth: node.depth + 1,
      G: s.GL,
      H: s.HL,
      hist: node.hist,
      split: null,
    };
    const r: OpenNode = {
      id: b.add(HR, mid, node.end),
      start: mid,
      end: node.end,
      depth: node.depth + 1,
      G: GR,
      H: HR,
      hist: node.hist,
      split: null,
    };
    // Record the split on the parent.
    const id = node.id;
    const f = s.feature;
    const spec = bins[f]!;
    const off = X.offsets[f]!;
    b.feature[id] = f;
    b.left[id] = l.id;
    b.right[id] = r.id;
    b.missingLeft[id] = (s.missingSeen ? s.missingLeft : s.HL >= HR) ? 1 : 0;
    b.gain[id] = s.gain;
    b.missingBin[id] = off + spec.bins;
    b.binOffset[id] = off;
    gains[f]! += s.gain;
    if (s.cats) {
      const lookup = new Uint8Array(spec.bins);
      for (const c of s.cats) lookup[c] = 1;
      b.catLeft[id] = lookup;
      b.categories[id] = Int32Array.from(s.cats);
      b.threshold[id] = 0;
    } else {
      b.binThreshold[id] = off + s.bin;
      b.threshold[id] =
        spec.kind === 'numeric' && s.bin < spec.bins - 1 ? spec.cuts[s.bin]! : Number.POSITIVE_INFINITY;
    }
    b.value[l.id] = leafValue(l.G, l.H, p);
    b.value[r.id] = leafValue(r.G, r.H, p);
    leaves++;
    const splitL = canSplit(l.depth, l.H, l.end - l.start, p);
    const splitR = canSplit(r.depth, r.H, r.end - r.start, p);
    if (splitL || splitR) {
      // Build the smaller child's histogram; the larger one is the parent's minus it (in place).
      const small = l.end - l.start <= r.end - r.start ? l : r;
      const large = small === l ? r : l;
      small.hist = pool.pop() ?? new Float64Array(2 * totalBins);
      buildHist(small.hist, X.data, X.features, rows, small.start, small.end, grad, hess);
      const ph = large.hist;
      const sh = small.hist;
      for (let k = 0; k < ph.length; k++) ph[k]! -= sh[k]!;
      if (splitL) l.split = findSplit(l, X, bins, p, allowed);
      if (splitR) r.split = findSplit(r, X, bins, p, allowed);
      for (const c of [l, r]) {
        if (c.split) open.push(c);
        else pool.push(c.hist);
      }
    } else pool.push(node.hist);
  }
  for (const o of open) pool.push(o.hist);
}

/** Stable partition of rows[start, end) by the split: left rows first; returns the boundary. */
function partition(
  X: BinnedMatrix,
  bins: readonly FeatureBins[],
  s: Split,
  rows: Uint32Array,
  scratch: Uint32Array,
  start: number,
  end: number,
): number {
  const F = X.features;
  const f = s.feature;
  const off = X.offsets[f]!;
  const nb = bins[f]!.bins;
  const missing = off + nb;
  const data = X.data;
  const missLeft = s.missingLeft;
  let li = start;
  let ri = 0;
  if (s.cats) {
    const lookup = new Uint8Array(nb + 1);
    for (const c of s.cats) lookup[c] = 1;
    lookup[nb] = missLeft ? 1 : 0;
    for (let i = start; i < end; i++) {
      const r = rows[i]!;
      if (lookup[data[r * F + f]! - off] === 1) rows[li++] = r;
      else scratch[ri++] = r;
    }
  } else {
    const t = off + s.bin;
    for (let i = start; i < end; i++) {
      const r = rows[i]!;
      const g = data[r * F + f]!;
      if (g === missing ? missLeft : g <= t) rows[li++] = r;
      else scratch[ri++] = r;
    }
  }
  rows.set(scratch.subarray(0, ri), li);
  return li;
}

/** Loss reduction of a split, or -Infinity when a child is lighter than min_child_weight. */
function gainOf(
  GL: number,
  HL: number,
  G: number,
  H: number,
  lambda: number,
  mcw: number,
  parent: number,
): number {
  const HR = H - HL;
  if (HL < mcw || HR < mcw) return Number.NEGATIVE_INFINITY;
  const GR = G - GL;
  return (GL * GL) / (HL + lambda) + (GR * GR) / (HR + lambda) - parent;
}

/** The best split of a node over the allowed features, or null when none gains enough. */
function findSplit(
  node: OpenNode,
  X: BinnedMatrix,
  bins: readonly FeatureBins[],
  p: GbdtParams,
  allowed: Uint8Array,
): Split | null {
  const hist = node.hist;
  const G = node.G;
  const H = node.H;
  const lambda = p.lambda;
  const mcw = p.minChildWeight;
  const parent = (G * G) / (H + lambda);
  let bestGain = Math.max(p.gamma, 1e-6);
  let bf = -1;
  let bBin = 0;
  let bMissLeft = false;
  let bSeen = false;
  let bCats: number[] | null = null;
  let bGL = 0;
  let bHL = 0;
  for (let f = 0; f < X.features; f++) {
    if (allowed[f] === 0) continue;
    const spec = bins[f]!;
    const off = X.offsets[f]!;
    const nb = spec.bins;
    const Gm = hist[2 * (off + nb)]!;
    const Hm = hist[2 * (off + nb) + 1]!;
    const hasMissing = Hm > 0;
    if (spec.kind === 'numeric') {
      let GL = 0;
      let HL = 0;
      for (let t = 0; t < nb; t++) {
        const k = 2 * (off + t);
        const h = hist[k + 1]!;
        if (h === 0 && t > 0 && t < nb - 1) continue; // an empty bin: same split as before
        GL += hist[k]!;
        HL += h;
        // Missing values right; at the last bin this splits "missing" against the rest.
        if (t < nb - 1 || hasMissing) {
          const gain = gainOf(GL, HL, G, H, lambda, mcw, parent);
          if (gain > bestGain) {
            bestGain = gain;
            bf = f;
            bBin = t;
            bMissLeft = false;
            bSeen = hasMissing;
            bCats = null;
            bGL = GL;
            bHL = HL;
          }
        }
        if (hasMissing && t < nb - 1) {
          const gain = gainOf(GL + Gm, HL + Hm, G, H, lambda, mcw, parent);
          if (gain > bestGain) {
            bestGain = gain;
            bf = f;
            bBin = t;
            bMissLeft = true;
            bSeen = true;
            bCats = null;
            bGL = GL + Gm;
            bHL = HL + Hm;
          }
        }
      }
      continue;
    }
    // Categorical: the levels present in the node. Few levels (fewer than maxCatToOnehot in the
    // feature, as XGBoost counts): one level against the rest.
    const cats: number[] = [];
    for (let c = 0; c < nb; c++) if (hist[2 * (off + c) + 1]! > 0) cats.push(c);
    if (cats.length + (hasMissing ? 1 : 0) < 2) continue;
    if (nb < p.maxCatToOnehot) {
      for (const c of cats) {
        const g = hist[2 * (off + c)]!;
        const h = hist[2 * (off + c) + 1]!;
        for (const withMissing of hasMissing ? [false, true] : [false]) {
          const GL = withMissing ? g + Gm : g;
          const HL = withMissing ? h + Hm : h;
          const gain = gainOf(GL, HL, G, H, lambda, mcw, parent);
          if (gain > bestGain) {
            bestGain = gain;
            bf = f;
            bBin = 0;
            bMissLeft = withMissing;
            bSeen = hasMissing;
            bCats = [c];
            bGL = GL;
            bHL = HL;
          }
        }
      }
      continue;
    }
    // Many levels: sorted by their leaf weight, the best split is a prefix (Fisher). A level lighter
    // than min_child_weight sorts as weight 0 (in the middle), so rare levels cannot make the extremes.
    const weight = new Float64Array(nb);
    for (const c of cats) {
      const h = hist[2 * (off + c) + 1]!;
      weight[c] = h < mcw ? 0 : hist[2 * (off + c)]! / (h + lambda);
    }
    cats.sort((a, c) => weight[a]! - weight[c]! || a - c);
    let GL = 0;
    let HL = 0;
    const limit = Math.min(cats.length - (hasMissing ? 0 : 1), p.maxCatThreshold);
    for (let k = 0; k < limit; k++) {
      const c = cats[k]!;
      GL += hist[2 * (off + c)]!;
      HL += hist[2 * (off + c) + 1]!;
      for (const withMissing of hasMissing && k < cats.length - 1 ? [false, true] : [false]) {
        const gl = withMissing ? GL + Gm : GL;
        const hl = withMissing ? HL + Hm : HL;
        const gain = gainOf(gl, hl, G, H, lambda, mcw, parent);
        if (gain > bestGain) {
          bestGain = gain;
          bf = f;
          bBin = 0;
          bMissLeft = withMissing;
          bSeen = hasMissing;
          bCats = cats.slice(0, k + 1).sort((a, b2) => a - b2);
          bGL = gl;
          bHL = hl;
        }
      }
    }
  }
  if (bf < 0) return null;
  return {
    gain: bestGain,
    feature: bf,
    bin: bBin,
    missingLeft: bMissLeft,
    missingSeen: bSeen,
    cats: bCats,
    GL: bGL,
    HL: bHL,
  };
}
