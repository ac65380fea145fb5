/**
 * Real-time changes to a served store, in place: new values for some entities (and entities seen for
 * the first time), applied in one synchronous step per batch.
 *
 * What readers can rely on:
 * - A batch is applied between two turns of the event loop, so a request that reads synchronously
 *   (a profile) sees it entirely or not at all. The server applies a batch only while no request that
 *   reads across turns (a segment evaluated in slices) holds the store (StoreHolder.mutate).
 * - Bitmaps are copy-on-write: a bitmap handed out (a segment's members, an index a query holds) never
 *   changes; the column points at a changed copy, made once per batch.
 * - Ordinals never move. New entities are appended (after the built ones, so they are not in id order
 *   until the next build); `all` is replaced by a larger bitmap.
 * - Numeric range indexes (sorted ordinals in buckets) are rebuilt from the values when a query next
 *   needs them, not on every change: values change often, range queries on a column are rarer.
 * - A list is rewritten in place when the new one fits where the old one was, else appended after
 *   the last list; the arrays grow by half when full, and are packed again once as many slots are
 *   stale as in use. A batch costs its edits, not a copy of the column.
 * - Profiles are read from the store's records (rows.ts): every value written to a column is copied
 *   into its entity's record in the same step (a packed list column: every record again).
 */
import type { ListItem, RefValue } from '../lang/functions.js';
import { Bitmap, fullBitmap } from './bitmap.js';
import {
  type BooleanColumn,
  type Column,
  type ListColumn,
  NULL_BOOL,
  type NumberColumn,
  numberColumn,
  packedList,
  type StringColumn,
} from './columns.js';
import type { ProfileRows } from './rows.js';
import type { TagStore } from './store.js';

/** New values of one entity. Tags and profile attributes not named keep their values. */
export interface EntityUpdate {
  readonly id: string;
  readonly tags?: Readonly<Record<string, RefValue>>;
  /** Profile attributes by `source.column`. */
  readonly profiles?: Readonly<Record<string, RefValue>>;
  /** As-of time of the new values (epoch µs). */
  readonly asOf?: number;
}

export interface ApplyResult {
  readonly entitiesAdded: number;
  /** Values that differ from what the store held. */
  readonly valuesChanged: number;
}

type Writable<T> = { -readonly [K in keyof T]: T[K] };

/** Numeric columns whose range index is rebuilt lazily, with the state of that index. */
const lazyIndexes = new WeakMap<
  NumberColumn,
  { dirty: boolean; sorted: Uint32Array; buckets: readonly Bitmap[] }
>();

function markIndexStale(col: NumberColumn): void {
  let state = lazyIndexes.get(col);
  if (!state) {
    state = { dirty: true, sorted: col.sorted, buckets: col.buckets };
    lazyIndexes.set(col, state);
    const s = state;
    const refresh = () => {
      if (!s.dirty) return;
      const fresh = numberColumn(col.valueType, col.values);
      s.sorted = fresh.sorted;
      s.buckets = fresh.buckets;
      s.dirty = false;
    };
    Object.defineProperty(col, 'sorted', {
      get: () => {
        refresh();
        return s.sorted;
      },
      enumerable: true,
      configurable: true,
    });
    Object.defineProperty(col, 'buckets', {
      get: () => {
        refresh();
        return s.buckets;
      },
      enumerable: true,
      configurable: true,
    });
  }
  state.dirty = true;
}

/** Copy-on-write of bitmaps within one batch: each bitmap is copied at most once. */
class Batch {
  private readonly fresh = new Set<Bitmap>();
  changed = 0;

  writable(b: Bitmap): Bitmap {
    if (this.fresh.has(b)) return b;
    const copy = b.clone();
    this.fresh.add(copy);
    return copy;
  }
}

type Growable = Uint8Array | Float64Array | Int32Array | Uint32Array;

/**
 * `a` extended to n elements, the new ones set to `fill`. Arrays are views of length exactly n over a
 * buffer with room to spare (half as large again): entities seen for the first time in a batch cost a
 * new view, not a copy of every column (which, at 1M entities x 100 tags, was ~800 MB per batch that
 * added one). The spare room is filled when allocated, so a longer view needs no writes.
 */
