/**
 * Profile rows: each entity's profile values side by side in one fixed-size record, a copy of the
 * columns kept in step with them (live.ts writes both).
 *
 * Why: a whole profile reads one value from each of ~100 columns. At 1M entities every column is
 * megabytes long, so those are ~100 cache misses on ~100 different pages, and on a VM every TLB miss
 * is a two-level page walk: ~5 µs of a ~10 µs lookup (bench/serve.bench.ts). A record puts the same
 * values on one or two pages, a few cache lines that the hardware prefetches together. Segments keep
 * reading the columns and bitmaps; only profile lookups read the rows. The price is memory: the record
 * size per entity (8 bytes a number, 4 a dictionary code, 1 a boolean, 9 a list's range and flag).
 *
 * Records live in chunks of 65,536 entities, so growing the store (real time adds entities) adds
 * chunks and never copies full ones (only the last, while it is smaller than a chunk). Within a record, 8-byte values come first, then 4-byte,
 * then 1-byte, so each value is aligned for its typed-array view.
 *
 * A list's record holds its range in the list column (start, end) and whether it is null; the items
 * and scores stay in the column.
 */
import type { ListItem } from '../lang/functions.js';
import { type Column, isoDate, isoFromMicros, type ListColumn, NULL_BOOL } from './columns.js';

/** Entities per chunk (a power of two: chunk = ordinal >>> CHUNK_BITS). */
export const CHUNK_BITS = 16;
const CHUNK = 1 << CHUNK_BITS;
const LOW = CHUNK - 1;
/** Entities copied from the columns at a time when rows are built (a tile that stays in cache). */
const TILE = 256;

/** One chunk's records, seen as each value width. */
interface Chunk {
  readonly f64: Float64Array;
  readonly i32: Int32Array;
  readonly u32: Uint32Array;
  readonly u8: Uint8Array;
}

/** One entity's record: its chunk's views and its first element in each. */
export interface RowCursor {
  f64: Float64Array;
  i32: Int32Array;
  u32: Uint32Array;
  u8: Uint8Array;
  b8: number;
  b4: number;
  b1: number;
}

/**
 * Where a column's value sits in a record, in elements of the view its kind reads:
 * numbers in `f64`, string codes in `i32`, list start (and end at `at + 1`) in `u32`, booleans and a
 * list's non-null flag (`flag`) in `u8`.
 */
export interface RowSlot {
  readonly col: Column;
  readonly at: number;
  /** Lists: the byte of the non-null flag. */
  readonly flag: number;
}

export class ProfileRows {
  /** Record size in bytes (a multiple of 8). */
  readonly stride: number;
  private readonly stride8: number;
  private readonly stride4: number;
  private readonly chunks: Chunk[] = [];
  private readonly slots: Map<Column, RowSlot>;
  /** Entities with a record, and records allocated. */
  private count = 0;
  private capacity = 0;
  private readonly cursor: RowCursor;
  private readonly lists: readonly RowSlot[];

  /** Records for `n` entities, copied from the columns. */
  constructor(columns: readonly Column[], n: number) {
    const wide = columns.filter((c) => c.kind === 'number');
    const mid = columns.filter((c) => c.kind === 'string' || c.kind === 'list');
    let bytes = 8 * wide.length;
    const slots = new Map<Column, RowSlot>();
    for (let k = 0; k < wide.length; k++) slots.set(wide[k]!, { col: wide[k]!, at: k, flag: -1 });
    let at4 = bytes / 4;
    for (const col of mid) {
      slots.set(col, { col, at: at4, flag: -1 });
      at4 += col.kind === 'list' ? 2 : 1;
    }
    bytes = at4 * 4;
    for (const col of columns) {
      if (col.kind === 'boolean') slots.set(col, { col, at: bytes++, flag: -1 });
      else if (col.kind === 'list') slots.set(col, { ...slots.get(col)!, flag: bytes++ });
    }
    this.stride = Math.max(8, Math.ceil(bytes / 8) * 8);
    this.stride8 = this.stride / 8;
    this.stride4 = this.stride / 4;
    this.slots = slots;
    this.lists = [...slots.values()].filter((x) => x.col.kind === 'list');
    const none = new ArrayBuffer(0);
    this.cursor = {
      f64: new Float64Array(none),
      i32: new Int32Array(none),
      u32: new Uint32Array(none),
      u8: new Uint8Array(none),
      b8: 0,
      b4: 0,
      b1: 0,
    };
    // Allocates the records and copies every column into them.
    this.grow(n);
  }

