/**
 * L2-regularised linear models on standardised features: logistic regression for binary labels,
 * ridge regression for numeric ones. Fitted with L-BFGS (lbfgs.ts).
 *
 * The design matrix, from the feature matrix:
 * - a numeric feature gives one column; a missing value is imputed with the training mean, and when
 *   the training data has missing values an indicator column "is missing" is added;
 * - a categorical feature gives one indicator column per level (the `maxLevels` most frequent levels
 *   seen at least twice; other levels and missing values are all-zero);
 * - every column is standardised with its training mean and standard deviation (constant columns are
 *   dropped), so coefficients are comparable and a feature's contribution to a row's margin is
 *   `coefficient x standardised value` (the intercept is the margin of the average training row).
 *
 * The objective follows scikit-learn's parameterisation, `C x sum(loss) + ||w||^2 / 2` (intercept not
 * penalised), so `c` means the same as `LogisticRegression(C=...)`.
 */
import { logit } from '../link.js';
import type { FeatureMatrix } from '../matrix.js';
import { lbfgs } from './lbfgs.js';

export type LinearObjective = 'binary' | 'regression';

export interface DesignColumn {
  readonly feature: number;
  readonly kind: 'value' | 'missing' | 'level';
  /** 'level': the category code the indicator is 1 for. */
  readonly level?: number;
  /** Training mean of the raw column (for 'value', also what missing values are imputed with). */
  readonly mean: number;
  readonly scale: number;
}

export interface LinearModel {
  readonly objective: LinearObjective;
  readonly intercept: number;
  readonly columns: readonly DesignColumn[];
  readonly weights: Float64Array;
  readonly featureCount: number;
}

export interface LinearParams {
  readonly objective: LinearObjective;
  /** Inverse regularisation strength (scikit-learn's C). */
  readonly c: number;
  /** Most indicator columns per categorical feature. */
  readonly maxLevels: number;
  readonly maxIterations: number;
}

export const DEFAULT_LINEAR_PARAMS: LinearParams = {
  objective: 'binary',
  c: 1,
  maxLevels: 50,
  maxIterations: 1000,
};

export interface LinearTraining {
  readonly model: LinearModel;
  readonly iterations: number;
  readonly converged: boolean;
}

/** Raw (unstandardised) value of a design column for row r. */
function rawValue(m: FeatureMatrix, c: DesignColumn, r: number): number {
  const col = m.columns[c.feature]!;
  if (col.kind === 'numeric') {
    const x = col.values[r]!;
    if (c.kind === 'missing') return Number.isNaN(x) ? 1 : 0;
    return Number.isNaN(x) ? c.mean : x;
  }
  return col.codes[r] === c.level ? 1 : 0;
}