function grow<T extends Growable>(a: T, n: number, fill: number): T {
  if (a.length >= n) return a;
  const Ctor = a.constructor as {
    new (buffer: ArrayBufferLike, byteOffset: number, length: number): T;
    new (length: number): T;
    readonly BYTES_PER_ELEMENT: number;
  };
  const room = (a.buffer.byteLength - a.byteOffset) / Ctor.BYTES_PER_ELEMENT;
  if (room >= n && spare.get(a.buffer) === a.byteOffset + a.length * Ctor.BYTES_PER_ELEMENT) {
    const view = new Ctor(a.buffer, a.byteOffset, n);
    spare.set(a.buffer, a.byteOffset + n * Ctor.BYTES_PER_ELEMENT);
    return view;
  }
  const capacity = Math.max(n, Math.ceil(a.length * 1.5) + 1024);
  const out = new Ctor(capacity);
  out.set(a);
  out.fill(fill, a.length);
  spare.set(out.buffer, n * Ctor.BYTES_PER_ELEMENT);
  return out.subarray(0, n) as T;
}

/**
 * Buffers allocated by grow, and the byte offset up to which views use them: only the view ending
 * there may be extended in place (a buffer from elsewhere, such as a snapshot's, is never reused).
 */
const spare = new WeakMap<ArrayBufferLike, number>();

/** Make room for ordinals up to n - 1 in a column (new ordinals hold null). */
function growColumn(col: Column, n: number): void {
  switch (col.kind) {
    case 'boolean':
      (col as Writable<BooleanColumn>).values = grow(col.values, n, NULL_BOOL);
      return;
    case 'number':
      // New ordinals hold null, which no range index lists: the index stays valid.
      (col as Writable<NumberColumn>).values = grow(col.values, n, Number.NaN);
      return;
    case 'string':
      (col as Writable<StringColumn>).codes = grow(col.codes, n, -1);
      return;
    case 'list': {
      // New ordinals: empty ranges (null: not in nonNull).
      const w = col as Writable<ListColumn>;
      w.starts = grow(col.starts, n, 0);
      w.ends = grow(col.ends, n, 0);
      return;
    }
  }
}

function codeFor(col: StringColumn | ListColumn, v: string): number {
  let code = col.codeOf.get(v);
  if (code === undefined) {
    code = col.dict.length;
    (col.dict as string[]).push(v);
    (col.codeOf as Map<string, number>).set(v, code);
    (col.sets as Bitmap[]).push(new Bitmap());
  }
  return code;
}

function setBit(batch: Batch, b: Bitmap, o: number, on: boolean): Bitmap {
  if (b.has(o) === on) return b;
  const w = batch.writable(b);
  if (on) w.add(o);
  else w.remove(o);
  return w;
}

/** Pending list values of one batch, written at the end (the packed arrays are rebuilt once). */
type ListEdits = Map<ListColumn, Map<number, readonly ListItem[] | null>>;

