/** Link functions between margins (log-odds) and probabilities. */

export function sigmoid(m: number): number {
  return 1 / (1 + Math.exp(-m));
}

/** Log-odds of a probability, clamped away from 0 and 1. */
export function logit(p: number, eps = 1e-6): number {
  const q = Math.min(1 - eps, Math.max(eps, p));
  return Math.log(q / (1 - q));
}
