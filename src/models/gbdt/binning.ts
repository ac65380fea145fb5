/**
 * Histogram binning: every feature value becomes a small integer bin, once, before training.
 *
 * Numeric features get at most `maxBins - 1` value bins from quantile cut points: bin t holds the
 * values x with cuts[t-1] < x <= cuts[t] (values above the last cut fall in the last bin). Features
 * with few distinct values get one bin per value. Categorical features use their codes as bins.
 * Every feature has one more bin, right after its value bins, for missing values: the trainer learns
 * per split which side missing values go to.
 *
 * The binned matrix is row-major with *global* bin ids (feature offset + local bin), which is what
 * the histogram loop indexes directly (`hist[gbin]`).
 */
import type { FeatureMatrix } from '../matrix.js';

export interface NumericBins {
  readonly kind: 'numeric';
  /** Ascending cut points; value bin t holds x <= cuts[t] (and > cuts[t-1]). */
  readonly cuts: Float64Array;
  /** Number of value bins (= cuts.length); the missing bin is `bins`. */
  readonly bins: number;
}

export interface CategoricalBins {
  readonly kind: 'categorical';
  /** Number of levels (codes 0..bins-1); the missing bin is `bins`. */
  readonly bins: number;
}

export type FeatureBins = NumericBins | CategoricalBins;

export interface BinnedMatrix {
  readonly rows: number;
  readonly features: number;
  /** Row-major global bin ids: data[r * features + f] = offsets[f] + local bin. */
  readonly data: Uint16Array | Uint32Array;
  /** Global id of each feature's bin 0; offsets[features] = total number of bins. */
  readonly offsets: Uint32Array;
}

/** At most this many values are sorted to find a feature's cut points. */
const SKETCH_ROWS = 200_000;

/** The largest number of value bins a feature may have (one more bin is for missing values). */
export const MAX_VALUE_BINS = 255;

/** Quantile cut points of one numeric column (NaN = missing). */
export function numericCuts(values: Float64Array, maxBins: number): Float64Array {
  const limit = Math.max(2, Math.min(maxBins, MAX_VALUE_BINS));
  const n = values.length;
  // Large columns: an evenly spaced, deterministic sample of SKETCH_ROWS rows.
  const take = Math.min(n, SKETCH_ROWS);
  const sample: number[] = [];
  for (let k = 0; k < take; k++) {
    const v = values[take === n ? k : Math.floor((k * n) / take)]!;
    if (!Number.isNaN(v)) sample.push(v);
  }
  const sorted = Float64Array.from(sample).sort();
  const m = sorted.length;
  if (m === 0) return Float64Array.of(0);
  const distinct: number[] = [];
  for (let i = 0; i < m; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) distinct.push(sorted[i]!);
  // Values above the sample's maximum (rows the sample skipped) land in the last bin.
  if (distinct.length <= limit) return Float64Array.from(distinct);
  const cuts: number[] = [];
  for (let q = 1; q < limit; q++) {
    const v = sorted[Math.min(m - 1, Math.floor((q * m) / limit) - 1)]!;
    if (cuts.length === 0 || v > cuts[cuts.length - 1]!) cuts.push(v);
  }
  const max = sorted[m - 1]!;
  if (cuts[cuts.length - 1]! < max) cuts.push(max);
  return Float64Array.from(cuts);
}

/** The value bin of x (x not NaN): the first t with x <= cuts[t], or the last bin. */
export function binOf(cuts: Float64Array, x: number): number {
  let lo = 0;
  let hi = cuts.length - 1;
  if (x > cuts[hi]!) return hi;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x <= cuts[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Bin layout of every feature, fitted on the training matrix. */
export function fitBins(m: FeatureMatrix, maxBins: number): FeatureBins[] {
  return m.columns.map((c): FeatureBins => {
    if (c.kind === 'numeric') {
      const cuts = numericCuts(c.values, maxBins);
      return { kind: 'numeric', cuts, bins: cuts.length };
    }
    if (c.levels.length > MAX_VALUE_BINS) {
      throw new Error(`a categorical feature has ${c.levels.length} levels; at most ${MAX_VALUE_BINS} fit`);
    }
    return { kind: 'categorical', bins: Math.max(1, c.levels.length) };
  });
}

export function binOffsets(bins: readonly FeatureBins[]): Uint32Array {
  const offsets = new Uint32Array(bins.length + 1);
  for (let f = 0; f < bins.length; f++) offsets[f + 1] = offsets[f]! + bins[f]!.bins + 1;
  return offsets;
}

/** Bin a matrix (training or validation) with fitted bins. */
export function binMatrix(m: FeatureMatrix, bins: readonly FeatureBins[]): BinnedMatrix {
  const F = bins.length;
  const n = m.rows;
  const offsets = binOffsets(bins);
  const total = offsets[F]!;
  const data = total <= 0xffff ? new Uint16Array(n * F) : new Uint32Array(n * F);
  for (let f = 0; f < F; f++) {
    const col = m.columns[f]!;
    const spec = bins[f]!;
    const off = offsets[f]!;
    const missing = off + spec.bins;
    if (col.kind === 'numeric' && spec.kind === 'numeric') {
      const v = col.values;
      const cuts = spec.cuts;
      for (let r = 0; r < n; r++) {
        const x = v[r]!;
        data[r * F + f] = Number.isNaN(x) ? missing : off + binOf(cuts, x);
      }
    } else if (col.kind === 'categorical') {
      const codes = col.codes;
      const nb = spec.bins;
      for (let r = 0; r < n; r++) {
        const c = codes[r]!;
        data[r * F + f] = c < 0 || c >= nb ? missing : off + c;
      }
    } else {
      throw new Error(`feature ${f}: the column kind does not match its bins`);
    }
  }
  return { rows: n, features: F, data, offsets };
}
