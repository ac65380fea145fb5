/**
 * Fast scoring of a tree ensemble (what `build` runs over every entity).
 *
 * Three ideas, each measured (bench/models.bench.ts, "scoring"):
 * 1. **Trees padded to complete binary trees** of the forest's depth D: walking a tree is exactly D
 *    steps of `node = 2 * node + 1 + goesRight`, no leaf test, no pointer chasing. A leaf above depth
 *    D becomes pass-through nodes that always go left.
 * 2. **Branch-free integer decisions.** Each used feature's thresholds (over all trees) are sorted once;
 *    a value becomes its rank among them, so `x <= threshold` is `rank <= j`, computed as the sign
 *    bit of `j - rank`. Each feature is ranked twice, once with missing values above every rank and
 *    once below, and each node reads the copy that sends missing values its way, so one subtraction
 *    decides. Categorical nodes (set membership) take a branch.
 * 3. **Blocks and interleaving.** Rows are ranked and walked in blocks that stay in cache, four rows
 *    at a time so their independent walks overlap in the CPU.
 * The node-by-node walk in tree.ts is the reference: tests check both give identical margins.
 */
import type { FeatureMatrix } from '../matrix.js';
import type { GbdtModel } from './train.js';
import type { Tree } from './tree.js';

/** Deeper forests are walked node by node (a padded tree has 2^D nodes). */
const MAX_PADDED_DEPTH = 12;
const BLOCK = 1024;
/** Rank of a missing value in the "missing goes right" copy: above every threshold index. */
const MISSING_HIGH = 0x3fff;
/** Rank of a missing value in the "missing goes left" copy. */
const MISSING_LOW = -1;
const MAX_FEATURES = 0x2000;

/** Scoring columns of a feature matrix: categorical codes become numbers, -1 becomes NaN. */
export function scoringColumns(m: FeatureMatrix): Float64Array[] {
  return m.columns.map((c) => {
    if (c.kind === 'numeric') return c.values;
    const out = new Float64Array(m.rows);
    const codes = c.codes;
    for (let i = 0; i < m.rows; i++) {
      const v = codes[i]!;
      out[i] = v < 0 ? Number.NaN : v;
    }
    return out;
  });
}

function depthOf(t: Tree): number {
  const walk = (node: number): number =>
    t.feature[node]! < 0 ? 0 : 1 + Math.max(walk(t.left[node]!), walk(t.right[node]!));
  return walk(0);
}

/** A categorical node: the rank slot of its feature, the left-going codes as a bitset, missing side. */
interface CatNode {
  readonly slot: number;
  readonly bits: Uint32Array;
  readonly missingLeft: boolean;
}

export class CompiledForest {
  private constructor(
    readonly depth: number,
    readonly treeCount: number,
    readonly featureCount: number,
    private readonly baseMargin: number,
    /** The features some split reads (only these are ranked), in slot order. */
    private readonly used: Int32Array,
    private readonly padded: boolean,
    /**
     * Per padded node: threshold index (bits 0-13) | rank slot (bits 14-27), where slot 2u is
     * used feature u ranked with missing values high and 2u + 1 with missing values low; a negative
     * word -1 - i is categorical node i.
     */
    private readonly node: Int32Array,
    /** Per used feature: sorted thresholds padded with +Infinity to a power of two (rank = binary search). */
    private readonly cuts: readonly Float64Array[],
    /** Used features split by categorical nodes: their "rank" is the code itself. */
    private readonly categorical: Uint8Array,
    private readonly catNodes: readonly CatNode[],
    private readonly leaf: Float64Array,
    private readonly source: readonly Tree[],
  ) {}

