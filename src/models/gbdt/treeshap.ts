/**
 * Exact TreeSHAP (Lundberg, Erion & Lee, "Consistent individualized feature attribution for tree
 * ensembles", 2018, Algorithm 2): per-row feature contributions of a tree ensemble in
 * O(leaves x depth^2) per tree. Absent features follow the training data down both sides of a split,
 * weighted by the `cover` (hessian sum) of each child — the "path-dependent" conditional expectation.
 *
 * For every row: sum(contributions) + expectedValue = the model's margin (log-odds for binary models).
 * The tests compare it with Shapley values computed by brute force over every feature subset.
 */
import type { FeatureMatrix } from '../matrix.js';
import type { GbdtModel } from './train.js';
import { goesLeft, type Tree } from './tree.js';

/** The margin of the average training row: base margin + cover-weighted leaf means of every tree. */
export function expectedMargin(model: GbdtModel): number {
  let e = model.baseMargin;
  for (const t of model.trees) e += treeExpectation(t, 0);
  return e;
}

function treeExpectation(t: Tree, node: number): number {
  if (t.feature[node]! < 0) return t.value[node]!;
  const l = t.left[node]!;
  const r = t.right[node]!;
  const c = t.cover[node]!;
  if (c <= 0) return (treeExpectation(t, l) + treeExpectation(t, r)) / 2;
  return (t.cover[l]! * treeExpectation(t, l) + t.cover[r]! * treeExpectation(t, r)) / c;
}

/** The path of unique features seen so far, as parallel arrays (one slot per depth, per recursion). */
class Path {
  readonly feature: Int32Array;
  readonly zero: Float64Array;
  readonly one: Float64Array;
  readonly weight: Float64Array;
  constructor(size: number) {
    this.feature = new Int32Array(size);
    this.zero = new Float64Array(size);
    this.one = new Float64Array(size);
    this.weight = new Float64Array(size);
  }
  copy(from: number, to: number, count: number): void {
    this.feature.copyWithin(to, from, from + count);
    this.zero.copyWithin(to, from, from + count);
    this.one.copyWithin(to, from, from + count);
    this.weight.copyWithin(to, from, from + count);
  }
}

function extend(p: Path, at: number, depth: number, zero: number, one: number, feature: number): void {
  p.feature[at + depth] = feature;
  p.zero[at + depth] = zero;
  p.one[at + depth] = one;
  p.weight[at + depth] = depth === 0 ? 1 : 0;
  for (let i = depth - 1; i >= 0; i--) {
    p.weight[at + i + 1]! += (one * p.weight[at + i]! * (i + 1)) / (depth + 1);
    p.weight[at + i] = (zero * p.weight[at + i]! * (depth - i)) / (depth + 1);
  }
}

function unwind(p: Path, at: number, depth: number, index: number): void {
  const one = p.one[at + index]!;
  const zero = p.zero[at + index]!;
  let next = p.weight[at + depth]!;
  for (let i = depth - 1; i >= 0; i--) {
    if (one !== 0) {
      const tmp = p.weight[at + i]!;
      p.weight[at + i] = (next * (depth + 1)) / ((i + 1) * one);
      next = tmp - (p.weight[at + i]! * zero * (depth - i)) / (depth + 1);
    } else {
      p.weight[at + i] = (p.weight[at + i]! * (depth + 1)) / (zero * (depth - i));
    }
  }
  for (let i = index; i < depth; i++) {
    p.feature[at + i] = p.feature[at + i + 1]!;
    p.zero[at + i] = p.zero[at + i + 1]!;
    p.one[at + i] = p.one[at + i + 1]!;
  }
}

function unwoundSum(p: Path, at: number, depth: number, index: number): number {
  const one = p.one[at + index]!;
  const zero = p.zero[at + index]!;
  let next = p.weight[at + depth]!;
  let total = 0;
  for (let i = depth - 1; i >= 0; i--) {
    if (one !== 0) {
      const tmp = (next * (depth + 1)) / ((i + 1) * one);
      total += tmp;
      next = p.weight[at + i]! - (tmp * zero * (depth - i)) / (depth + 1);
    } else if (zero !== 0) {
      total += p.weight[at + i]! / zero / ((depth - i) / (depth + 1));
    }
  }
  return total;
}

function recurse(
  t: Tree,
  m: FeatureMatrix,
  row: number,
  phi: Float64Array,
  node: number,
  p: Path,
  at: number,
  depth: number,
  zero: number,
  one: number,
  feature: number,
): void {
  extend(p, at, depth, zero, one, feature);
  const f = t.feature[node]!;
  if (f < 0) {
    for (let i = 1; i <= depth; i++) {
      const w = unwoundSum(p, at, depth, i);
      phi[p.feature[at + i]!]! += w * (p.one[at + i]! - p.zero[at + i]!) * t.value[node]!;
    }
    return;
  }
  const left = goesLeft(t, node, m, row);
  const hot = left ? t.left[node]! : t.right[node]!;
  const cold = left ? t.right[node]! : t.left[node]!;
  const cover = t.cover[node]!;
  const hotZero = cover > 0 ? t.cover[hot]! / cover : 0.5;
  const coldZero = cover > 0 ? t.cover[cold]! / cover : 0.5;
  let inZero = 1;
  let inOne = 1;
  // A feature already on the path: undo its earlier split so this node redoes it.
  let k = 0;
  for (; k <= depth; k++) if (p.feature[at + k] === f) break;
  let d = depth;
  if (k !== depth + 1) {
    inZero = p.zero[at + k]!;
    inOne = p.one[at + k]!;
    unwind(p, at, d, k);
    d -= 1;
  }
  const next = at + depth + 1;
  p.copy(at, next, d + 1);
  recurse(t, m, row, phi, hot, p, next, d + 1, hotZero * inZero, inOne, f);
  p.copy(at, next, d + 1);
  recurse(t, m, row, phi, cold, p, next, d + 1, coldZero * inZero, 0, f);
}

/**
 * SHAP values of one row: contribution of each feature to the margin, and the expected margin.
 * @example
 *   const { contributions, expected } = treeShap(model, matrix, 0);
 *   // expected + sum(contributions) === the row's margin
 */
export function treeShap(
  model: GbdtModel,
  m: FeatureMatrix,
  row: number,
): { contributions: Float64Array; expected: number } {
  const phi = new Float64Array(model.featureCount);
  let maxDepth = 0;
  for (const t of model.trees) maxDepth = Math.max(maxDepth, depthOf(t, 0));
  const size = ((maxDepth + 2) * (maxDepth + 3)) / 2;
  const p = new Path(size);
  for (const t of model.trees) {
    if (t.feature[0]! < 0) continue;
    recurse(t, m, row, phi, 0, p, 0, 0, 1, 1, -1);
  }
  return { contributions: phi, expected: expectedMargin(model) };
}

function depthOf(t: Tree, node: number): number {
  return t.feature[node]! < 0 ? 0 : 1 + Math.max(depthOf(t, t.left[node]!), depthOf(t, t.right[node]!));
}
