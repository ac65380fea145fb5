/**
 * Where transactions live between simulation and writing, as compact typed-array columns.
 *
 * A customer's events collect in `CustomerEvents` (in any order), are then sorted by time, made
 * strictly increasing (two payments of one customer never share a second, so (ts, customer) orders
 * all rows totally) and appended to the `MonthBucket` of their Korean calendar month. Buckets grow in
 * fixed-size chunks, so there is no doubling spike; a row takes 20 bytes.
 */
import type { Calendar } from './calendar.js';

const DAY = 86_400;

/** Scratch columns for one customer, reused across customers. */
export class CustomerEvents {
  n = 0;
  t = new Int32Array(1024);
  merchant = new Int32Array(1024);
  amount = new Int32Array(1024);
  original = new Int32Array(1024);
  private keys = new Float64Array(1024);

  reset(): void {
    this.n = 0;
  }

  /**
   * t: seconds since the window start; amount: billed KRW; original: amount in the merchant's currency,
   * in minor units (cents for USD, yen for JPY).
   */
  push(t: number, merchant: number, amount: number, original: number): void {
    if (this.n === this.t.length) this.grow();
    const i = this.n++;
    this.t[i] = t;
    this.merchant[i] = merchant;
    this.amount[i] = amount;
    this.original[i] = original;
  }

  private grow(): void {
    const cap = this.t.length * 2;
    const grow = <T extends Int32Array>(a: T) => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    this.t = grow(this.t);
    this.merchant = grow(this.merchant);
    this.amount = grow(this.amount);
    this.original = grow(this.original);
    this.keys = new Float64Array(cap);
  }

  /**
   * Sorts by time, drops events outside [from, to) and moves each event to at least one second after
   * the previous one; appends the result to the month buckets. Returns the number of rows kept.
   */
  flushTo(customer: number, from: number, to: number, cal: Calendar, buckets: MonthBuckets): number {
    const n = this.n;
    const keys = this.keys;
    // Sort (t, insertion index) packed in one double: t < 2^28, index < 2^20, exact below 2^53.
    let k = 0;
    for (let i = 0; i < n; i++) {
      const t = this.t[i] as number;
      if (t >= from && t < to) keys[k++] = t * 1048576 + i;
    }
    const sorted = keys.subarray(0, k).sort();
    let prev = -1;
    let kept = 0;
    for (let j = 0; j < k; j++) {
      const key = sorted[j] as number;
      const i = key % 1048576;
      let t = (key - i) / 1048576;
      if (t <= prev) t = prev + 1;
      if (t >= to) break;
      prev = t;
      const bucket = buckets.month[cal.monthBucket[Math.floor(t / DAY)] as number] as MonthBucket;
      bucket.push(
        customer,
        this.merchant[i] as number,
        t,
        this.amount[i] as number,
        this.original[i] as number,
      );
      kept++;
    }
    return kept;
  }
}

const CHUNK = 1 << 16;
/** Fields per row in a chunk: customer, merchant, t, amount, original. */
export const STRIDE = 5;

/**
 * All transactions of one output month, in chunks of 65,536 rows. A row's five fields sit next to
 * each other (row-major), so reading rows in time order — a random walk over customers — touches one
 * cache line per row instead of five.
 */
export class MonthBucket {
  readonly chunks: Int32Array[] = [];
  length = 0;
  private cur: Int32Array = new Int32Array(0);
  private pos = CHUNK;

  push(customer: number, merchant: number, t: number, amount: number, original: number): void {
    if (this.pos === CHUNK) {
      this.cur = new Int32Array(CHUNK * STRIDE);
      this.chunks.push(this.cur);
      this.pos = 0;
    }
    const o = this.pos++ * STRIDE;
    const c = this.cur;
    c[o] = customer;
    c[o + 1] = merchant;
    c[o + 2] = t;
    c[o + 3] = amount;
    c[o + 4] = original;
    this.length++;
  }

  /**
   * Row order by (t, customer). Rows were appended customer by customer, each customer's in time
   * order, so a stable sort by t alone gives (t, customer) order: two passes of an 11-bit radix sort
   * over the time within the month (< 2^22 seconds).
   */
  order(monthStartT: number): Int32Array {
    const n = this.length;
    const rel = new Int32Array(n);
    for (let r = 0; r < n; r++) {
      const c = this.chunks[r >>> 16] as Int32Array;
      rel[r] = (c[(r & 0xffff) * STRIDE + 2] as number) - monthStartT;
    }
    const low = new Int32Array(n);
    const out = new Int32Array(n);
    const counts = new Int32Array(2049);
    radixPass(rel, null, low, counts, 0);
    radixPass(rel, low, out, counts, 11);
    return out;
  }

  /**
   * Appends `length` rows held in another bucket's chunks (e.g. from a worker thread), in order.
   * `chunks` entries are emptied as they are copied so their memory can go early.
   */
  appendChunks(chunks: (Int32Array | undefined)[], length: number): void {
    let left = length;
    for (let k = 0; k < chunks.length && left > 0; k++) {
      const src = chunks[k] as Int32Array;
      let rows = Math.min(CHUNK, left);
      let from = 0;
      while (rows > 0) {
        if (this.pos === CHUNK) {
          this.cur = new Int32Array(CHUNK * STRIDE);
          this.chunks.push(this.cur);
          this.pos = 0;
        }
        const take = Math.min(rows, CHUNK - this.pos);
        this.cur.set(src.subarray(from * STRIDE, (from + take) * STRIDE), this.pos * STRIDE);
        this.pos += take;
        this.length += take;
        from += take;
        rows -= take;
        left -= take;
      }
      chunks[k] = undefined;
    }
  }

  /** Lets the memory go once the month is written. */
  release(): void {
    this.chunks.length = 0;
    this.cur = new Int32Array(0);
    this.pos = CHUNK;
  }
}

/**
 * One stable counting-sort pass on 11 bits of `keys` (from `shift`), reading rows in the order of
 * `input` (or 0..n-1) and writing the reordered row numbers to `output`.
 */
function radixPass(
  keys: Int32Array,
  input: Int32Array | null,
  output: Int32Array,
  counts: Int32Array,
  shift: number,
): void {
  const n = keys.length;
  counts.fill(0);
  for (let r = 0; r < n; r++) {
    const b = (((keys[r] as number) >>> shift) & 2047) + 1;
    counts[b] = (counts[b] as number) + 1;
  }
  for (let b = 1; b < 2049; b++) counts[b] = (counts[b] as number) + (counts[b - 1] as number);
  for (let j = 0; j < n; j++) {
    const r = input ? (input[j] as number) : j;
    const b = ((keys[r] as number) >>> shift) & 2047;
    const at = counts[b] as number;
    counts[b] = at + 1;
    output[at] = r;
  }
}

export class MonthBuckets {
  readonly month: MonthBucket[];
  constructor(months: number) {
    this.month = Array.from({ length: months }, () => new MonthBucket());
  }
  get total(): number {
    return this.month.reduce((s, m) => s + m.length, 0);
  }
}
