/** Levenshtein distance, two-row dynamic programming (inputs are short names). */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  let cur = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}

/**
 * The candidate closest to `name`, if it is close enough to be a plausible typo
 * (distance at most a third of the name's length, at least 1; case differences and one name being a
 * prefix of the other count as near).
 */
export function didYouMean(name: string, candidates: Iterable<string>): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDist = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const cl = c.toLowerCase();
    const prefix = Math.min(cl.length, lower.length) >= 3 && (cl.startsWith(lower) || lower.startsWith(cl));
    const d = cl === lower ? 0.5 : prefix ? 1 : editDistance(lower, cl);
    if (d < bestDist) {
      bestDist = d;
      best = c;
    }
  }
  const limit = Math.max(1, Math.floor(name.length / 3));
  return bestDist <= limit ? best : undefined;
}

/** ` (did you mean 'x'?)` or an empty string. */
export function didYouMeanSuffix(name: string, candidates: Iterable<string>): string {
  const s = didYouMean(name, candidates);
  return s === undefined ? '' : ` (did you mean '${s}'?)`;
}
