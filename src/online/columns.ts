/**
 * Columns of the online store: one typed array per tag (or profile attribute), indexed by the dense
 * entity ordinal, with the bitmap indexes segments are answered from.
 *
 * | kind    | values                                  | indexes                                     |
 * |---------|-----------------------------------------|---------------------------------------------|
 * | boolean | Uint8Array: 0, 1, NULL_BOOL             | true-set and false-set bitmaps              |
 * | number  | Float64Array, NaN = null (also time/date) | ordinals sorted by value, in buckets with a bitmap each |
 * | string  | Int32Array of dictionary codes, -1 = null | one bitmap per distinct value              |
 * | list    | start and end per entity + item codes + scores | one bitmap per value (entities whose list has it) |
 *
 * Times are epoch microseconds and dates days since 1970-01-01, like the reference evaluator, so a
 * column value feeds `evalExpr` unchanged.
 *
 * Index bitmaps are shared: query code never mutates a bitmap it did not create (use the static
 * `Bitmap.and/or/andNot`, not the `...InPlace` methods, on anything that came from a column).
 */
import type { ListItem, RefValue } from '../lang/functions.js';
import { Bitmap, bitmapOf } from './bitmap.js';

/** Entities per bucket of a numeric index: a range query ORs whole buckets and scans at most two. */
export const BUCKET_SIZE = 16_384;
export const NULL_BOOL = 255;

export type NumericValueType = 'number' | 'time' | 'date';

export interface BooleanColumn {
  readonly kind: 'boolean';
  readonly valueType: 'boolean';
  readonly values: Uint8Array;
  readonly trueSet: Bitmap;
  readonly falseSet: Bitmap;
}

export interface NumberColumn {
  readonly kind: 'number';
  readonly valueType: NumericValueType;
  readonly values: Float64Array;
  readonly nonNull: Bitmap;
  /** Ordinals of the non-null values, ascending by value (ties by ordinal). */
  readonly sorted: Uint32Array;
  /** buckets[k] = the ordinals sorted[k * BUCKET_SIZE, (k + 1) * BUCKET_SIZE) as a bitmap. */
  readonly buckets: readonly Bitmap[];
}

export interface StringColumn {
  readonly kind: 'string';
  readonly valueType: 'string';
  readonly dict: readonly string[];
  readonly codeOf: ReadonlyMap<string, number>;
  readonly codes: Int32Array;
  /** sets[code] = entities with that value. */
  readonly sets: readonly Bitmap[];
  readonly nonNull: Bitmap;
}

export interface ListColumn {
  readonly kind: 'list';
  readonly valueType: 'list';
  readonly dict: readonly string[];
  readonly codeOf: ReadonlyMap<string, number>;
  /**
   * Items of entity i are items[starts[i], ends[i]) (scores alike). Packed in entity order when
   * built; real time rewrites a list in place or appends it at the end (live.ts), so slots outside
   * every range may hold stale items: read the ranges, never `items` whole (see packedList).
   */
  readonly starts: Uint32Array;
  readonly ends: Uint32Array;
  readonly items: Uint32Array;
  readonly scores: Float64Array;
  /** sets[code] = entities whose list contains the value. */
  readonly sets: readonly Bitmap[];
  /** Entities whose list is not null (an empty list is not null). */
  readonly nonNull: Bitmap;
}

export type Column = BooleanColumn | NumberColumn | StringColumn | ListColumn;

/** Ordinals where `pred` holds, ascending. */
function ordinalsWhere(n: number, pred: (i: number) => boolean): Uint32Array {
  let count = 0;
  for (let i = 0; i < n; i++) if (pred(i)) count++;
  const out = new Uint32Array(count);
  let j = 0;
  for (let i = 0; i < n; i++) if (pred(i)) out[j++] = i;
  return out;
}

function sortedBitmap(ordinals: Uint32Array): Bitmap {
  const b = new Bitmap();
  b.addMany(ordinals);
  b.runOptimize();
  return b;
}

export function booleanColumn(values: Uint8Array): BooleanColumn {
  return {
    kind: 'boolean',
    valueType: 'boolean',
    values,
    trueSet: sortedBitmap(ordinalsWhere(values.length, (i) => values[i] === 1)),
    falseSet: sortedBitmap(ordinalsWhere(values.length, (i) => values[i] === 0)),
  };
}

