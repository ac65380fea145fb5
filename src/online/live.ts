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
 * - List columns are rewritten once per batch (their items are packed).
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
  type StringColumn,
} from './columns.js';
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

function grow<T extends Uint8Array | Float64Array | Int32Array>(a: T, n: number, fill: number): T {
  if (a.length >= n) return a;
  const out = new (a.constructor as new (n: number) => T)(n);
  out.set(a);
  out.fill(fill, a.length);
  return out;
}

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
      const old = col.offsets;
      if (old.length >= n + 1) return;
      const offsets = new Uint32Array(n + 1);
      offsets.set(old);
      offsets.fill(old[old.length - 1] ?? 0, old.length);
      (col as Writable<ListColumn>).offsets = offsets;
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

function setValue(col: Column, o: number, v: RefValue, batch: Batch, lists: ListEdits): void {
  switch (col.kind) {
    case 'boolean': {
      const next = v === null ? NULL_BOOL : v === true ? 1 : v === false ? 0 : NULL_BOOL;
      const prev = col.values[o]!;
      if (prev === next) return;
      col.values[o] = next;
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
  const start = col.offsets[o]!;
  const end = col.offsets[o + 1]!;
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

/**
 * Rewrite a list column's packed arrays with the batch's new lists, and its bitmaps. New arrays (a
 * reader may hold the old ones); the entities between two edited ones are copied as one block, their
 * offsets shifted in one tight loop: a batch costs a copy of the arrays plus its edits, not an
 * allocation per entity.
 */
function writeLists(col: ListColumn, edits: Map<number, readonly ListItem[] | null>, batch: Batch): void {
  const n = col.offsets.length - 1;
  const old = { offsets: col.offsets, items: col.items, scores: col.scores };
  let total = old.items.length;
  for (const [o, items] of edits) total += (items?.length ?? 0) - (old.offsets[o + 1]! - old.offsets[o]!);
  const offsets = new Uint32Array(n + 1);
  const items = new Uint32Array(total);
  const scores = new Float64Array(total);
  const sets = col.sets as Bitmap[];
  let nonNull = col.nonNull;
  let k = 0;
  // Unchanged entities [from, to): their items as one block, their offsets moved by the same amount.
  const copy = (from: number, to: number) => {
    const a = old.offsets[from]!;
    const b = old.offsets[to]!;
    items.set(old.items.subarray(a, b), k);
    scores.set(old.scores.subarray(a, b), k);
    const delta = k - a;
    for (let o = from; o < to; o++) offsets[o] = old.offsets[o]! + delta;
    k += b - a;
  };
  let next = 0;
  for (const o of [...edits.keys()].sort((x, y) => x - y)) {
    copy(next, o);
    const edit = edits.get(o)!;
    offsets[o] = k;
    const before = new Set<number>();
    for (let j = old.offsets[o]!; j < old.offsets[o + 1]!; j++) before.add(old.items[j]!);
    const after = new Set<number>();
    for (const it of edit ?? []) {
      if (it.value === null || it.value === undefined) continue;
      const code = codeFor(col, String(it.value));
      items[k] = code;
      scores[k] = it.score ?? Number.NaN;
      after.add(code);
      k++;
    }
    for (const c of before) if (!after.has(c)) sets[c] = setBit(batch, sets[c]!, o, false);
    for (const c of after) if (!before.has(c)) sets[c] = setBit(batch, sets[c]!, o, true);
    nonNull = setBit(batch, nonNull, o, edit !== null);
    next = o + 1;
  }
  copy(next, n);
  offsets[n] = k;
  const w = col as Writable<ListColumn>;
  w.offsets = offsets;
  w.items = items.subarray(0, k);
  w.scores = scores.subarray(0, k);
  w.nonNull = nonNull;
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
        if (col) setValue(col, o, v, batch, lists);
      }
    }
    if (u.profiles) {
      for (const [key, v] of Object.entries(u.profiles)) {
        const col = store.profiles.get(key);
        if (col) setValue(col, o, v, batch, lists);
      }
    }
    if (u.asOf !== undefined) s.entityAsOf[o] = u.asOf;
  }
  for (const [col, edits] of lists) writeLists(col, edits, batch);
  s.revision++;
  return { entitiesAdded: added, valuesChanged: batch.changed };
}
