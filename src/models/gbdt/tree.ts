/**
 * A regression tree of a boosted ensemble, as typed arrays indexed by node (0 = root).
 *
 * Internal nodes split on one feature:
 * - numeric: `x <= threshold` goes left;
 * - categorical: the codes listed in `categories[node]` go left, every other code goes right;
 * - a missing value (NaN, or code -1 / unknown) goes left when `missingLeft[node]` is 1.
 * Leaves have `feature = -1` and carry `value` (already scaled by the learning rate). `cover` is the
 * sum of hessians of the training rows that reached the node (what TreeSHAP weighs paths by), `gain`
 * the loss reduction of the node's split (0 for leaves).
 */
import type { FeatureMatrix } from '../matrix.js';

export interface Tree {
  readonly feature: Int32Array;
  readonly threshold: Float64Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly missingLeft: Uint8Array;
  /** Categorical splits: the sorted codes that go left; null for numeric splits and leaves. */
  readonly categories: readonly (Int32Array | null)[];
  readonly value: Float64Array;
  readonly cover: Float64Array;
  readonly gain: Float64Array;
}

/** The JSON form of a tree in a model file: one array per node field. */
export interface TreeJson {
  readonly feature: number[];
  readonly threshold: (number | null)[];
  readonly left: number[];
  readonly right: number[];
  readonly missing_left: number[];
  readonly categories: (number[] | null)[];
  readonly value: number[];
  readonly cover: number[];
  readonly gain: number[];
}

export function treeToJson(t: Tree): TreeJson {
  return {
    feature: [...t.feature],
    // JSON has no Infinity: a threshold above every value is written as null.
    threshold: [...t.threshold].map((x) => (Number.isFinite(x) ? x : null)),
    left: [...t.left],
    right: [...t.right],
    missing_left: [...t.missingLeft],
    categories: t.categories.map((c) => (c ? [...c] : null)),
    value: [...t.value],
    cover: [...t.cover],
    gain: [...t.gain],
  };
}

export function treeFromJson(j: TreeJson): Tree {
  return {
    feature: Int32Array.from(j.feature),
    threshold: Float64Array.from(j.threshold.map((x) => (x === null ? Number.POSITIVE_INFINITY : x))),
    left: Int32Array.from(j.left),
    right: Int32Array.from(j.right),
    missingLeft: Uint8Array.from(j.missing_left),
    categories: j.categories.map((c) => (c ? Int32Array.from(c) : null)),
    value: Float64Array.from(j.value),
    cover: Float64Array.from(j.cover),
    gain: Float64Array.from(j.gain),
  };
}

/** Does row `r` of the matrix go left at internal node `node`? */
export function goesLeft(t: Tree, node: number, m: FeatureMatrix, r: number): boolean {
  const col = m.columns[t.feature[node]!]!;
  const cats = t.categories[node];
  if (col.kind === 'numeric') {
    const x = col.values[r]!;
    if (Number.isNaN(x)) return t.missingLeft[node] === 1;
    if (cats) return hasCode(cats, x);
    return x <= t.threshold[node]!;
  }
  const c = col.codes[r]!;
  if (c < 0 || c >= col.levels.length) return t.missingLeft[node] === 1;
  return cats ? hasCode(cats, c) : c <= t.threshold[node]!;
}

function hasCode(sorted: Int32Array, c: number): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = sorted[mid]!;
    if (v === c) return true;
    if (v < c) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/** The leaf row `r` falls in. */
export function leafOf(t: Tree, m: FeatureMatrix, r: number): number {
  let node = 0;
  while (t.feature[node]! >= 0) node = goesLeft(t, node, m, r) ? t.left[node]! : t.right[node]!;
  return node;
}

/** Depth of the tree (a single leaf has depth 0). */
export function treeDepth(t: Tree): number {
  const depth = (node: number): number =>
    t.feature[node]! < 0 ? 0 : 1 + Math.max(depth(t.left[node]!), depth(t.right[node]!));
  return depth(0);
}
