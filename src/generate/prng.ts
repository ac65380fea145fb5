/**
 * A small seeded PRNG (sfc32) with the distributions the world generator needs.
 *
 * Why our own: output must be byte-identical for the same options on every machine and Node version,
 * so nothing may come from Math.random, the clock or thread scheduling. Every customer gets an
 * independent stream derived from (seed, stream kind, index), which is what lets generation be split
 * across worker threads later without changing a single byte.
 */

/** Stream kinds: separate namespaces so that, e.g., customer 3 and merchant 3 never share a stream. */
export const Stream = {
  catalog: 1,
  customer: 2,
} as const;

/** murmur3's 32-bit finaliser: a cheap, well-mixing bijection on uint32. */
function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hashes any number of integers (each reduced to its low 53 bits) into one uint32. */
export function hashInts(...parts: number[]): number {
  let h = 0x6a09e667;
  for (const p of parts) {
    const lo = p >>> 0;
    const hi = Math.floor(p / 4294967296) >>> 0;
    h = fmix32(h ^ lo);
    h = fmix32((h + 0x9e3779b9) ^ hi);
  }
  return h;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare = Number.NaN;

  constructor(seedWord: number) {
    // Expand one 32-bit word into 128 bits of state (splitmix-style), then warm up.
    let s = seedWord >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0;
      return fmix32(s);
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** The independent stream for (seed, kind, index). */
  static derive(seed: number, kind: number, index: number): Rng {
    return new Rng(hashInts(seed, kind, index));
  }

  /** Next uint32 (sfc32 step). */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  intBetween(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  /** Standard normal (Box–Muller; the second value is kept for the next call). */
  normal(): number {
    if (!Number.isNaN(this.spare)) {
      const v = this.spare;
      this.spare = Number.NaN;
      return v;
    }
    const u1 = 1 - this.float(); // (0, 1]: log is finite
    const u2 = this.float();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  }

  /** Lognormal with the given median and log-space standard deviation. */
  lognormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }

  /** Exponential with rate 1. */
  exp(): number {
    return -Math.log(1 - this.float());
  }

  /** Poisson count (Knuth for small means, rounded normal for large ones). */
  poisson(mean: number): number {
    if (mean <= 0) return 0;
    if (mean > 40) return Math.max(0, Math.round(mean + Math.sqrt(mean) * this.normal()));
    const limit = Math.exp(-mean);
    let k = 0;
    let p = this.float();
    while (p > limit) {
      k++;
      p *= this.float();
    }
    return k;
  }

  /** Index drawn from a cumulative weight table (last entry = total). */
  pickCumulative(cumulative: ArrayLike<number>): number {
    const n = cumulative.length;
    const x = this.float() * (cumulative[n - 1] as number);
    // Tables are short (≤ 24 entries in hot paths): a linear scan beats bisection here.
    for (let i = 0; i < n - 1; i++) if (x < (cumulative[i] as number)) return i;
    return n - 1;
  }

  /** Index drawn in proportion to `weights`. */
  pickWeighted(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let x = this.float() * total;
    for (let i = 0; i < weights.length; i++) {
      x -= weights[i] as number;
      if (x < 0) return i;
    }
    return weights.length - 1;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
}

/** Running sums of `weights` as a Float64Array, for `Rng.pickCumulative`. */
export function cumulative(weights: readonly number[]): Float64Array {
  const out = new Float64Array(weights.length);
  let s = 0;
  for (let i = 0; i < weights.length; i++) {
    s += weights[i] as number;
    out[i] = s;
  }
  return out;
}
