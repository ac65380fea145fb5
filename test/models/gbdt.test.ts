import { describe, expect, it } from 'vitest';
import { CompiledForest, scoringColumns } from '../../src/models/gbdt/forest.js';
import { DEFAULT_GBDT_PARAMS, type GbdtModel, lossOf, trainGbdt } from '../../src/models/gbdt/train.js';
import { leafOf, treeDepth, treeFromJson, treeToJson } from '../../src/models/gbdt/tree.js';
import type { FeatureMatrix } from '../../src/models/matrix.js';
import { auc } from '../../src/models/metrics.js';
import { mixedData } from './fixtures.js';

function walkMargins(model: GbdtModel, x: FeatureMatrix): Float64Array {
  const out = new Float64Array(x.rows);
  for (let r = 0; r < x.rows; r++) {
    let s = model.baseMargin;
    for (const t of model.trees) s += t.value[leafOf(t, x, r)]!;
    out[r] = s;
  }
  return out;
}

const numeric = (values: number[]): FeatureMatrix => ({
  rows: values.length,
  columns: [{ kind: 'numeric', values: Float64Array.from(values) }],
});

describe('gradient-boosted trees', () => {
  it('a regression tree finds the step of a step function exactly', () => {
    const xs = Array.from({ length: 200 }, (_, i) => i / 10);
    const y = Float64Array.from(xs, (x) => (x <= 7.3 ? 1 : 5));
    const { model } = trainGbdt({ x: numeric(xs), y }, undefined, {
      ...DEFAULT_GBDT_PARAMS,
      objective: 'regression',
      trees: 1,
      maxDepth: 1,
      learningRate: 1,
      lambda: 0,
    });
    const t = model.trees[0]!;
    expect(t.feature[0]).toBe(0);
    expect(t.threshold[0]).toBeCloseTo(7.3, 12);
    const m = walkMargins(model, numeric([7.3, 7.31, -100, 100]));
    expect([...m].map((v) => Math.round(v * 1e9) / 1e9)).toEqual([1, 5, 1, 5]);
  });

  it('leaf values are Newton steps shrunk by L2 (lambda) and the learning rate; gamma refuses small gains', () => {
    // Regression: base margin = mean label = 3; gradients margin - y are -2 (x <= 4) and +2 (x > 4),
    // hessians 1, 5 rows a side: leaf = -G / (H + lambda) x learning rate.
    const xs = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    const y = Float64Array.from(xs, (x) => (x <= 4 ? 1 : 5));
    const one = { ...DEFAULT_GBDT_PARAMS, objective: 'regression' as const, trees: 1, maxDepth: 1 };
    for (const [lambda, lr] of [
      [0, 1],
      [1, 0.3],
      [5, 0.1],
    ] as const) {
      const { model } = trainGbdt({ x: numeric(xs), y }, undefined, { ...one, lambda, learningRate: lr });
      expect(model.baseMargin).toBe(3);
      const t = model.trees[0]!;
      expect(t.value[t.left[0]!]).toBeCloseTo((10 / (5 + lambda)) * -lr, 12);
      expect(t.value[t.right[0]!]).toBeCloseTo((-10 / (5 + lambda)) * -lr, 12);
    }
    // The split gains G_L^2/(H_L+l) + G_R^2/(H_R+l) - G^2/(H+l) = 100/6 + 100/6 - 0 with lambda 1.
    const { model } = trainGbdt({ x: numeric(xs), y }, undefined, { ...one, lambda: 1 });
    expect(model.trees[0]!.gain[0]).toBeCloseTo(200 / 6, 12);
    const refused = trainGbdt({ x: numeric(xs), y }, undefined, { ...one, lambda: 1, gamma: 200 / 6 + 1e-6 });
    expect(refused.model.trees[0]!.feature[0]).toBe(-1); // a single leaf
  });

  it('subsample draws about that share of rows for each tree', () => {
    const { x, y } = mixedData(4000, 11);
    const { model } = trainGbdt({ x, y }, undefined, {
      ...DEFAULT_GBDT_PARAMS,
      trees: 3,
      maxDepth: 2,
      subsample: 0.5,
    });
    const full = trainGbdt({ x, y }, undefined, { ...DEFAULT_GBDT_PARAMS, trees: 1, maxDepth: 2 }).model;
    // Cover (sum of hessians) of the root: half the rows' hessians, give or take sampling noise.
    const ratio = model.trees[0]!.cover[0]! / full.trees[0]!.cover[0]!;
    expect(ratio).toBeGreaterThan(0.45);
    expect(ratio).toBeLessThan(0.55);
  });

  it('learns which side missing values go, per split', () => {
    // Missing means positive; low values negative, high values positive.
    const xs = [...Array.from({ length: 100 }, (_, i) => i), ...Array.from({ length: 50 }, () => Number.NaN)];
    const y = Float64Array.from(xs, (x) => (Number.isNaN(x) || x >= 50 ? 1 : 0));
    const { model } = trainGbdt({ x: numeric(xs), y }, undefined, {
      ...DEFAULT_GBDT_PARAMS,
      trees: 20,
      maxDepth: 1,
    });
    expect(model.trees[0]!.missingLeft[0]).toBe(0); // x <= 49 goes left; missing goes right with the positives
    const m = walkMargins(model, numeric([Number.NaN, 10, 90]));
    expect(m[0]).toBeGreaterThan(2);
    expect(m[1]).toBeLessThan(-2);
    expect(m[2]).toBeGreaterThan(2);
  });

  it('splits a categorical feature into the right partition of its levels', () => {
    const levels = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    const codes = Int32Array.from({ length: 800 }, (_, i) => i % 8);
    const y = Float64Array.from(codes, (c) => (c === 0 || c === 2 || c === 4 ? 1 : 0));
    const x: FeatureMatrix = { rows: 800, columns: [{ kind: 'categorical', codes, levels }] };
    const { model } = trainGbdt({ x, y }, undefined, {
      ...DEFAULT_GBDT_PARAMS,
      trees: 1,
      maxDepth: 1,
      learningRate: 1,
    });
    const left = [...model.trees[0]!.categories[0]!];
    expect(left.length === 3 ? left : levels.map((_, i) => i).filter((c) => !left.includes(c))).toEqual([
      0, 2, 4,
    ]);
  });

  it('is deterministic per seed, and the seed matters when rows are subsampled', () => {
    const { x, y } = mixedData(3000, 1);
    const params = { ...DEFAULT_GBDT_PARAMS, trees: 15, subsample: 0.7, colsampleByTree: 0.8, seed: 42 };
    const a = trainGbdt({ x, y }, undefined, params).model.trees.map(treeToJson);
    const b = trainGbdt({ x, y }, undefined, params).model.trees.map(treeToJson);
    const c = trainGbdt({ x, y }, undefined, { ...params, seed: 43 }).model.trees.map(treeToJson);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(JSON.stringify(a)).not.toBe(JSON.stringify(c));
  });

  it('respects max depth, max leaves and min child weight', () => {
    const { x, y } = mixedData(3000, 2);
    const deep = trainGbdt({ x, y }, undefined, { ...DEFAULT_GBDT_PARAMS, trees: 5, maxDepth: 3 }).model;
    expect(Math.max(...deep.trees.map(treeDepth))).toBe(3);
    const leafy = trainGbdt({ x, y }, undefined, {
      ...DEFAULT_GBDT_PARAMS,
      trees: 5,
      maxDepth: 0,
      maxLeaves: 7,
    }).model;
    for (const t of leafy.trees) expect([...t.feature].filter((f) => f < 0).length).toBeLessThanOrEqual(7);
    const heavy = trainGbdt({ x, y }, undefined, {
      ...DEFAULT_GBDT_PARAMS,
      trees: 5,
      minChildWeight: 40,
    }).model;
    for (const t of heavy.trees) {
      for (let k = 0; k < t.feature.length; k++)
        if (t.feature[k]! < 0) expect(t.cover[k]).toBeGreaterThanOrEqual(40);
    }
  });

  it('early stopping keeps the trees up to the best validation round', () => {
    const train = mixedData(2000, 3);
    const valid = mixedData(2000, 4);
    const r = trainGbdt(train, valid, {
      ...DEFAULT_GBDT_PARAMS,
      trees: 400,
      learningRate: 0.3,
      maxDepth: 8,
      earlyStoppingRounds: 10,
    });
    expect(r.roundsTrained).toBeLessThan(400);
    expect(r.roundsTrained - r.bestRounds).toBe(10);
    expect(r.model.trees.length).toBe(r.bestRounds);
    const best = Math.min(...r.validLoss);
    expect(r.validLoss[r.bestRounds - 1]).toBe(best);
    // The kept model's validation loss is that best loss.
    expect(lossOf('binary', walkMargins(r.model, valid.x), valid.y)).toBeCloseTo(best, 10);
  });

  it('reaches the AUC of the true log-odds on held-out data', () => {
    const train = mixedData(20000, 5);
    const test = mixedData(10000, 6);
    const { model } = trainGbdt(train, undefined, { ...DEFAULT_GBDT_PARAMS, trees: 150, maxDepth: 4 });
    const ours = auc(walkMargins(model, test.x), test.y);
    const oracle = auc(test.z, test.y);
    expect(ours).toBeGreaterThan(oracle - 0.02);
  });

  it('the compiled forest scores exactly like walking the trees (numeric, categorical, missing)', () => {
    const train = mixedData(5000, 7);
    const test = mixedData(3000, 8);
    for (const params of [
      { ...DEFAULT_GBDT_PARAMS, trees: 30, maxDepth: 5 },
      { ...DEFAULT_GBDT_PARAMS, trees: 10, maxDepth: 0, maxLeaves: 12 },
      { ...DEFAULT_GBDT_PARAMS, trees: 10, maxDepth: 14, minChildWeight: 0.01 },
      // A stump or two: most features unused (scoring reads only the used ones).
      { ...DEFAULT_GBDT_PARAMS, trees: 2, maxDepth: 1 },
    ]) {
      const { model } = trainGbdt(train, undefined, params);
      const fast = CompiledForest.compile(model).predictMargins(scoringColumns(test.x), test.x.rows);
      expect([...fast]).toEqual([...walkMargins(model, test.x)]);
      if (params.trees === 2) {
        const used = new Set(model.trees.flatMap((t) => [...t.feature].filter((f) => f >= 0)));
        expect(used.size).toBeLessThan(test.x.columns.length);
      }
    }
  });

  it('trees survive the JSON round trip of model files', () => {
    const { model } = trainGbdt(mixedData(2000, 9), undefined, { ...DEFAULT_GBDT_PARAMS, trees: 5 });
    for (const t of model.trees) {
      const back = treeFromJson(JSON.parse(JSON.stringify(treeToJson(t))));
      expect(treeToJson(back)).toEqual(treeToJson(t));
    }
  });

  it('regression objective: squared error goes down round after round', () => {
    const { x, z } = mixedData(3000, 10);
    const r = trainGbdt(
      { x, y: z },
      { x, y: z },
      { ...DEFAULT_GBDT_PARAMS, objective: 'regression', trees: 50 },
    );
    expect(r.validLoss[49]).toBeLessThan(r.validLoss[0]! / 3);
  });
});