  static compile(model: GbdtModel): CompiledForest {
    const T = model.trees.length;
    const F = model.featureCount;
    const depth = Math.max(0, ...model.trees.map(depthOf));
    const usedCount = new Set(model.trees.flatMap((t) => [...t.feature].filter((f) => f >= 0))).size;
    if (depth > MAX_PADDED_DEPTH || usedCount > MAX_FEATURES) {
      return new CompiledForest(
        depth,
        T,
        F,
        model.baseMargin,
        new Int32Array(0),
        false,
        new Int32Array(0),
        [],
        new Uint8Array(0),
        [],
        new Float64Array(0),
        model.trees,
      );
    }
    // Sorted distinct finite thresholds of every feature's numeric splits.
    const perFeature: Set<number>[] = Array.from({ length: F }, () => new Set<number>());
    const categorical = new Uint8Array(F);
    for (const t of model.trees) {
      for (let k = 0; k < t.feature.length; k++) {
        const f = t.feature[k]!;
        if (f < 0) continue;
        if (t.categories[k]) categorical[f] = 1;
        else if (Number.isFinite(t.threshold[k]!)) perFeature[f]!.add(t.threshold[k]!);
      }
    }
    // Only the features some split reads are ranked at scoring (a model often uses few of its features).
    const usedSet = new Set<number>();
    for (const t of model.trees) for (const f of t.feature) if (f >= 0) usedSet.add(f);
    const used = Int32Array.from([...usedSet].sort((a, b) => a - b));
    const slotOf = new Int32Array(F).fill(-1);
    used.forEach((f, u) => {
      slotOf[f] = u;
    });
    const sorted = perFeature.map((s) => Float64Array.from(s).sort());
    if (sorted.some((s) => s.length >= MISSING_HIGH - 1)) {
      throw new Error(`a feature has more than ${MISSING_HIGH - 2} distinct thresholds`);
    }
    const cuts = Array.from(used, (f) => sorted[f]!).map((s) => {
      let size = 1;
      while (size < s.length + 1) size *= 2;
      const c = new Float64Array(size).fill(Number.POSITIVE_INFINITY);
      c.set(s);
      return c;
    });
    const inner = (1 << depth) - 1;
    const leaves = 1 << depth;
    const node = new Int32Array(T * inner);
    const catNodes: CatNode[] = [];
    const leaf = new Float64Array(T * leaves);
    const rankOf = (f: number, thr: number) => {
      // x <= thr  <=>  rank(x) <= j, where rank(x) = number of thresholds below x.
      if (!Number.isFinite(thr)) return sorted[f]!.length;
      const s = sorted[f]!;
      let lo = 0;
      let hi = s.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (s[mid]! < thr) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    model.trees.forEach((t, ti) => {
      const fill = (n: number, slot: number, d: number): void => {
        if (d === depth) {
          leaf[ti * leaves + (slot - inner)] = t.value[n]!;
          return;
        }
        const k = ti * inner + slot;
        const f = t.feature[n]!;
        if (f < 0) {
          // Pass-through: every rank (missing too) is <= the largest threshold index: left.
          node[k] = MISSING_HIGH;
          fill(n, 2 * slot + 1, d + 1);
          fill(n, 2 * slot + 2, d + 1);
          return;
        }
        const cats = t.categories[n];
        const missingLeft = t.missingLeft[n] === 1;
        if (cats) {
          const words = cats.length === 0 ? 1 : Math.floor(Math.max(...cats) / 32) + 1;
          const bits = new Uint32Array(words);
          for (const c of cats) bits[c >>> 5] = (bits[c >>> 5]! | (1 << (c & 31))) >>> 0;
          node[k] = -1 - catNodes.length;
          catNodes.push({ slot: 2 * slotOf[f]!, bits, missingLeft });
        } else {
          node[k] = rankOf(f, t.threshold[n]!) | ((2 * slotOf[f]! + (missingLeft ? 1 : 0)) << 14);
        }
        fill(t.left[n]!, 2 * slot + 1, d + 1);
        fill(t.right[n]!, 2 * slot + 2, d + 1);
      };
      fill(0, 0, 0);
    });
    return new CompiledForest(
      depth,
      T,
      F,
      model.baseMargin,
      used,
      true,
      node,
      cuts,
      Uint8Array.from(used, (f) => categorical[f]!),
      catNodes,
      leaf,
      model.trees,
    );
  }

  /** Margins (log-odds, or values for regression) of `rows` rows; columns[f][i] is feature f of row i. */
  predictMargins(columns: readonly Float64Array[], rows: number, out = new Float64Array(rows)): Float64Array {
    out.fill(this.baseMargin, 0, rows);
    if (!this.padded) {
      this.walk(columns, rows, out);
      return out;
    }
    const S = 2 * this.used.length;
    const ranks = new Int16Array(BLOCK * Math.max(1, S));
    for (let b0 = 0; b0 < rows; b0 += BLOCK) {
      const m = Math.min(rows, b0 + BLOCK) - b0;
      this.rankBlock(columns, b0, m, ranks);
      this.walkBlock(ranks, b0, m, out);
    }
    return out;
  }

  /** ranks[j * S + 2u (+1)] = rank of used feature u of row b0 + j, missing high (low); codes for categories. */
  private rankBlock(columns: readonly Float64Array[], b0: number, m: number, ranks: Int16Array): void {
    const U = this.used.length;
    const S = 2 * U;
    for (let f = 0; f < U; f++) {
      const col = columns[this.used[f]!]!;
      const cuts = this.cuts[f]!;
      const size = cuts.length;
      const cat = this.categorical[f] === 1;
      for (let j = 0; j < m; j++) {
        const x = col[b0 + j]!;
        const at = j * S + 2 * f;
        if (Number.isNaN(x)) {
          ranks[at] = MISSING_HIGH;
          ranks[at + 1] = MISSING_LOW;
          continue;
        }
        let r: number;
        if (cat) r = x < 0 || x >= MISSING_HIGH ? MISSING_HIGH : x | 0;
        else {
          // Branch-free binary search: the number of cuts below x (cuts padded with +Infinity).
          r = 0;
          for (let half = size >>> 1; half > 0; half >>>= 1) r += (cuts[r + half - 1]! < x ? 1 : 0) * half;
          r += cuts[r]! < x ? 1 : 0;
        }
        ranks[at] = r;
        ranks[at + 1] = r;
      }
    }
  }

  private walkBlock(ranks: Int16Array, b0: number, m: number, out: Float64Array): void {
    const D = this.depth;
    const S = 2 * this.used.length;
    const inner = (1 << D) - 1;
    const leaves = 1 << D;
    const node = this.node;
    const leaf = this.leaf;
    for (let t = 0; t < this.treeCount; t++) {
      const base = t * inner;
      const leafBase = t * leaves - inner;
      let j = 0;
      for (; j + 4 <= m; j += 4) {
        let n0 = 0;
        let n1 = 0;
        let n2 = 0;
        let n3 = 0;
        const r0 = j * S;
        const r1 = r0 + S;
        const r2 = r1 + S;
        const r3 = r2 + S;
        for (let d = 0; d < D; d++) {
          const w0 = node[base + n0]!;
          const w1 = node[base + n1]!;
          const w2 = node[base + n2]!;
          const w3 = node[base + n3]!;
          n0 =
            2 * n0 +
            1 +
            (w0 < 0 ? this.catRight(w0, ranks, r0) : ((w0 & 0x3fff) - ranks[r0 + (w0 >>> 14)]!) >>> 31);
          n1 =
            2 * n1 +
            1 +
            (w1 < 0 ? this.catRight(w1, ranks, r1) : ((w1 & 0x3fff) - ranks[r1 + (w1 >>> 14)]!) >>> 31);
          n2 =
            2 * n2 +
            1 +
            (w2 < 0 ? this.catRight(w2, ranks, r2) : ((w2 & 0x3fff) - ranks[r2 + (w2 >>> 14)]!) >>> 31);
          n3 =
            2 * n3 +
            1 +
            (w3 < 0 ? this.catRight(w3, ranks, r3) : ((w3 & 0x3fff) - ranks[r3 + (w3 >>> 14)]!) >>> 31);
        }
        out[b0 + j]! += leaf[leafBase + n0]!;
        out[b0 + j + 1]! += leaf[leafBase + n1]!;
        out[b0 + j + 2]! += leaf[leafBase + n2]!;
        out[b0 + j + 3]! += leaf[leafBase + n3]!;
      }
      for (; j < m; j++) {
        let n0 = 0;
        const r0 = j * S;
        for (let d = 0; d < D; d++) {
          const w0 = node[base + n0]!;
          n0 =
            2 * n0 +
            1 +
            (w0 < 0 ? this.catRight(w0, ranks, r0) : ((w0 & 0x3fff) - ranks[r0 + (w0 >>> 14)]!) >>> 31);
        }
        out[b0 + j]! += leaf[leafBase + n0]!;
      }
    }
  }

  /** 1 when the row goes right at categorical node word w. */
  private catRight(w: number, ranks: Int16Array, row: number): number {
    const c = this.catNodes[-1 - w]!;
    const code = ranks[row + c.slot]!;
    if (code === MISSING_HIGH) return c.missingLeft ? 0 : 1;
    const word = code >>> 5;
    if (word >= c.bits.length) return 1;
    return (c.bits[word]! >>> (code & 31)) & 1 ? 0 : 1;
  }

  /** Node-by-node walk for very deep or very wide forests. */
  private walk(columns: readonly Float64Array[], rows: number, out: Float64Array): void {
    for (const t of this.source) {
      for (let i = 0; i < rows; i++) {
        let n = 0;
        while (t.feature[n]! >= 0) {
          const x = columns[t.feature[n]!]![i]!;
          const cats = t.categories[n];
          let left: boolean;
          if (Number.isNaN(x)) left = t.missingLeft[n] === 1;
          else if (cats) left = cats.includes(x | 0);
          else left = x <= t.threshold[n]!;
          n = left ? t.left[n]! : t.right[n]!;
        }
        out[i]! += t.value[n]!;
      }
    }
  }
}