function setValue(
  col: Column,
  o: number,
  v: RefValue,
  batch: Batch,
  lists: ListEdits,
  rows: ProfileRows,
): void {
  switch (col.kind) {
    case 'boolean': {
      const next = v === null ? NULL_BOOL : v === true ? 1 : v === false ? 0 : NULL_BOOL;
      const prev = col.values[o]!;
      if (prev === next) return;
      col.values[o] = next;
      rows.copy(col, o);
      const w = col as Writable<BooleanColumn>;
      w.trueSet = setBit(batch, col.trueSet, o, next === 1);
      w.falseSet = setBit(batch, col.falseSet, o, next === 0);
      batch.changed++;
      return;
    }
    case 'number': {
      const next = typeof v === 'number' && Number.isFinite(v) ? v : Number.NaN;
      const prev = col.values[o]!;
      if (prev === next || (Number.isNaN(prev) && Number.isNaN(next))) return;
      col.values[o] = next;
      rows.copy(col, o);
      (col as Writable<NumberColumn>).nonNull = setBit(batch, col.nonNull, o, !Number.isNaN(next));
      markIndexStale(col);
      batch.changed++;
      return;
    }
    case 'string': {
      const text = v === null || typeof v === 'object' ? null : String(v);
      const prev = col.codes[o]!;
      const next = text === null ? -1 : codeFor(col, text);
      if (prev === next) return;
      col.codes[o] = next;
      rows.copy(col, o);
      const sets = col.sets as Bitmap[];
      if (prev >= 0) sets[prev] = setBit(batch, sets[prev]!, o, false);
      if (next >= 0) sets[next] = setBit(batch, sets[next]!, o, true);
      (col as Writable<StringColumn>).nonNull = setBit(batch, col.nonNull, o, next >= 0);
      batch.changed++;
      return;
    }
    case 'list': {
      const items = v === null ? null : Array.isArray(v) ? (v as readonly ListItem[]) : null;
      // Compared with the column only when the batch has no edit of it yet: a later update of the same
      // entity in the batch replaces the earlier one, even back to the column's value.
      if (!lists.get(col)?.has(o) && sameList(col, o, items)) return;
      let edits = lists.get(col);
      if (!edits) {
        edits = new Map();
        lists.set(col, edits);
      }
      edits.set(o, items);
      batch.changed++;
      return;
    }
  }
}

function sameList(col: ListColumn, o: number, items: readonly ListItem[] | null): boolean {
  const present = col.nonNull.has(o);
  if (items === null) return !present;
  if (!present) return false;
  const start = col.starts[o]!;
  const end = col.ends[o]!;
  if (end - start !== items.length) return false;
  for (let k = 0; k < items.length; k++) {
    const it = items[k]!;
    if (col.dict[col.items[start + k]!] !== it.value) return false;
    const s = col.scores[start + k]!;
    const t = it.score ?? Number.NaN;
    if (!(s === t || (Number.isNaN(s) && Number.isNaN(t)))) return false;
  }
  return true;
}

/** Where real time writes a list column: the end of the slots in use, and how many of those no list covers. */
interface ListSpace {
  used: number;
  stale: number;
}
const listSpaces = new WeakMap<ListColumn, ListSpace>();

function spaceOf(col: ListColumn): ListSpace {
  let space = listSpaces.get(col);
  if (!space) {
    let used = 0;
    let live = 0;
    for (let o = 0; o < col.starts.length; o++) {
      used = Math.max(used, col.ends[o]!);
      live += col.ends[o]! - col.starts[o]!;
    }
    space = { used, stale: used - live };
    listSpaces.set(col, space);
  }
  return space;
}

/** Room for `need` item slots: new arrays half as large again (the slots in use copied), when full. */
function reserve(col: Writable<ListColumn>, space: ListSpace, need: number): void {
  if (need <= col.items.length) return;
  const capacity = Math.max(need, Math.ceil(col.items.length * 1.5) + 1024);
  const items = new Uint32Array(capacity);
  const scores = new Float64Array(capacity);
  items.set(col.items.subarray(0, space.used));
  scores.set(col.scores.subarray(0, space.used));
  col.items = items;
  col.scores = scores;
}

/** Pack the lists again in entity order, with room to append a quarter more. */
function repack(col: Writable<ListColumn>, space: ListSpace): void {
  const live = space.used - space.stale;
  const packed = packedList(col, Math.max(1024, Math.ceil(live / 4)));
  const n = col.starts.length;
  for (let o = 0; o < n; o++) {
    col.starts[o] = packed.offsets[o]!;
    col.ends[o] = packed.offsets[o + 1]!;
  }
  col.items = packed.items;
  col.scores = packed.scores;
  space.used = packed.offsets[n]!;
  space.stale = 0;
}

