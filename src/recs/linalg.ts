/**
 * Dense linear algebra on row-major Float64Arrays, just what the recommenders need: the inverse of a
 * symmetric positive definite matrix (EASE inverts the regularised item Gram matrix) by Cholesky.
 * n x n matrices: element (i, j) is a[i * n + j].
 */
import { TagverseError } from '../util/problems.js';

/**
 * In place: the lower Cholesky factor L of a symmetric positive definite `a` (a = L Lᵀ); the upper
 * triangle is zeroed. Throws when `a` is not positive definite.
 */
export function choleskyInPlace(a: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) {
    const rowJ = j * n;
    let d = a[rowJ + j]!;
    for (let k = 0; k < j; k++) d -= a[rowJ + k]! * a[rowJ + k]!;
    if (!(d > 0)) {
      throw new TagverseError(
        'recs.not_positive_definite',
        `the matrix is not positive definite (pivot ${j})`,
      );
    }
    const ljj = Math.sqrt(d);
    a[rowJ + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      const rowI = i * n;
      let s = a[rowI + j]!;
      for (let k = 0; k < j; k++) s -= a[rowI + k]! * a[rowJ + k]!;
      a[rowI + j] = s / ljj;
    }
    for (let k = j + 1; k < n; k++) a[rowJ + k] = 0;
  }
}

/** The inverse of a symmetric positive definite matrix (a is left unchanged). */
export function spdInverse(a: Float64Array, n: number): Float64Array {
  const l = a.slice();
  choleskyInPlace(l, n);
  // w = L⁻¹ (lower triangular), row by row: w[i][j] = -(Σ_{j<=k<i} l[i][k] w[k][j]) / l[i][i], the
  // sum accumulated over k in contiguous rows of w.
  const w = new Float64Array(n * n);
  const acc = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const rowI = i * n;
    acc.fill(0, 0, i);
    for (let k = 0; k < i; k++) {
      const lik = l[rowI + k]!;
      if (lik === 0) continue;
      const rowK = k * n;
      for (let j = 0; j <= k; j++) acc[j]! += lik * w[rowK + j]!;
    }
    const lii = l[rowI + i]!;
    for (let j = 0; j < i; j++) w[rowI + j] = -acc[j]! / lii;
    w[rowI + i] = 1 / lii;
  }
  // a⁻¹ = L⁻ᵀ L⁻¹ = wᵀ w: (i, j) = Σ_k w[k][i] w[k][j], k >= max(i, j). Symmetric: fill both halves.
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const rowK = k * n;
    for (let i = 0; i <= k; i++) {
      const wki = w[rowK + i]!;
      if (wki === 0) continue;
      const rowI = i * n;
      for (let j = 0; j <= i; j++) out[rowI + j]! += wki * w[rowK + j]!;
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) out[j * n + i] = out[i * n + j]!;
  return out;
}
