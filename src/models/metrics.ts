/**
 * Evaluation metrics: pure functions of predictions and labels (typed arrays, no I/O).
 *
 * Binary: AUC-ROC (Mann-Whitney, ties counted half), PR-AUC (average precision, as scikit-learn's
 * `average_precision_score`), log loss, Brier score, a calibration table, gains and lift by decile,
 * F1 at a threshold. Regression: RMSE, MAE, R², gains by decile of predicted value.
 */

/** Indices ordered by score descending (ties by index, so results are deterministic). */
function orderDesc(scores: Float64Array): Uint32Array {
  const idx = new Uint32Array(scores.length);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  return idx.sort((a, b) => scores[b]! - scores[a]! || a - b);
}

/** Area under the ROC curve; NaN when only one class is present. */
export function auc(scores: Float64Array, labels: Float64Array): number {
  const n = scores.length;
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  idx.sort((a, b) => scores[a]! - scores[b]!);
  let pos = 0;
  let rankSum = 0;
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && scores[idx[j + 1]!] === scores[idx[i]!]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (labels[idx[k]!]! > 0.5) {
        pos++;
        rankSum += avgRank;
      }
    }
    i = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return Number.NaN;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** Average precision: sum over score thresholds of (recall step) x precision. */
export function averagePrecision(scores: Float64Array, labels: Float64Array): number {
  const idx = orderDesc(scores);
  let total = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i]! > 0.5) total++;
  if (total === 0) return Number.NaN;
  let tp = 0;
  let seen = 0;
  let ap = 0;
  let prevRecall = 0;
  let i = 0;
  while (i < idx.length) {
    let j = i;
    while (j < idx.length && scores[idx[j]!] === scores[idx[i]!]) {
      if (labels[idx[j]!]! > 0.5) tp++;
      seen++;
      j++;
    }
    const recall = tp / total;
    ap += (recall - prevRecall) * (tp / seen);
    prevRecall = recall;
    i = j;
  }
  return ap;
}

export function logLoss(probs: Float64Array, labels: Float64Array): number {
  let s = 0;
  for (let i = 0; i < probs.length; i++) {
    const p = Math.min(1 - 1e-15, Math.max(1e-15, probs[i]!));
    s -= labels[i]! > 0.5 ? Math.log(p) : Math.log(1 - p);
  }
  return probs.length === 0 ? Number.NaN : s / probs.length;
}

export function brier(probs: Float64Array, labels: Float64Array): number {
  let s = 0;
  for (let i = 0; i < probs.length; i++) s += (probs[i]! - labels[i]!) ** 2;
  return probs.length === 0 ? Number.NaN : s / probs.length;
}

export interface CalibrationBin {
  readonly bin: number;
  readonly count: number;
  readonly meanPredicted: number;
  readonly observedRate: number;
}

/** Rows in `bins` equal-size groups by predicted probability (ascending): predicted vs observed. */
export function calibration(probs: Float64Array, labels: Float64Array, bins = 10): CalibrationBin[] {
  const idx = orderDesc(probs).reverse();
  const n = idx.length;
  const out: CalibrationBin[] = [];
  for (let b = 0; b < bins; b++) {
    const start = Math.floor((b * n) / bins);
    const end = Math.floor(((b + 1) * n) / bins);
    if (end <= start) continue;
    let p = 0;
    let y = 0;
    for (let k = start; k < end; k++) {
      p += probs[idx[k]!]!;
      y += labels[idx[k]!]!;
    }
    const count = end - start;
    out.push({ bin: b + 1, count, meanPredicted: p / count, observedRate: y / count });
  }
  return out;
}

export interface GainsRow {
  /** 1 = the tenth of rows with the highest scores. */
  readonly decile: number;
  readonly count: number;
  readonly minScore: number;
  /** Mean label in the decile (positive rate, or mean value). */
  readonly rate: number;
  /** Share of all positives (or of the total value) in deciles 1..d. */
  readonly cumulativeGain: number;
  /** rate / overall rate. */
  readonly lift: number;
  readonly cumulativeLift: number;
}

/** Gains and lift by decile of score (decile 1 = highest scores). */
export function gains(scores: Float64Array, labels: Float64Array, groups = 10): GainsRow[] {
  const idx = orderDesc(scores);
  const n = idx.length;
  let total = 0;
  for (let i = 0; i < n; i++) total += labels[i]!;
  const overall = n === 0 ? 0 : total / n;
  const out: GainsRow[] = [];
  let cum = 0;
  let cumCount = 0;
  for (let g = 0; g < groups; g++) {
    const start = Math.floor((g * n) / groups);
    const end = Math.floor(((g + 1) * n) / groups);
    if (end <= start) continue;
    let s = 0;
    for (let k = start; k < end; k++) s += labels[idx[k]!]!;
    cum += s;
    cumCount += end - start;
    const rate = s / (end - start);
    out.push({
      decile: g + 1,
      count: end - start,
      minScore: scores[idx[end - 1]!]!,
      rate,
      cumulativeGain: total === 0 ? 0 : cum / total,
      lift: overall === 0 ? 0 : rate / overall,
      cumulativeLift: overall === 0 ? 0 : cum / cumCount / overall,
    });
  }
  return out;
}

export interface ThresholdStats {
  readonly threshold: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
}

