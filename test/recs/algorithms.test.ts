/**
 * The recommenders' math against slow, obvious versions: the Cholesky inverse against Gauss-Jordan,
 * EASE's closed form against one ridge regression per item solved densely, item-kNN against cosines
 * computed by hand, the ranking metrics against hand-computed values, and the model file round trip.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_FIT_PARAMS,
  type EaseModel,
  fitEase,
  fitItemKnn,
  fitModel,
  scoreItems,
  topK,
} from '../../src/recs/algorithms.js';
import { spdInverse } from '../../src/recs/linalg.js';
import { type Csr, csrFromTriples } from '../../src/recs/matrix.js';
import { rankingScores } from '../../src/recs/metrics.js';
import { decodeRecsFile, encodeRecsFile, type RecsFile } from '../../src/recs/model-file.js';

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Gauss-Jordan with partial pivoting on a copy: the obvious inverse. */
function gaussJordanInverse(a: Float64Array, n: number): Float64Array {
  const m = a.slice();
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) inv[i * n + i] = 1;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]!) > Math.abs(m[p * n + c]!)) p = r;
    for (let k = 0; k < n; k++) {
      [m[c * n + k], m[p * n + k]] = [m[p * n + k]!, m[c * n + k]!];
      [inv[c * n + k], inv[p * n + k]] = [inv[p * n + k]!, inv[c * n + k]!];
    }
    const d = m[c * n + c]!;
    for (let k = 0; k < n; k++) {
      m[c * n + k]! /= d;
      inv[c * n + k]! /= d;
    }
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r * n + c]!;
      for (let k = 0; k < n; k++) {
        m[r * n + k]! -= f * m[c * n + k]!;
        inv[r * n + k]! -= f * inv[c * n + k]!;
      }
    }
  }
  return inv;
}

/** A random binary users x items matrix. */
function randomMatrix(users: number, items: number, density: number, seed: number): Csr {
  const r = prng(seed);
  const row: number[] = [];
  const col: number[] = [];
  for (let u = 0; u < users; u++)
    for (let i = 0; i < items; i++)
      if (r() < density) {
        row.push(u);
        col.push(i);
      }
  return csrFromTriples(
    users,
    items,
    Uint32Array.from(row),
    Uint32Array.from(col),
    new Float64Array(row.length).fill(1),
  );
}

function dense(x: Csr): Float64Array {
  const d = new Float64Array(x.rows * x.cols);
  for (let u = 0; u < x.rows; u++)
    for (let k = x.indptr[u]!; k < x.indptr[u + 1]!; k++) d[u * x.cols + x.indices[k]!] = x.values[k]!;
  return d;
}

describe('linear algebra', () => {
  it('the Cholesky inverse of a random SPD matrix equals the Gauss-Jordan inverse', () => {
    const n = 37;
    const r = prng(3);
    const b = Float64Array.from({ length: n * n }, () => r() - 0.5);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += b[i * n + k]! * b[j * n + k]!;
        a[i * n + j] = s + (i === j ? 0.5 : 0);
      }
    const fast = spdInverse(a, n);
    const slow = gaussJordanInverse(a, n);
    for (let k = 0; k < n * n; k++) expect(fast[k]).toBeCloseTo(slow[k]!, 8);
  });

  it('refuses a matrix that is not positive definite', () => {
    expect(() => spdInverse(Float64Array.from([1, 2, 2, 1]), 2)).toThrow(/not positive definite/);
  });
});

