/** Synthetic labelled matrices with known structure, for the learner tests. */
import { Rng } from '../../src/generate/prng.js';
import type { FeatureMatrix } from '../../src/models/matrix.js';

export const LEVELS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];

/**
 * n rows: x0, x1, x2 numeric (x0 missing 10% of the time), cat with 8 levels (missing 5%).
 * P(y = 1) = sigmoid(1.5 x0 - x1 * sign(x2) + [cat in a, c, e] - 0.5 + [x0 missing] * 1.2).
 */
export function mixedData(n: number, seed: number): { x: FeatureMatrix; y: Float64Array; z: Float64Array } {
  const rng = new Rng(seed);
  const x0 = new Float64Array(n);
  const x1 = new Float64Array(n);
  const x2 = new Float64Array(n);
  const cat = new Int32Array(n);
  const y = new Float64Array(n);
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x0[i] = rng.chance(0.1) ? Number.NaN : rng.normal();
    x1[i] = rng.normal();
    x2[i] = rng.normal();
    cat[i] = rng.chance(0.05) ? -1 : rng.int(LEVELS.length);
    const inSet = cat[i] === 0 || cat[i] === 2 || cat[i] === 4 ? 1 : 0;
    const zi = (Number.isNaN(x0[i]!) ? 1.2 : 1.5 * x0[i]!) - x1[i]! * Math.sign(x2[i]!) + inSet - 0.5;
    z[i] = zi;
    y[i] = rng.float() < 1 / (1 + Math.exp(-zi)) ? 1 : 0;
  }
  return {
    x: {
      rows: n,
      columns: [
        { kind: 'numeric', values: x0 },
        { kind: 'numeric', values: x1 },
        { kind: 'numeric', values: x2 },
        { kind: 'categorical', codes: cat, levels: LEVELS },
      ],
    },
    y,
    z,
  };
}