/** Precision, recall and F1 of `score >= threshold`. */
export function f1At(scores: Float64Array, labels: Float64Array, threshold: number): ThresholdStats {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < scores.length; i++) {
    const yes = scores[i]! >= threshold;
    const pos = labels[i]! > 0.5;
    if (yes && pos) tp++;
    else if (yes) fp++;
    else if (pos) fn++;
  }
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { threshold, precision, recall, f1 };
}

/** The threshold (one of the scores) with the highest F1. */
export function bestF1(scores: Float64Array, labels: Float64Array): ThresholdStats {
  const idx = orderDesc(scores);
  let total = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i]! > 0.5) total++;
  let tp = 0;
  let seen = 0;
  let best: ThresholdStats = { threshold: Number.POSITIVE_INFINITY, precision: 0, recall: 0, f1: 0 };
  let i = 0;
  while (i < idx.length) {
    let j = i;
    while (j < idx.length && scores[idx[j]!] === scores[idx[i]!]) {
      if (labels[idx[j]!]! > 0.5) tp++;
      seen++;
      j++;
    }
    const precision = tp / seen;
    const recall = total === 0 ? 0 : tp / total;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    if (f1 > best.f1) best = { threshold: scores[idx[i]!]!, precision, recall, f1 };
    i = j;
  }
  return best;
}

/** How a score separates the positives on validation rows, with its F1 threshold chosen on training rows. */
export interface ScoreComparison {
  /** The model, or the baseline tag's name. */
  readonly name: string;
  readonly auc: number;
  readonly prAuc: number;
  /** Chosen on the training rows (never on the validation rows it is measured on). */
  readonly threshold: number;
  readonly f1: number;
  readonly precision: number;
  readonly recall: number;
}

/**
 * AUC and PR-AUC of a score on validation rows, and its F1 there at the threshold that maximises F1 on
 * training rows. Missing scores (NaN) rank lowest. A boolean rule tag (1/0) gets threshold 1: its own
 * yes/no.
 * @example
 *   compareScore('new_parent', trainRule, trainY, validRule, validY) // { auc: 0.71, f1: 0.42, ... }
 */
export function compareScore(
  name: string,
  trainScores: Float64Array,
  trainLabels: Float64Array,
  validScores: Float64Array,
  validLabels: Float64Array,
): ScoreComparison {
  const low = (s: Float64Array) => s.map((v) => (Number.isNaN(v) ? Number.NEGATIVE_INFINITY : v));
  const valid = low(validScores);
  const threshold = bestF1(low(trainScores), trainLabels).threshold;
  const at = f1At(valid, validLabels, threshold);
  return {
    name,
    auc: auc(valid, validLabels),
    prAuc: averagePrecision(valid, validLabels),
    threshold,
    f1: at.f1,
    precision: at.precision,
    recall: at.recall,
  };
}

export function rmse(pred: Float64Array, y: Float64Array): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += (pred[i]! - y[i]!) ** 2;
  return y.length === 0 ? Number.NaN : Math.sqrt(s / y.length);
}

export function mae(pred: Float64Array, y: Float64Array): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += Math.abs(pred[i]! - y[i]!);
  return y.length === 0 ? Number.NaN : s / y.length;
}

export function r2(pred: Float64Array, y: Float64Array): number {
  let mean = 0;
  for (let i = 0; i < y.length; i++) mean += y[i]!;
  mean /= y.length;
  let ssr = 0;
  let sst = 0;
  for (let i = 0; i < y.length; i++) {
    ssr += (pred[i]! - y[i]!) ** 2;
    sst += (y[i]! - mean) ** 2;
  }
  return sst === 0 ? Number.NaN : 1 - ssr / sst;
}

export interface BinaryMetrics {
  readonly kind: 'binary';
  readonly rows: number;
  readonly positives: number;
  readonly baseRate: number;
  readonly auc: number;
  readonly prAuc: number;
  readonly logLoss: number;
  readonly brier: number;
  /** The F1-best threshold on these rows, with its precision and recall. */
  readonly bestF1: ThresholdStats;
  readonly calibration: readonly CalibrationBin[];
  readonly gains: readonly GainsRow[];
}

export interface RegressionMetrics {
  readonly kind: 'regression';
  readonly rows: number;
  readonly mean: number;
  readonly rmse: number;
  readonly mae: number;
  readonly r2: number;
  readonly gains: readonly GainsRow[];
}

export type Metrics = BinaryMetrics | RegressionMetrics;

/** Every metric of a set of predictions (probabilities for binary models). */
export function evaluatePredictions(
  kind: 'binary' | 'regression',
  pred: Float64Array,
  y: Float64Array,
): Metrics {
  if (kind === 'binary') {
    let positives = 0;
    for (let i = 0; i < y.length; i++) if (y[i]! > 0.5) positives++;
    return {
      kind,
      rows: y.length,
      positives,
      baseRate: y.length === 0 ? 0 : positives / y.length,
      auc: auc(pred, y),
      prAuc: averagePrecision(pred, y),
      logLoss: logLoss(pred, y),
      brier: brier(pred, y),
      bestF1: bestF1(pred, y),
      calibration: calibration(pred, y),
      gains: gains(pred, y),
    };
  }
  let mean = 0;
  for (let i = 0; i < y.length; i++) mean += y[i]!;
  return {
    kind,
    rows: y.length,
    mean: y.length === 0 ? 0 : mean / y.length,
    rmse: rmse(pred, y),
    mae: mae(pred, y),
    r2: r2(pred, y),
    gains: gains(pred, y),
  };
}