/** Choose the design columns and their standardisation from training data. */
export function designColumns(m: FeatureMatrix, maxLevels: number): DesignColumn[] {
  const out: DesignColumn[] = [];
  const n = m.rows;
  const add = (proto: Omit<DesignColumn, 'mean' | 'scale'>, value: (r: number) => number) => {
    let s = 0;
    let ss = 0;
    for (let r = 0; r < n; r++) {
      const v = value(r);
      s += v;
      ss += v * v;
    }
    const mean = n === 0 ? 0 : s / n;
    const variance = n === 0 ? 0 : Math.max(0, ss / n - mean * mean);
    const scale = Math.sqrt(variance);
    if (scale > 1e-12) out.push({ ...proto, mean, scale });
  };
  m.columns.forEach((col, f) => {
    if (col.kind === 'numeric') {
      let s = 0;
      let k = 0;
      for (let r = 0; r < n; r++) {
        const x = col.values[r]!;
        if (!Number.isNaN(x)) {
          s += x;
          k++;
        }
      }
      const mean = k === 0 ? 0 : s / k;
      add({ feature: f, kind: 'value' }, (r) => {
        const x = col.values[r]!;
        return Number.isNaN(x) ? mean : x;
      });
      // Imputing the observed mean leaves the column's mean unchanged, so `mean` is also the imputed value.
      if (k < n && k > 0) add({ feature: f, kind: 'missing' }, (r) => (Number.isNaN(col.values[r]!) ? 1 : 0));
      return;
    }
    const counts = new Map<number, number>();
    for (let r = 0; r < n; r++) {
      const c = col.codes[r]!;
      if (c >= 0) counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    const levels = [...counts.entries()]
      .filter(([, k]) => k >= 2)
      .sort((a, b) => b[1] - a[1] || a[0] - b[0])
      .slice(0, maxLevels)
      .map(([c]) => c)
      .sort((a, b) => a - b);
    for (const level of levels)
      add({ feature: f, kind: 'level', level }, (r) => (col.codes[r] === level ? 1 : 0));
  });
  return out;
}

/** Standardised design columns of a matrix (column-major, one Float32Array per column). */
function design(m: FeatureMatrix, cols: readonly DesignColumn[]): Float32Array[] {
  return cols.map((c) => {
    const out = new Float32Array(m.rows);
    for (let r = 0; r < m.rows; r++) out[r] = (rawValue(m, c, r) - c.mean) / c.scale;
    return out;
  });
}

/**
 * Fit a logistic (binary) or ridge (regression) model.
 * @example
 *   const { model } = trainLinear({ x, y }, { ...DEFAULT_LINEAR_PARAMS, c: 0.5 });
 *   const margins = linearMargins(model, x);
 */
export function trainLinear(
  train: { x: FeatureMatrix; y: Float64Array },
  params: LinearParams,
): LinearTraining {
  const cols = designColumns(train.x, params.maxLevels);
  const X = design(train.x, cols);
  const n = train.x.rows;
  const p = cols.length;
  const y = train.y;
  const z = new Float64Array(n);
  const r = new Float64Array(n);
  const penalty = 1 / (params.c * Math.max(1, n));
  const binary = params.objective === 'binary';
  // w[0] is the intercept, w[1..p] the coefficients; mean loss + penalty/2 ||w||^2 (sklearn's minimiser).
  const fg = (w: Float64Array, g: Float64Array): number => {
    z.fill(w[0]!);
    for (let j = 0; j < p; j++) {
      const col = X[j]!;
      const wj = w[j + 1]!;
      if (wj === 0) continue;
      for (let i = 0; i < n; i++) z[i]! += wj * col[i]!;
    }
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const zi = z[i]!;
      if (binary) {
        // log(1 + e^z) - y z, computed stably; residual p - y.
        loss += (zi > 0 ? zi + Math.log1p(Math.exp(-zi)) : Math.log1p(Math.exp(zi))) - y[i]! * zi;
        r[i] = 1 / (1 + Math.exp(-zi)) - y[i]!;
      } else {
        const d = zi - y[i]!;
        loss += 0.5 * d * d;
        r[i] = d;
      }
    }
    let g0 = 0;
    for (let i = 0; i < n; i++) g0 += r[i]!;
    g[0] = g0 / n;
    let reg = 0;
    for (let j = 0; j < p; j++) {
      const col = X[j]!;
      let s = 0;
      for (let i = 0; i < n; i++) s += col[i]! * r[i]!;
      const wj = w[j + 1]!;
      g[j + 1] = s / n + penalty * wj;
      reg += wj * wj;
    }
    return loss / n + 0.5 * penalty * reg;
  };
  const w0 = new Float64Array(p + 1);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += y[i]!;
  mean = n === 0 ? 0 : mean / n;
  w0[0] = binary ? logit(mean) : mean;
  const res = lbfgs(fg, w0, { maxIterations: params.maxIterations, tolerance: 1e-8 });
  return {
    model: {
      objective: params.objective,
      intercept: res.x[0]!,
      columns: cols,
      weights: res.x.slice(1),
      featureCount: train.x.columns.length,
    },
    iterations: res.iterations,
    converged: res.converged,
  };
}

/** Margins (log-odds, or predicted values for regression) of every row. */
export function linearMargins(model: LinearModel, m: FeatureMatrix): Float64Array {
  const out = new Float64Array(m.rows).fill(model.intercept);
  model.columns.forEach((c, j) => {
    const w = model.weights[j]!;
    for (let r = 0; r < m.rows; r++) out[r]! += (w * (rawValue(m, c, r) - c.mean)) / c.scale;
  });
  return out;
}

/** Per-feature contributions to one row's margin: coefficient x standardised value, summed per feature. */
export function linearContributions(
  model: LinearModel,
  m: FeatureMatrix,
  row: number,
): { contributions: Float64Array; expected: number } {
  const phi = new Float64Array(model.featureCount);
  model.columns.forEach((c, j) => {
    phi[c.feature]! += (model.weights[j]! * (rawValue(m, c, row) - c.mean)) / c.scale;
  });
  return { contributions: phi, expected: model.intercept };
}
