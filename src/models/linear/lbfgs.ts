/**
 * Limited-memory BFGS (Nocedal & Wright, Algorithm 7.4 with the two-loop recursion) for smooth convex
 * objectives, with a backtracking line search on the Armijo condition. Our objectives are L2-penalised
 * (strictly convex), so every accepted step has s'y > 0 and the curvature pairs stay valid.
 */

export interface LbfgsOptions {
  /** Curvature pairs kept (default 10). */
  readonly memory?: number;
  readonly maxIterations?: number;
  /** Stop when the largest gradient component is below tolerance x max(1, |f|). */
  readonly tolerance?: number;
}

export interface LbfgsResult {
  readonly x: Float64Array;
  readonly value: number;
  readonly iterations: number;
  readonly converged: boolean;
  readonly gradientNorm: number;
}

/** `fg(x, grad)` returns f(x) and writes the gradient into grad. */
export type Objective = (x: Float64Array, grad: Float64Array) => number;

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/**
 * Minimise a smooth convex function.
 * @example
 *   const r = lbfgs((x, g) => { g[0] = 2 * (x[0]! - 3); return (x[0]! - 3) ** 2; }, new Float64Array(1));
 *   // r.x[0] ≈ 3
 */
export function lbfgs(fg: Objective, x0: Float64Array, opts: LbfgsOptions = {}): LbfgsResult {
  const m = opts.memory ?? 10;
  const maxIter = opts.maxIterations ?? 500;
  const tol = opts.tolerance ?? 1e-7;
  const n = x0.length;
  const x = Float64Array.from(x0);
  const g = new Float64Array(n);
  let f = fg(x, g);
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const d = new Float64Array(n);
  const xNew = new Float64Array(n);
  const gNew = new Float64Array(n);
  const alpha = new Float64Array(m);
  let iter = 0;
  let converged = maxAbs(g) <= tol * Math.max(1, Math.abs(f));
  while (!converged && iter < maxIter) {
    // Two-loop recursion: d = -H g.
    d.set(g);
    for (let i = S.length - 1; i >= 0; i--) {
      alpha[i] = rho[i]! * dot(S[i]!, d);
      const y = Y[i]!;
      const a = alpha[i]!;
      for (let j = 0; j < n; j++) d[j]! -= a * y[j]!;
    }
    if (S.length > 0) {
      const last = S.length - 1;
      const gamma = dot(S[last]!, Y[last]!) / dot(Y[last]!, Y[last]!);
      for (let j = 0; j < n; j++) d[j]! *= gamma;
    } else {
      const norm = Math.sqrt(dot(g, g));
      for (let j = 0; j < n; j++) d[j]! /= Math.max(norm, 1);
    }
    for (let i = 0; i < S.length; i++) {
      const b = rho[i]! * dot(Y[i]!, d);
      const s = S[i]!;
      const c = alpha[i]! - b;
      for (let j = 0; j < n; j++) d[j]! += c * s[j]!;
    }
    for (let j = 0; j < n; j++) d[j] = -d[j]!;
    let slope = dot(g, d);
    if (slope >= 0) {
      // Not a descent direction (numerical trouble): restart from steepest descent.
      S.length = 0;
      Y.length = 0;
      rho.length = 0;
      for (let j = 0; j < n; j++) d[j] = -g[j]!;
      slope = dot(g, d);
    }
    // Backtracking line search (Armijo).
    let step = 1;
    let fNew = Number.POSITIVE_INFINITY;
    for (let tries = 0; tries < 60; tries++) {
      for (let j = 0; j < n; j++) xNew[j] = x[j]! + step * d[j]!;
      fNew = fg(xNew, gNew);
      if (Number.isFinite(fNew) && fNew <= f + 1e-4 * step * slope) break;
      step *= 0.5;
    }
    if (!(fNew <= f + 1e-4 * step * slope)) break; // no progress possible at this precision
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      s[j] = xNew[j]! - x[j]!;
      y[j] = gNew[j]! - g[j]!;
    }
    const sy = dot(s, y);
    if (sy > 1e-12) {
      if (S.length === m) {
        S.shift();
        Y.shift();
        rho.shift();
      }
      S.push(s);
      Y.push(y);
      rho.push(1 / sy);
    }
    const progress = Math.abs(f - fNew);
    x.set(xNew);
    g.set(gNew);
    f = fNew;
    iter++;
    converged = maxAbs(g) <= tol * Math.max(1, Math.abs(f)) || progress <= 1e-15 * Math.max(1, Math.abs(f));
  }
  return { x, value: f, iterations: iter, converged, gradientNorm: maxAbs(g) };
}
