/**
 * The messageIds of the dedupe window, each with the log seq of its first acceptance.
 *
 * Ids are kept in acceptance order (a Map keeps insertion order), so expiry pops from the front,
 * with their acceptance times in a parallel queue: one Map entry and one number per id, not an object.
 * At most `maxIds` are kept: beyond that the oldest are forgotten before the window ends (counted in
 * `evicted`), so a sustained high rate shortens the window instead of exhausting memory.
 */
export class Deduper {
  private readonly seqs = new Map<string, number>();
  /** Acceptance times (epoch ms), in the Map's order: a queue whose head moves forward. */
  private times: number[] = [];
  private head = 0;
  /** Ids forgotten before their window ended, because of the cap. */
  evicted = 0;

  constructor(
    private readonly windowMs: number,
    private readonly maxIds: number,
  ) {
    if (!(maxIds >= 1)) throw new RangeError(`the dedupe cap must be at least 1, got ${maxIds}`);
  }

  /** The seq an id was first accepted with, while it is remembered. */
  seqOf(id: string): number | undefined {
    return this.seqs.get(id);
  }

  /** Remember an id (an id already remembered keeps its first seq and place). */
  add(id: string, seq: number, at: number): void {
    if (this.seqs.has(id)) return;
    this.seqs.set(id, seq);
    this.times.push(at);
    if (this.seqs.size > this.maxIds) {
      this.dropOldest(this.seqs.size - this.maxIds);
      this.evicted++;
    }
  }

  /** Forget ids accepted at or before `now - window`. */
  expire(now: number): void {
    const limit = now - this.windowMs;
    let n = 0;
    while (this.head + n < this.times.length && this.times[this.head + n]! <= limit) n++;
    this.dropOldest(n);
  }

  get size(): number {
    return this.seqs.size;
  }

  /** Acceptance time of the oldest id remembered (epoch ms), if any. */
  get oldestAt(): number | undefined {
    return this.head < this.times.length ? this.times[this.head] : undefined;
  }

  private dropOldest(n: number): void {
    if (n <= 0) return;
    const keys = this.seqs.keys();
    for (let i = 0; i < n; i++) {
      const k = keys.next();
      if (k.done) break;
      this.seqs.delete(k.value);
    }
    this.head += n;
    // Compact the queue once most of it is behind the head.
    if (this.head > 4096 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
  }
}