/**
 * Write a batch's new lists into a list column, and its bitmaps. A list goes where the old one was
 * when it fits, else after the last list in use; the column is packed again once half its slots are
 * stale. So a batch costs its edits (and, now and then, one pass over the column), not a copy of the
 * whole column: with 10k entities that copy was 7% of the server's time at 6,000 events/s, and it
 * grows with the entities.
 */
function writeLists(
  col: ListColumn,
  edits: Map<number, readonly ListItem[] | null>,
  batch: Batch,
  rows: ProfileRows,
): void {
  const w = col as Writable<ListColumn>;
  const space = spaceOf(col);
  const sets = col.sets as Bitmap[];
  let nonNull = col.nonNull;
  for (const [o, edit] of edits) {
    const from = col.starts[o]!;
    const to = col.ends[o]!;
    const before = new Set<number>();
    for (let j = from; j < to; j++) before.add(col.items[j]!);
    const codes: number[] = [];
    const scores: number[] = [];
    for (const it of edit ?? []) {
      if (it.value === null || it.value === undefined) continue;
      codes.push(codeFor(col, String(it.value)));
      scores.push(it.score ?? Number.NaN);
    }
    let at = from;
    if (codes.length <= to - from) space.stale += to - from - codes.length;
    else {
      reserve(w, space, space.used + codes.length);
      at = space.used;
      space.used += codes.length;
      space.stale += to - from;
    }
    for (let k = 0; k < codes.length; k++) {
      w.items[at + k] = codes[k]!;
      w.scores[at + k] = scores[k]!;
    }
    w.starts[o] = at;
    w.ends[o] = at + codes.length;
    const after = new Set(codes);
    for (const c of before) if (!after.has(c)) sets[c] = setBit(batch, sets[c]!, o, false);
    for (const c of after) if (!before.has(c)) sets[c] = setBit(batch, sets[c]!, o, true);
    nonNull = setBit(batch, nonNull, o, edit !== null);
  }
  w.nonNull = nonNull;
  if (space.stale > 1024 && 2 * space.stale > space.used) {
    repack(w, space);
    rows.copyColumn(col);
  } else for (const o of edits.keys()) rows.copy(col, o);
}

/**
 * Apply a batch of entity updates to a store, in place (see the file comment for what readers see).
 * @example
 *   applyUpdates(store, [{ id: 'C0000042', tags: { spend_30d: 120000 }, asOf: Date.now() * 1000 }]);
 */
export function applyUpdates(store: TagStore, updates: readonly EntityUpdate[]): ApplyResult {
  const s = store as unknown as {
    ids: string[];
    ordinals: Map<string, number>;
    all: Bitmap;
    entityAsOf: Float64Array | undefined;
    revision: number;
  };
  let added = 0;
  for (const u of updates) {
    if (s.ordinals.has(u.id)) continue;
    s.ordinals.set(u.id, s.ids.length);
    s.ids.push(u.id);
    added++;
  }
  const n = s.ids.length;
  if (added > 0) {
    for (const col of store.tags.values()) growColumn(col, n);
    for (const col of store.profiles.values()) growColumn(col, n);
    s.all = fullBitmap(n);
    store.rows.grow(n);
  }
  if (!s.entityAsOf || s.entityAsOf.length < n) {
    s.entityAsOf = grow(s.entityAsOf ?? new Float64Array(0), n, Number.NaN);
  }
  const batch = new Batch();
  const lists: ListEdits = new Map();
  for (const u of updates) {
    const o = s.ordinals.get(u.id)!;
    if (u.tags) {
      for (const [name, v] of Object.entries(u.tags)) {
        const col = store.tags.get(name);
        if (col) setValue(col, o, v, batch, lists, store.rows);
      }
    }
    if (u.profiles) {
      for (const [key, v] of Object.entries(u.profiles)) {
        const col = store.profiles.get(key);
        if (col) setValue(col, o, v, batch, lists, store.rows);
      }
    }
    if (u.asOf !== undefined) s.entityAsOf[o] = u.asOf;
  }
  for (const [col, edits] of lists) writeLists(col, edits, batch, store.rows);
  s.revision++;
  return { entitiesAdded: added, valuesChanged: batch.changed };
}