  /** Where `col`'s values are, when it has a place in the records. */
  slotOf(col: Column): RowSlot | undefined {
    return this.slots.get(col);
  }

  /** Records for ordinals up to n - 1 (new ones are filled by `copy` as their values are set). */
  grow(n: number): void {
    // Chunks before the last are full; the last holds what is needed and grows by half (copied) up to
    // a full chunk, so a small store does not carry 65,536 records.
    while (this.capacity < n) {
      const last = this.chunks[this.chunks.length - 1];
      const lastRecords = last ? last.u8.length / this.stride : CHUNK;
      if (last && lastRecords < CHUNK) {
        const want = n - (this.chunks.length - 1) * CHUNK;
        const records = Math.min(CHUNK, Math.max(want, Math.ceil(lastRecords * 1.5) + 1024));
        const next = chunkOf(records * this.stride);
        next.u8.set(last.u8);
        this.chunks[this.chunks.length - 1] = next;
        this.capacity += records - lastRecords;
      } else {
        const records = Math.min(CHUNK, n - this.chunks.length * CHUNK);
        this.chunks.push(chunkOf(records * this.stride));
        this.capacity += records;
      }
    }
    if (n > this.count) {
      const from = this.count;
      this.count = n;
      // New entities hold null everywhere until real time writes their values.
      this.copyRange([...this.slots.values()], from, n);
    }
  }

  /** Copy entity `o`'s value in `col` into its record (after the column changed). */
  copy(col: Column, o: number): void {
    const slot = this.slots.get(col);
    // One value (real time's hot path): the tile loop with its bounds is for many.
    if (slot) this.copyTile(slot, o, o + 1);
  }

  /** Copy a whole column again (after its lists were packed anew). */
  copyColumn(col: Column): void {
    const slot = this.slots.get(col);
    if (slot) this.copyRange([slot], 0, this.count);
  }

  /**
   * Point the cursor at entity `o`'s record and return it. There is one cursor per set of rows: read
   * it before the next `seek` (profile writing is synchronous).
   */
  seek(o: number): RowCursor {
    const c = this.chunks[o >>> CHUNK_BITS]!;
    const r = this.cursor;
    const i = o & LOW;
    r.f64 = c.f64;
    r.i32 = c.i32;
    r.u32 = c.u32;
    r.u8 = c.u8;
    r.b8 = i * this.stride8;
    r.b4 = i * this.stride4;
    r.b1 = i * this.stride;
    return r;
  }

  /**
   * Read one value in each cache line of the record the cursor points at, so the lines load together
   * rather than one after another as a profile prints (returns a sum so the reads are kept).
   */
  touch(r: RowCursor): number {
    let s = r.u8[r.b1 + this.stride - 1]!;
    for (let k = 0; k < this.stride8; k += 8) s += r.f64[r.b8 + k]!;
    // And the first item of each list (the items are in the list column).
    const lists = this.lists;
    for (let k = 0; k < lists.length; k++) {
      const slot = lists[k]!;
      const from = r.u32[r.b4 + slot.at]!;
      if (from < r.u32[r.b4 + slot.at + 1]!) {
        const col = slot.col as ListColumn;
        s += col.items[from]! + col.scores[from]!;
      }
    }
    return s;
  }