/** Sort the non-null ordinals by value and cut them into bucket bitmaps. */
export function numberColumn(valueType: NumericValueType, values: Float64Array): NumberColumn {
  const nonNullOrds = ordinalsWhere(values.length, (i) => !Number.isNaN(values[i]!));
  const sorted = sortByValue(nonNullOrds, values);
  return {
    kind: 'number',
    valueType,
    values,
    nonNull: sortedBitmap(nonNullOrds),
    sorted,
    buckets: buckets(sorted),
  };
}

/**
 * Ordinals ascending by value, ties by ordinal. Sorting (value, ordinal) pairs packed in one
 * Float64Array pass would lose precision, so sort ranks: a comparator sort over indices.
 */
/**
 * `ordinals` (ascending) ordered by value, ties in ordinal order: what
 * `sort((a, b) => values[a] - values[b] || a - b)` gives, by a stable LSD radix sort on the values'
 * bits (four passes of 16 bits; a pass whose digit is the same for all is skipped). With a comparator,
 * a 1M-entity column took ~0.5 s: a third of loading a 1M x 100 store from the warehouse, and what the
 * first range query after real-time changes paid to rebuild the index.
 */
export function sortByValue(ordinals: Uint32Array, values: Float64Array): Uint32Array {
  const n = ordinals.length;
  let ord = ordinals.slice();
  if (n < 2) return ord;
  // Keys: each value's IEEE bits made to order as unsigned integers (negatives: every bit flipped;
  // the rest: the sign bit set). -0 counts as 0, as the comparator has them equal.
  let hi = new Uint32Array(n);
  let lo = new Uint32Array(n);
  const one = new Float64Array(1);
  const bits = new Uint32Array(one.buffer);
  const [L, H] = LITTLE_ENDIAN ? [0, 1] : [1, 0];
  for (let i = 0; i < n; i++) {
    const v = values[ord[i]!]!;
    one[0] = v === 0 ? 0 : v;
    const h = bits[H]!;
    if (h >= 0x80000000) {
      hi[i] = ~h >>> 0;
      lo[i] = ~bits[L]! >>> 0;
    } else {
      hi[i] = (h | 0x80000000) >>> 0;
      lo[i] = bits[L]!;
    }
  }
  let ord2 = new Uint32Array(n);
  let hi2 = new Uint32Array(n);
  let lo2 = new Uint32Array(n);
  const count = new Uint32Array(65_536);
  for (let pass = 0; pass < 4; pass++) {
    const key = pass < 2 ? lo : hi;
    const shift = (pass & 1) * 16;
    count.fill(0);
    for (let i = 0; i < n; i++) count[(key[i]! >>> shift) & 0xffff]!++;
    if (count[(key[0]! >>> shift) & 0xffff] === n) continue;
    let sum = 0;
    for (let d = 0; d < 65_536; d++) {
      const c = count[d]!;
      count[d] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const j = count[(key[i]! >>> shift) & 0xffff]!++;
      ord2[j] = ord[i]!;
      hi2[j] = hi[i]!;
      lo2[j] = lo[i]!;
    }
    [ord, ord2] = [ord2, ord];
    [hi, hi2] = [hi2, hi];
    [lo, lo2] = [lo2, lo];
  }
  return ord;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function buckets(sorted: Uint32Array): Bitmap[] {
  const out: Bitmap[] = [];
  for (let start = 0; start < sorted.length; start += BUCKET_SIZE) {
    out.push(bitmapOf(sorted.subarray(start, start + BUCKET_SIZE)));
  }
  return out;
}

/** Bitmaps per dictionary code, from codes per entity (a counting sort keeps ordinals ascending). */
function setsOfCodes(codes: Int32Array | Uint32Array, dictSize: number, owner?: Uint32Array): Bitmap[] {
  const counts = new Uint32Array(dictSize + 1);
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i]!;
    if (c >= 0) counts[c + 1]!++;
  }
  for (let c = 0; c < dictSize; c++) counts[c + 1]! += counts[c]!;
  const starts = counts.slice();
  const byCode = new Uint32Array(counts[dictSize]!);
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i]!;
    if (c >= 0) byCode[starts[c]!++] = owner ? owner[i]! : i;
  }
  const sets: Bitmap[] = [];
  for (let c = 0; c < dictSize; c++) {
    const b = new Bitmap();
    b.addMany(byCode.subarray(counts[c]!, counts[c + 1]!));
    b.runOptimize();
    sets.push(b);
  }
  return sets;
}

export function stringColumn(dict: readonly string[], codes: Int32Array): StringColumn {
  return {
    kind: 'string',
    valueType: 'string',
    dict,
    codeOf: new Map(dict.map((v, i) => [v, i])),
    codes,
    sets: setsOfCodes(codes, dict.length),
    nonNull: sortedBitmap(ordinalsWhere(codes.length, (i) => codes[i]! >= 0)),
  };
}

