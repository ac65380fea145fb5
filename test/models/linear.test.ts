import { describe, expect, it } from 'vitest';
import { lbfgs } from '../../src/models/linear/lbfgs.js';
import {
  DEFAULT_LINEAR_PARAMS,
  designColumns,
  linearContributions,
  linearMargins,
  trainLinear,
} from '../../src/models/linear/linear.js';
import { auc } from '../../src/models/metrics.js';
import { mixedData } from './fixtures.js';

describe('L-BFGS', () => {
  it('minimises the Rosenbrock function', () => {
    const r = lbfgs(
      (x, g) => {
        const a = x[0]!;
        const b = x[1]!;
        g[0] = -2 * (1 - a) - 400 * a * (b - a * a);
        g[1] = 200 * (b - a * a);
        return (1 - a) ** 2 + 100 * (b - a * a) ** 2;
      },
      Float64Array.of(-1.2, 1),
      { maxIterations: 2000, tolerance: 1e-10 },
    );
    expect(r.x[0]).toBeCloseTo(1, 5);
    expect(r.x[1]).toBeCloseTo(1, 5);
  });
});

describe('L2 logistic regression', () => {
  const data = mixedData(4000, 21);

  it('reaches the optimum: the penalised gradient is zero (checked by finite differences of the loss)', () => {
    const c = 0.5;
    const { model, converged } = trainLinear(data, { ...DEFAULT_LINEAR_PARAMS, c });
    expect(converged).toBe(true);
    // Objective as scikit-learn writes it: C * sum(loss) + ||w||^2 / 2; its derivative at the optimum is 0.
    const objective = (intercept: number, weights: Float64Array) => {
      const m = linearMargins({ ...model, intercept, weights }, data.x);
      let loss = 0;
      for (let i = 0; i < m.length; i++) loss += Math.log1p(Math.exp(m[i]!)) - data.y[i]! * m[i]!;
      return c * loss + 0.5 * weights.reduce((s, w) => s + w * w, 0);
    };
    const h = 1e-5;
    const base = objective(model.intercept, model.weights);
    for (let j = 0; j < model.weights.length; j++) {
      const w = model.weights.slice();
      w[j]! += h;
      const up = objective(model.intercept, w);
      w[j]! -= 2 * h;
      const down = objective(model.intercept, w);
      expect(Math.abs((up - down) / (2 * h))).toBeLessThan(1e-2);
      expect(up).toBeGreaterThanOrEqual(base - 1e-6);
    }
  });

  it('standardises, imputes missing values with an indicator, and one-hot encodes levels', () => {
    const cols = designColumns(data.x, 50);
    expect(cols.map((c) => `${c.feature}:${c.kind}${c.level ?? ''}`)).toEqual([
      '0:value',
      '0:missing',
      '1:value',
      '2:value',
      ...[0, 1, 2, 3, 4, 5, 6, 7].map((l) => `3:level${l}`),
    ]);
  });

  it('contributions (coefficient x standardised value) add up to the margin', () => {
    const { model } = trainLinear(data, DEFAULT_LINEAR_PARAMS);
    const margins = linearMargins(model, data.x);
    for (let r = 0; r < 20; r++) {
      const { contributions, expected } = linearContributions(model, data.x, r);
      expect(expected + contributions.reduce((a, b) => a + b, 0)).toBeCloseTo(margins[r]!, 10);
    }
    const test = mixedData(4000, 22);
    expect(auc(linearMargins(model, test.x), test.y)).toBeGreaterThan(0.7);
  });

  it('ridge regression recovers linear coefficients', () => {
    const n = 2000;
    const a = Float64Array.from({ length: n }, (_, i) => Math.sin(i));
    const b = Float64Array.from({ length: n }, (_, i) => Math.cos(3 * i));
    const y = Float64Array.from({ length: n }, (_, i) => 3 + 2 * a[i]! - b[i]!);
    const { model } = trainLinear(
      {
        x: {
          rows: n,
          columns: [
            { kind: 'numeric', values: a },
            { kind: 'numeric', values: b },
          ],
        },
        y,
      },
      { ...DEFAULT_LINEAR_PARAMS, objective: 'regression', c: 1e6 },
    );
    // Back on the raw scale: w / scale.
    expect(model.weights[0]! / model.columns[0]!.scale).toBeCloseTo(2, 4);
    expect(model.weights[1]! / model.columns[1]!.scale).toBeCloseTo(-1, 4);
  });
});