  /** Every chunk's bytes (the warmer reads them). */
  buffers(): Uint8Array[] {
    return this.chunks.map((c) => c.u8);
  }

  /** Copy the values of ordinals [from, to) in the given columns, a tile of entities at a time. */
  private copyRange(slots: readonly RowSlot[], from: number, to: number): void {
    // Tiles end at multiples of TILE, so none spans two chunks.
    for (let t = from; t < to; ) {
      const end = Math.min(to, (t & ~(TILE - 1)) + TILE);
      for (const s of slots) this.copyTile(s, t, end);
      t = end;
    }
  }

  private copyTile(s: RowSlot, from: number, to: number): void {
    const col = s.col;
    // Ordinals past the column's length (a column not yet grown) hold null.
    const have = Math.max(from, Math.min(to, columnLength(col)));
    const c = this.chunks[from >>> CHUNK_BITS]!;
    const first = from & LOW;
    switch (col.kind) {
      case 'number': {
        const out = c.f64;
        const w = this.stride8;
        for (let o = from; o < to; o++)
          out[(first + o - from) * w + s.at] = o < have ? col.values[o]! : Number.NaN;
        return;
      }
      case 'string': {
        const out = c.i32;
        const w = this.stride4;
        for (let o = from; o < to; o++) out[(first + o - from) * w + s.at] = o < have ? col.codes[o]! : -1;
        return;
      }
      case 'boolean': {
        const out = c.u8;
        const w = this.stride;
        for (let o = from; o < to; o++)
          out[(first + o - from) * w + s.at] = o < have ? col.values[o]! : NULL_BOOL;
        return;
      }
      case 'list': {
        for (let o = from; o < to; o++) {
          const i = first + o - from;
          const b = i * this.stride4 + s.at;
          const inCol = o < have;
          c.u32[b] = inCol ? col.starts[o]! : 0;
          c.u32[b + 1] = inCol ? col.ends[o]! : 0;
          c.u8[i * this.stride + s.flag] = inCol && listNonNull(col, o) ? 1 : 0;
        }
        return;
      }
    }
  }
}

function chunkOf(bytes: number): Chunk {
  const buf = new ArrayBuffer(bytes);
  return {
    f64: new Float64Array(buf),
    i32: new Int32Array(buf),
    u32: new Uint32Array(buf),
    u8: new Uint8Array(buf),
  };
}

function columnLength(col: Column): number {
  switch (col.kind) {
    case 'boolean':
    case 'number':
      return col.values.length;
    case 'string':
      return col.codes.length;
    case 'list':
      return col.starts.length;
  }
}

/** A list is null when it has no items and its entity is not in nonNull (asking the bitmap is a native call). */
function listNonNull(col: ListColumn, o: number): boolean {
  return col.starts[o]! < col.ends[o]! || col.nonNull.has(o);
}

/** The JSON value of a record's slot, as `jsonValue` gives it from the column. */
export function rowJsonValue(slot: RowSlot, r: RowCursor): unknown {
  const col = slot.col;
  switch (col.kind) {
    case 'number': {
      const v = r.f64[r.b8 + slot.at]!;
      if (Number.isNaN(v)) return null;
      if (col.valueType === 'time') return isoFromMicros(v);
      if (col.valueType === 'date') return isoDate(v);
      return v;
    }
    case 'string': {
      const c = r.i32[r.b4 + slot.at]!;
      return c < 0 ? null : col.dict[c]!;
    }
    case 'boolean': {
      const v = r.u8[r.b1 + slot.at]!;
      return v === NULL_BOOL ? null : v === 1;
    }
    case 'list': {
      if (r.u8[r.b1 + slot.flag] === 0) return null;
      const out: ListItem[] = [];
      for (let k = r.u32[r.b4 + slot.at]!, end = r.u32[r.b4 + slot.at + 1]!; k < end; k++) {
        out.push({ value: col.dict[col.items[k]!]!, score: col.scores[k]! });
      }
      return out;
    }
  }
}
