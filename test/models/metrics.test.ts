import { describe, expect, it } from 'vitest';
import {
  auc,
  averagePrecision,
  bestF1,
  brier,
  calibration,
  compareScore,
  f1At,
  gains,
  logLoss,
  r2,
} from '../../src/models/metrics.js';

const f = (xs: number[]) => Float64Array.from(xs);

describe('metrics', () => {
  it('AUC is the share of (positive, negative) pairs ranked right, ties counting half', () => {
    // scikit-learn's roc_auc_score example.
    expect(auc(f([0.1, 0.4, 0.35, 0.8]), f([0, 0, 1, 1]))).toBeCloseTo(0.75, 12);
    expect(auc(f([0.5, 0.5, 0.5, 0.5]), f([0, 1, 0, 1]))).toBeCloseTo(0.5, 12);
    expect(auc(f([0.2, 0.9]), f([1, 1]))).toBeNaN();
  });

  it('PR-AUC is average precision as scikit-learn computes it', () => {
    expect(averagePrecision(f([0.1, 0.4, 0.35, 0.8]), f([0, 0, 1, 1]))).toBeCloseTo(0.8333333333, 9);
    // Ties form one threshold: all four at once gives precision 0.5 at recall 1.
    expect(averagePrecision(f([1, 1, 1, 1]), f([0, 1, 0, 1]))).toBeCloseTo(0.5, 12);
  });

  it('log loss, Brier and R² on hand-computed values', () => {
    expect(logLoss(f([0.9, 0.2]), f([1, 0]))).toBeCloseTo(-(Math.log(0.9) + Math.log(0.8)) / 2, 12);
    expect(brier(f([0.9, 0.2]), f([1, 0]))).toBeCloseTo((0.01 + 0.04) / 2, 12);
    expect(r2(f([1, 2, 3]), f([1, 2, 3]))).toBe(1);
  });

  it('gains: decile 1 holds the highest scores; cumulative gain reaches 1', () => {
    const scores = f([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    const labels = f([1, 1, 0, 1, 0, 0, 0, 0, 0, 0]);
    const g = gains(scores, labels, 5);
    expect(g.map((r) => r.rate)).toEqual([1, 0.5, 0, 0, 0]);
    expect(g.map((r) => r.cumulativeGain)).toEqual([2 / 3, 1, 1, 1, 1]);
    expect(g[0]!.lift).toBeCloseTo(1 / 0.3, 12);
    expect(g[1]!.cumulativeLift).toBeCloseTo(0.75 / 0.3, 12);
  });

  it('calibration bins go from the lowest to the highest predictions', () => {
    const c = calibration(f([0.1, 0.2, 0.8, 0.9]), f([0, 0, 1, 1]), 2);
    expect(c).toEqual([
      { bin: 1, count: 2, meanPredicted: expect.closeTo(0.15, 12), observedRate: 0 },
      { bin: 2, count: 2, meanPredicted: expect.closeTo(0.85, 12), observedRate: 1 },
    ]);
  });

  it('F1 at a threshold and the best threshold', () => {
    const s = f([0.9, 0.8, 0.3, 0.2]);
    const y = f([1, 0, 1, 0]);
    expect(f1At(s, y, 0.5)).toEqual({ threshold: 0.5, precision: 0.5, recall: 0.5, f1: 0.5 });
    expect(bestF1(s, y).f1).toBeCloseTo(0.8, 12); // threshold 0.3: precision 2/3, recall 1
    expect(bestF1(s, y).threshold).toBe(0.3);
  });

  it('compareScore: F1 at the threshold chosen on training rows; missing scores rank lowest', () => {
    // Training rows: the best F1 is at score >= 0.6 (both positives, no negative).
    const trainS = f([0.9, 0.6, 0.4, 0.1]);
    const trainY = f([1, 1, 0, 0]);
    // Validation: at 0.6, one true positive (0.7), one false positive (0.65), one missed (0.5).
    const validS = f([0.7, 0.65, 0.5, Number.NaN]);
    const validY = f([1, 0, 1, 0]);
    const c = compareScore('m', trainS, trainY, validS, validY);
    expect(c.threshold).toBe(0.6);
    expect([c.precision, c.recall, c.f1]).toEqual([0.5, 0.5, 0.5]);
    expect(c.auc).toBeCloseTo(auc(f([0.7, 0.65, 0.5, -1]), validY), 12);
    // A boolean rule (1/0): its threshold is its own yes.
    const rule = compareScore('r', f([1, 0, 1, 0]), f([1, 0, 0, 0]), f([1, 1, 0]), f([1, 0, 1]));
    expect(rule.threshold).toBe(1);
    expect([rule.precision, rule.recall]).toEqual([0.5, 0.5]);
  });
});