/** A list column from packed lists: entity i's items are items[offsets[i], offsets[i + 1]). */
export function listColumn(
  dict: readonly string[],
  offsets: Uint32Array,
  items: Uint32Array,
  scores: Float64Array,
  nonNull: Bitmap,
): ListColumn {
  // The entity owning each item, for the per-value bitmaps (an entity listing a value twice is one member).
  const owner = new Uint32Array(items.length);
  for (let e = 0; e + 1 < offsets.length; e++) owner.fill(e, offsets[e]!, offsets[e + 1]!);
  const sets = setsOfCodes(items, dict.length, owner);
  const n = Math.max(0, offsets.length - 1);
  return {
    kind: 'list',
    valueType: 'list',
    dict,
    codeOf: new Map(dict.map((v, i) => [v, i])),
    // Copies, not views of `offsets`: real time writes them separately.
    starts: offsets.slice(0, n),
    ends: offsets.slice(1, n + 1),
    items,
    scores,
    sets,
    nonNull,
  };
}

/**
 * A list column's lists packed in entity order, without stale slots (what a snapshot stores). `spare`:
 * room for that many more items after them (real time packing a column again, to append to).
 */
export function packedList(
  col: ListColumn,
  spare = 0,
): { offsets: Uint32Array; items: Uint32Array; scores: Float64Array } {
  const n = col.starts.length;
  const offsets = new Uint32Array(n + 1);
  let total = 0;
  for (let i = 0; i < n; i++) {
    offsets[i] = total;
    total += col.ends[i]! - col.starts[i]!;
  }
  offsets[n] = total;
  // Already packed (nothing was rewritten since the build): the arrays as they are.
  if (
    spare === 0 &&
    total === col.items.length &&
    (n === 0 || col.starts.every((s, i) => s === offsets[i]))
  ) {
    return { offsets, items: col.items, scores: col.scores };
  }
  const items = new Uint32Array(total + spare);
  const scores = new Float64Array(total + spare);
  for (let i = 0; i < n; i++) {
    items.set(col.items.subarray(col.starts[i]!, col.ends[i]!), offsets[i]!);
    scores.set(col.scores.subarray(col.starts[i]!, col.ends[i]!), offsets[i]!);
  }
  return { offsets, items, scores };
}

/** The value of `ordinal` in the reference evaluator's representation (see functions.ts). */
export function refValue(col: Column, ordinal: number): RefValue {
  switch (col.kind) {
    case 'boolean': {
      const v = col.values[ordinal]!;
      return v === NULL_BOOL ? null : v === 1;
    }
    case 'number': {
      const v = col.values[ordinal]!;
      return Number.isNaN(v) ? null : v;
    }
    case 'string': {
      const c = col.codes[ordinal]!;
      return c < 0 ? null : col.dict[c]!;
    }
    case 'list':
      return listItems(col, ordinal);
  }
}

function listItems(col: ListColumn, ordinal: number): ListItem[] | null {
  if (!col.nonNull.has(ordinal)) return null;
  const out: ListItem[] = [];
  for (let k = col.starts[ordinal]!; k < col.ends[ordinal]!; k++) {
    out.push({ value: col.dict[col.items[k]!]!, score: col.scores[k]! });
  }
  return out;
}

/** A JSON value for the API: times as ISO 8601 (UTC), dates as YYYY-MM-DD. */
export function jsonValue(col: Column, ordinal: number): unknown {
  if (col.kind === 'number') {
    const v = col.values[ordinal]!;
    if (Number.isNaN(v)) return null;
    if (col.valueType === 'time') return isoFromMicros(v);
    if (col.valueType === 'date') return isoDate(v);
    return v;
  }
  return refValue(col, ordinal);
}

/** Days since 1970-01-01 -> [year, month (1-12), day] (proleptic Gregorian; H. Hinnant's algorithm). */
export function civilFromDays(days: number): [number, number, number] {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (month <= 2 ? 1 : 0), month, day];
}

/** Two- and three-digit numbers as text (profiles print times often: no number formatting per value). */
const PAD2 = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
const PAD3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
/** `YYYY-MM-DD` of days 0 to DAY_CACHE - 1 (1970 to 2149), each made once when first asked for. */
const DAY_CACHE = 65_536;
const dayTexts: (string | undefined)[] = new Array(DAY_CACHE);

