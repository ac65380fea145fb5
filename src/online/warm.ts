/**
 * Keeping a served store's memory resident where the machine takes idle memory back.
 *
 * On some virtual machines (this project's benchmark VM among them) memory the guest has not touched
 * for a while is reclaimed by the host, and the next read of such a page stalls until the host gives
 * it back: about 7 µs a page right after a snapshot is read, and single pages taking milliseconds after
 * a minute idle. A profile lookup reads the record of a random entity (and segments read columns and
 * bitmaps), so a 1M-entity store is mostly pages touched rarely, and those stalls land in the slowest
 * requests (a bare server sending the same bytes has no store to stall on).
 *
 * So the store's typed arrays and its entity index are read once after loading (before the store is
 * served: ~1.5 s for 1M entities x 100 tags on that VM, paid at start instead of by the first requests),
 * and the typed arrays again continuously in small steps: one byte per 4 KB page, a slice of pages per
 * step, the whole store once per `periodMs`. A step is a few hundred µs, so it never holds the event
 * loop up the way one sweep of 760 MB (~40 ms) would. (Looking every id up again each period as well
 * cost 4% of a core at 1M entities, with no difference in the latencies measured.) A pass reads the
 * arrays the store had when the pass began: arrays real time replaced meanwhile stay alive until the
 * pass ends (one period at most).
 */
import type { TagStore } from './store.js';

const PAGE = 4096;
/** Pages and ids read between two yields of `touchAllSoon` (about a millisecond each on a cold store). */
const SLICE_PAGES = 256;
const SLICE_IDS = 10_000;

/** Every typed array a store's columns hold (values, codes, offsets, sorted indexes), and its profile records. */
function arraysOf(store: TagStore): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const columns of [store.tags, store.profiles]) {
    for (const col of columns.values()) {
      for (const v of Object.values(col)) {
        if (ArrayBuffer.isView(v) && v.byteLength > 0)
          out.push(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
      }
    }
  }
  if (store.entityAsOf) out.push(new Uint8Array(store.entityAsOf.buffer));
  out.push(...store.rows.buffers());
  return out;
}

/** Read one byte per page of `a` from page `from` (exclusive end `to`); returns a sum so reads are kept. */
function touch(a: Uint8Array, from: number, to: number): number {
  let s = 0;
  for (let p = from; p < to; p++) s += a[p * PAGE]!;
  return s;
}

export class StoreWarmer {
  private arrays: Uint8Array[] = [];
  private pages = 0;
  private array = 0;
  private page = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Bytes read (kept so the reads cannot be optimised away). */
  sum = 0;
  /** Passes over the whole store completed, the pages of one pass and the most pages one step read. */
  passes = 0;
  pagesPerPass = 0;
  maxStepPages = 0;
  /** Pages read by steps (and by `touchAllSoon`) so far. */
  pagesRead = 0;

  constructor(
    private readonly store: () => TagStore,
    private readonly periodMs = 5000,
    private readonly stepMs = 50,
  ) {}

  /** Read every page of `store` once (after it is loaded, before it is served). */
  touchAll(store: TagStore): void {
    for (const a of arraysOf(store)) this.sum += touch(a, 0, Math.ceil(a.length / PAGE));
    for (const id of store.ids) this.sum += store.ordinal(id) ?? 0;
  }

  /**
   * `touchAll` for a store loaded while another is served (a reload): in slices of about a millisecond,
   * yielding to requests between them (one sweep of 1M entities is ~1.5 s on the benchmark VM).
   */
  async touchAllSoon(store: TagStore): Promise<void> {
    const yieldNow = () => new Promise<void>((r) => setImmediate(r));
    for (const a of arraysOf(store)) {
      const end = Math.ceil(a.length / PAGE);
      for (let p = 0; p < end; p += SLICE_PAGES) {
        const to = Math.min(end, p + SLICE_PAGES);
        this.sum += touch(a, p, to);
        this.pagesRead += to - p;
        await yieldNow();
      }
    }
    const ids = store.ids;
    for (let i = 0; i < ids.length; i += SLICE_IDS) {
      for (let k = i; k < Math.min(ids.length, i + SLICE_IDS); k++) this.sum += store.ordinal(ids[k]!) ?? 0;
      await yieldNow();
    }
  }

  /** Read every page once now (after a load), then keep going in steps. */
  start(): void {
    this.touchAll(this.store());
    this.reset();
    this.timer = setInterval(() => this.step(), this.stepMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The store's arrays as they are now (a reload swaps stores; real time grows columns). */
  private reset(): void {
    this.arrays = arraysOf(this.store());
    this.pages = this.arrays.reduce((n, a) => n + Math.ceil(a.length / PAGE), 0);
    this.pagesPerPass = this.pages;
    this.array = 0;
    this.page = 0;
  }

  private step(): void {
    const pages = Math.ceil((this.pages * this.stepMs) / this.periodMs);
    this.maxStepPages = Math.max(this.maxStepPages, pages);
    let budget = pages;
    while (budget > 0) {
      if (this.array >= this.arrays.length) {
        // A pass ends: the next one reads the store as it is now.
        this.passes++;
        this.reset();
        if (this.arrays.length === 0) return;
      }
      const a = this.arrays[this.array]!;
      const end = Math.ceil(a.length / PAGE);
      const to = Math.min(end, this.page + budget);
      this.sum += touch(a, this.page, to);
      this.pagesRead += to - this.page;
      budget -= to - this.page;
      this.page = to;
      if (this.page >= end) {
        this.array++;
        this.page = 0;
      }
    }
  }
}
