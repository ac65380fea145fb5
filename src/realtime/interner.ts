/**
 * Interning of repeated text values, so millions of events share a few hundred strings (merchants,
 * categories, channels) instead of one copy each. Used by the start load and by the evaluation worker
 * (whose posted strings arrive as copies). Past 100,000 distinct values (free text) new ones are kept
 * as they are.
 */
export class Interner {
  private readonly seen = new Map<string, string>();
  get(s: string): string {
    let v = this.seen.get(s);
    if (v === undefined) {
      if (this.seen.size > 100_000) return s;
      this.seen.set(s, s);
      v = s;
    }
    return v;
  }
}
