import { describe, expect, it } from 'vitest';
import { DEFAULT_GBDT_PARAMS, type GbdtModel, trainGbdt } from '../../src/models/gbdt/train.js';
import { goesLeft, leafOf, type Tree } from '../../src/models/gbdt/tree.js';
import { expectedMargin, treeShap } from '../../src/models/gbdt/treeshap.js';
import type { FeatureMatrix } from '../../src/models/matrix.js';
import { mixedData } from './fixtures.js';

/** E[tree | features in S fixed to the row's values], absent features averaged by cover. */
function conditional(t: Tree, x: FeatureMatrix, row: number, S: Set<number>, node = 0): number {
  if (t.feature[node]! < 0) return t.value[node]!;
  const l = t.left[node]!;
  const r = t.right[node]!;
  if (S.has(t.feature[node]!)) return conditional(t, x, row, S, goesLeft(t, node, x, row) ? l : r);
  return (
    (t.cover[l]! * conditional(t, x, row, S, l) + t.cover[r]! * conditional(t, x, row, S, r)) / t.cover[node]!
  );
}

/** Shapley values by brute force over every subset of features. */
function bruteForce(model: GbdtModel, x: FeatureMatrix, row: number): number[] {
  const F = model.featureCount;
  const v = (S: Set<number>) => model.trees.reduce((s, t) => s + conditional(t, x, row, S), model.baseMargin);
  const fact = (k: number): number => (k <= 1 ? 1 : k * fact(k - 1));
  const phi = new Array<number>(F).fill(0);
  for (let i = 0; i < F; i++) {
    for (let mask = 0; mask < 1 << F; mask++) {
      if (mask & (1 << i)) continue;
      const S = new Set<number>();
      for (let j = 0; j < F; j++) if (mask & (1 << j)) S.add(j);
      const w = (fact(S.size) * fact(F - S.size - 1)) / fact(F);
      const without = v(S);
      S.add(i);
      phi[i]! += w * (v(S) - without);
    }
  }
  return phi;
}

describe('TreeSHAP', () => {
  const data = mixedData(3000, 11);
  const { model } = trainGbdt(data, undefined, { ...DEFAULT_GBDT_PARAMS, trees: 12, maxDepth: 5 });

  it('equals Shapley values computed over every feature subset (numeric, categorical, missing rows)', () => {
    const rows = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    // Make sure missing x0 and missing categories are among the rows checked.
    const missing = [...Array(3000).keys()].filter((r) =>
      Number.isNaN((data.x.columns[0] as { values: Float64Array }).values[r]!),
    );
    const missingCat = [...Array(3000).keys()].filter(
      (r) => (data.x.columns[3] as { codes: Int32Array }).codes[r] === -1,
    );
    for (const row of [...rows, missing[0]!, missingCat[0]!]) {
      const { contributions } = treeShap(model, data.x, row);
      const brute = bruteForce(model, data.x, row);
      for (let f = 0; f < 4; f++) expect(contributions[f]).toBeCloseTo(brute[f]!, 9);
    }
  });

  it('contributions add up to the margin, from the expected margin', () => {
    for (let row = 0; row < 50; row++) {
      const { contributions, expected } = treeShap(model, data.x, row);
      const margin = model.trees.reduce((s, t) => s + t.value[leafOf(t, data.x, row)]!, model.baseMargin);
      expect(expected + contributions.reduce((a, b) => a + b, 0)).toBeCloseTo(margin, 9);
    }
    expect(expectedMargin(model)).toBeCloseTo(
      model.trees.reduce((s, t) => s + conditional(t, data.x, 0, new Set()), model.baseMargin),
      12,
    );
  });
});