describe('EASE', () => {
  it('equals, column by column, the ridge regression of each item on all the others', () => {
    const x = randomMatrix(40, 9, 0.35, 11);
    const lambda = 2.5;
    const m = fitEase(x, { ...DEFAULT_FIT_PARAMS, lambda });
    const n = m.top.length;
    expect(n).toBe(9);
    const d = dense(x);
    // For item j: minimise ||X_j - X_{-j} b||² + λ||b||² -> (X_{-j}ᵀX_{-j} + λI) b = X_{-j}ᵀ X_j.
    for (let pj = 0; pj < n; pj++) {
      const j = m.top[pj]!;
      const others = [...m.top].filter((i) => i !== j);
      const q = others.length;
      const a = new Float64Array(q * q);
      const rhs = new Float64Array(q);
      for (let s = 0; s < q; s++) {
        for (let t = 0; t < q; t++) {
          let g = 0;
          for (let u = 0; u < x.rows; u++) g += d[u * x.cols + others[s]!]! * d[u * x.cols + others[t]!]!;
          a[s * q + t] = g + (s === t ? lambda : 0);
        }
        let g = 0;
        for (let u = 0; u < x.rows; u++) g += d[u * x.cols + others[s]!]! * d[u * x.cols + j]!;
        rhs[s] = g;
      }
      const inv = gaussJordanInverse(a, q);
      for (let s = 0; s < q; s++) {
        let b = 0;
        for (let t = 0; t < q; t++) b += inv[s * q + t]! * rhs[t]!;
        const ps = [...m.top].indexOf(others[s]!);
        expect(m.weights[ps * n + pj]).toBeCloseTo(b, 5);
      }
      expect(m.weights[pj * n + pj]).toBe(0);
    }
  });

  it('scores an entity as its history times B and recommends the item its neighbours share', () => {
    // Users 0-9 buy items {0, 1, 2}; user 10 has {0, 1}: item 2 should come first.
    const row: number[] = [];
    const col: number[] = [];
    const add = (u: number, i: number) => {
      row.push(u);
      col.push(i);
    };
    for (let u = 0; u < 10; u++) for (const i of [0, 1, 2]) add(u, i);
    for (let u = 10; u < 20; u++) for (const i of [3, 4]) add(u, i);
    row.push(20, 20);
    col.push(0, 1);
    const x = csrFromTriples(
      21,
      5,
      Uint32Array.from(row),
      Uint32Array.from(col),
      new Float64Array(row.length).fill(1),
    );
    const m = fitModel('ease', x, { ...DEFAULT_FIT_PARAMS, lambda: 1 }) as EaseModel;
    const scores = scoreItems(m, [0, 1], [1, 1]);
    const best = topK(scores, 1, (i) => i === 0 || i === 1);
    expect(best).toEqual([2]);
    // Score of item 2 = B[0][2] + B[1][2].
    const n = m.top.length;
    const p = (i: number) => [...m.top].indexOf(i);
    expect(scores[2]).toBeCloseTo(m.weights[p(0) * n + p(2)]! + m.weights[p(1) * n + p(2)]!, 6);
  });

  it('restricts the modelled catalogue to the max_items most popular items', () => {
    const x = randomMatrix(60, 30, 0.2, 5);
    const m = fitEase(x, { ...DEFAULT_FIT_PARAMS, maxItems: 10 });
    expect(m.top.length).toBe(10);
    const support = m.popularity;
    const cut = Math.min(...[...m.top].map((i) => support[i]!));
    for (let i = 0; i < 30; i++) if (![...m.top].includes(i)) expect(support[i]).toBeLessThanOrEqual(cut);
    const scores = scoreItems(m, [m.top[0]!], [1]);
    for (let i = 0; i < 30; i++)
      if (![...m.top].includes(i)) expect(scores[i]).toBe(Number.NEGATIVE_INFINITY);
  });
});

describe('item-kNN', () => {
  it('keeps the shrunk cosine similarities computed by hand', () => {
    const x = randomMatrix(30, 6, 0.4, 8);
    const shrink = 3;
    const m = fitItemKnn(x, { ...DEFAULT_FIT_PARAMS, neighbours: 5, shrink });
    const d = dense(x);
    const col = (i: number) => Array.from({ length: x.rows }, (_, u) => d[u * x.cols + i]!);
    const dot = (a: number[], b: number[]) => a.reduce((s, v, k) => s + v * b[k]!, 0);
    for (let p = 0; p < m.top.length; p++) {
      for (let q = 0; q < m.k; q++) {
        const nb = m.neighbours[p * m.k + q]!;
        if (nb < 0) continue;
        const a = col(m.top[p]!);
        const b = col(m.top[nb]!);
        const c = dot(a, b);
        const expected = (c / Math.sqrt(dot(a, a) * dot(b, b))) * (c / (c + shrink));
        expect(m.similarities[p * m.k + q]).toBeCloseTo(expected, 5);
      }
      // Neighbours are ordered by similarity, best first.
      for (let q = 1; q < m.k && m.neighbours[p * m.k + q]! >= 0; q++) {
        expect(m.similarities[p * m.k + q]!).toBeLessThanOrEqual(m.similarities[p * m.k + q - 1]!);
      }
    }
  });
});