/** `YYYY-MM-DD` of a day count, for years 0-9999 (undefined outside). */
function ymd(days: number): string | undefined {
  const cached = days >= 0 && days < DAY_CACHE;
  if (cached) {
    const t = dayTexts[days];
    if (t !== undefined) return t;
  }
  const [y, m, d] = civilFromDays(days);
  if (y < 0 || y > 9999) return undefined;
  const t = `${String(y).padStart(4, '0')}-${PAD2[m]}-${PAD2[d]}`;
  if (cached) dayTexts[days] = t;
  return t;
}

/** ISO 8601 (UTC, milliseconds) of epoch microseconds: `new Date(Math.floor(us / 1000)).toISOString()`. */
export function isoFromMicros(us: number): string {
  const ms = Math.floor(us / 1000);
  const days = Math.floor(ms / 86_400_000);
  const date = Number.isFinite(ms) ? ymd(days) : undefined;
  // Outside years 0000-9999 Date writes a sign and six digits (or throws): leave those to it.
  if (date === undefined) return new Date(ms).toISOString();
  let rest = ms - days * 86_400_000;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const mi = Math.floor(rest / 60_000);
  rest -= mi * 60_000;
  const sec = Math.floor(rest / 1000);
  return `${date}T${PAD2[h]}:${PAD2[mi]}:${PAD2[sec]}.${PAD3[rest - sec * 1000]}Z`;
}

/** `YYYY-MM-DD` of a date (days since 1970-01-01), as `jsonValue` writes it. */
export function isoDate(days: number): string {
  return (
    (Number.isInteger(days) ? ymd(days) : undefined) ?? new Date(days * 86_400_000).toISOString().slice(0, 10)
  );
}

/** Entities per value of a column, for catalog histograms. */
export function valueCounts(col: StringColumn | ListColumn, top: number): { value: string; count: number }[] {
  return col.dict
    .map((value, code) => ({ value, count: col.sets[code]!.size }))
    .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : 1))
    .slice(0, top);
}

/** The first index of `sorted` whose value is >= c (strict: > c). */
export function lowerBound(col: NumberColumn, c: number, strict: boolean): number {
  let lo = 0;
  let hi = col.sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const v = col.values[col.sorted[mid]!]!;
    if (strict ? v <= c : v < c) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The bitmap of sorted[start, end): whole buckets ORed, the partial ones at the edges scanned. */
export function sortedRange(col: NumberColumn, start: number, end: number): Bitmap {
  if (end <= start) return new Bitmap();
  const parts: Bitmap[] = [];
  let i = start;
  while (i < end) {
    const k = Math.floor(i / BUCKET_SIZE);
    const bucketStart = k * BUCKET_SIZE;
    const bucketEnd = Math.min(bucketStart + BUCKET_SIZE, col.sorted.length);
    const stop = Math.min(bucketEnd, end);
    if (i === bucketStart && stop === bucketEnd) parts.push(col.buckets[k]!);
    else parts.push(bitmapOf(col.sorted.subarray(i, stop)));
    i = stop;
  }
  return parts.length === 1 ? parts[0]! : Bitmap.orMany(parts);
}

export type RangeOp = '=' | '!=' | '<' | '<=' | '>' | '>=';

/** Entities whose value `op c` is true (nulls are never in it). */
export function numberRange(col: NumberColumn, op: RangeOp, c: number): Bitmap {
  const n = col.sorted.length;
  switch (op) {
    case '>':
      return sortedRange(col, lowerBound(col, c, true), n);
    case '>=':
      return sortedRange(col, lowerBound(col, c, false), n);
    case '<':
      return sortedRange(col, 0, lowerBound(col, c, false));
    case '<=':
      return sortedRange(col, 0, lowerBound(col, c, true));
    case '=':
      return sortedRange(col, lowerBound(col, c, false), lowerBound(col, c, true));
    case '!=':
      return Bitmap.andNot(col.nonNull, numberRange(col, '=', c));
  }
}

/** Entities in a string column whose value `op c` is true (by UTF-16 code units, like the reference). */
export function stringRange(col: StringColumn, op: RangeOp, c: string): Bitmap {
  if (op === '=') {
    const code = col.codeOf.get(c);
    return code === undefined ? new Bitmap() : col.sets[code]!;
  }
  if (op === '!=') return Bitmap.andNot(col.nonNull, stringRange(col, '=', c));
  const test = (v: string) => (op === '<' ? v < c : op === '<=' ? v <= c : op === '>' ? v > c : v >= c);
  const parts = col.dict.flatMap((v, code) => (test(v) ? [col.sets[code]!] : []));
  return parts.length === 0 ? new Bitmap() : Bitmap.orMany(parts);
}