describe('popularity and topK', () => {
  it('ranks by support, ties by item index, skipping excluded items', () => {
    const x = csrFromTriples(
      4,
      4,
      Uint32Array.from([0, 1, 2, 0, 1, 3]),
      Uint32Array.from([2, 2, 2, 1, 1, 3]),
      new Float64Array(6).fill(1),
    );
    const m = fitModel('popularity', x);
    expect([...m.popularity]).toEqual([0, 2, 3, 1]);
    expect(topK(scoreItems(m, [], []), 3)).toEqual([2, 1, 3]);
    expect(topK(scoreItems(m, [], []), 2, (i) => i === 2)).toEqual([1, 3]);
  });

  it('sums repeated events into one cell and applies the transform', () => {
    const x = csrFromTriples(
      2,
      3,
      Uint32Array.from([0, 0, 0, 1]),
      Uint32Array.from([2, 0, 2, 1]),
      Float64Array.from([1, 1, 2, 0]),
      Math.log1p,
    );
    expect([...x.indptr]).toEqual([0, 2, 2]);
    expect([...x.indices]).toEqual([0, 2]);
    expect(x.values[0]).toBeCloseTo(Math.log1p(1), 12);
    expect(x.values[1]).toBeCloseTo(Math.log1p(3), 12);
  });
});

describe('ranking metrics', () => {
  it('Recall@K, NDCG@K and AP@K match the values computed by hand', () => {
    // Ranked [3, 1, 7], relevant {1, 7, 9}, K = 3: hits at ranks 2 and 3.
    const s = rankingScores([3, 1, 7], new Set([1, 7, 9]), 3);
    expect(s.recall).toBeCloseTo(2 / 3, 12);
    const dcg = 1 / Math.log2(3) + 1 / Math.log2(4);
    const idcg = 1 + 1 / Math.log2(3) + 1 / Math.log2(4);
    expect(s.ndcg).toBeCloseTo(dcg / idcg, 12);
    expect(s.ap).toBeCloseTo((1 / 2 + 2 / 3) / 3, 12);
  });

  it('a perfect list scores 1 even when more items are relevant than K', () => {
    const s = rankingScores([4, 5], new Set([4, 5, 6, 7]), 2);
    expect(s).toEqual({ recall: 1, ndcg: 1, ap: 1 });
    expect(rankingScores([1, 2], new Set([3]), 2)).toEqual({ recall: 0, ndcg: 0, ap: 0 });
  });
});

describe('model file', () => {
  it('round-trips an EASE model with histories through its binary form', () => {
    const x = randomMatrix(12, 7, 0.4, 21);
    const model = fitEase(x, { ...DEFAULT_FIT_PARAMS, lambda: 3 });
    const f: RecsFile = {
      card: {
        name: 'm',
        version: 2,
        algorithm: 'ease',
        params: DEFAULT_FIT_PARAMS,
        weighting: { weight: 'count', scale: 'log' },
        trainedAt: '2025-01-01T00:00:00.000Z',
        asOf: '2025-01-01T00:00:00.000Z',
        events: 1,
        entities: 12,
        items: 7,
        modelledItems: model.top.length,
        trainSeconds: 0,
        definitionHash: 'x',
      },
      entities: Array.from({ length: 12 }, (_, i) => `E${i}`),
      items: Array.from({ length: 7 }, (_, i) => `I${i}`),
      model,
      history: x,
    };
    const back = decodeRecsFile(encodeRecsFile(f));
    expect(back.card).toEqual(f.card);
    expect(back.entities).toEqual(f.entities);
    const m2 = back.model as EaseModel;
    expect([...m2.weights]).toEqual([...model.weights]);
    expect([...m2.top]).toEqual([...model.top]);
    expect([...back.history.indices]).toEqual([...x.indices]);
    expect(() => decodeRecsFile(Buffer.from('not a model'))).toThrow(/not a tagverse.recs/);
  });
});
