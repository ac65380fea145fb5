/**
 * JSON written as UTF-8 bytes straight into a buffer: how the store writes the profile JSON the API
 * sends (store.ts `profileBytes`). Fragments that never change (a tag's `{"name":...,"value":`, a
 * dictionary value's quoted text) are encoded once and copied; numbers, times and dates are written
 * digit by digit. The bytes are exactly those of `JSON.stringify` of the same value (the tests hold
 * every writer to it), and their length is known without measuring a string.
 *
 * Output goes into a slab shared by every profile: a response is a view of the bytes written for it,
 * so a profile costs neither an allocation of its own nor a copy. A piece known to be sent is written
 * over by the next (`release`); otherwise pieces follow one another, and a new slab is taken when one
 * fills up (the old one lives on while responses still hold it).
 */
import {
  type Column,
  civilFromDays,
  isoDate,
  isoFromMicros,
  type ListColumn,
  NULL_BOOL,
  type StringColumn,
} from './columns.js';
import type { RowCursor, RowSlot } from './rows.js';

const SLAB_BYTES = 256 * 1024;
const POW10 = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000];

export const utf8 = (text: string): Buffer => Buffer.from(text, 'utf8');

/** A writer of JSON pieces into a slab (see the file comment). */
export class JsonBytes {
  private buf = Buffer.allocUnsafeSlow(SLAB_BYTES);
  private start = 0;
  private pos = 0;

  /** Start a new piece of output (whatever an unfinished one wrote is dropped). */
  begin(): void {
    this.start = this.pos;
  }

  /** The bytes written since `begin()`, as a view that stays valid after later writes. */
  end(): Buffer {
    const out = this.buf.subarray(this.start, this.pos);
    // Later pieces start on an 8-byte boundary.
    this.pos = Math.min(this.buf.length, (this.pos + 7) & ~7);
    this.start = this.pos;
    return out;
  }

  /**
   * The bytes of a piece that nothing references any more (sent): when it is the last piece written,
   * the next one is written over it, so a slab serves request after request instead of filling up
   * (each new slab is memory the garbage collector counts).
   */
  release(piece: Uint8Array): void {
    if (piece.buffer !== this.buf.buffer) return;
    const start = piece.byteOffset - this.buf.byteOffset;
    if (Math.min(this.buf.length, (start + piece.length + 7) & ~7) !== this.pos) return;
    this.start = start;
    this.pos = start;
  }

  /** The buffer, with room for n more bytes at `pos`. */
  private room(n: number): Buffer {
    if (this.pos + n <= this.buf.length) return this.buf;
    // A fresh slab, with the piece written so far moved to its start.
    const used = this.pos - this.start;
    const next = Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, 2 * (used + n)));
    this.buf.copy(next, 0, this.start, this.pos);
    this.buf = next;
    this.start = 0;
    this.pos = used;
    return next;
  }

  /** Bytes prepared once (Buffer.from(text, 'utf8')). */
  raw(bytes: Uint8Array): void {
    const n = bytes.length;
    this.room(n).set(bytes, this.pos);
    this.pos += n;
  }

  /** One ASCII character, by its code. */
  byte(code: number): void {
    this.room(1)[this.pos++] = code;
  }

  /** Text known to be ASCII (digits, ISO times, `null`), one byte per character. */
  ascii(text: string): void {
    const n = text.length;
    const buf = this.room(n);
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = text.charCodeAt(i);
    this.pos = p;
  }

  /** Any string as a JSON string: `JSON.stringify(text)` in UTF-8. */
  string(text: string): void {
    const quoted = JSON.stringify(text);
    this.room(quoted.length * 3);
    this.pos += this.buf.write(quoted, this.pos, 'utf8');
  }

  /**
   * `JSON.stringify(v)` of a number (`String(v)`, null when not finite), digit by digit for the values
   * tags hold (integers, and decimals with up to 6 places below 1e9), else through `String`.
   *
   * Why it is exact: for the smallest d <= 6 with r = round(v * 10^d) and r / 10^d === v, the decimal
   * r * 10^-d reads back as v (IEEE division of two exact integers is correctly rounded, like parsing),
   * it has at most 15 significant digits (so it is the only such decimal with d places), and no shorter
   * decimal reads back as v (a smaller d would have been found) — which is what String(v) prints, in
   * plain notation in this range (String switches to exponents below 1e-6 and from 1e21 only).
   */
  number(v: number): void {
    if (Number.isInteger(v) && v > -9007199254740992 && v < 9007199254740992) {
      if (v < 0) {
        this.byte(45);
        this.uint(-v);
      } else this.uint(v); // -0 included: JSON writes 0
    } else if (!Number.isFinite(v)) this.ascii('null');
    else if (v <= -1e9 || v >= 1e9 || !this.decimal(v)) this.ascii(String(v));
  }

  /** A non-integer below 1e9 in magnitude with at most 6 decimals (false: it has more). */
  private decimal(v: number): boolean {
    const neg = v < 0;
    const a = neg ? -v : v;
    for (let d = 1; d <= 6; d++) {
      const s = POW10[d]!;
      const r = Math.round(a * s);
      if (r / s !== a) continue;
      const int = Math.floor(r / s);
      if (neg) this.byte(45);
      this.uint(int);
      this.byte(46);
      this.digits(r - int * s, d);
      return true;
    }
    return false;
  }

  /** A JSON string of an ISO 8601 time (UTC, ms) from epoch microseconds, as `isoFromMicros`. */
  isoTime(us: number): void {
    const ms = Math.floor(us / 1000);
    const days = Math.floor(ms / 86_400_000);
    const ymd = Number.isFinite(ms) ? civilFromDays(days) : undefined;
    if (ymd === undefined || ymd[0] < 0 || ymd[0] > 9999) {
      this.byte(34);
      this.ascii(isoFromMicros(us));
      this.byte(34);
      return;
    }
    let rest = ms - days * 86_400_000;
    const h = Math.floor(rest / 3_600_000);
    rest -= h * 3_600_000;
    const mi = Math.floor(rest / 60_000);
    rest -= mi * 60_000;
    const sec = Math.floor(rest / 1000);
    this.room(26);
    this.byte(34);
    this.ymd(ymd);
    this.byte(84); // T
    this.digits(h, 2);
    this.byte(58);
    this.digits(mi, 2);
    this.byte(58);
    this.digits(sec, 2);
    this.byte(46);
    this.digits(rest - sec * 1000, 3);
    this.byte(90); // Z
    this.byte(34);
  }

  /** A JSON string of a date (days since 1970-01-01) as `YYYY-MM-DD`, as `jsonValue` writes it. */
  isoDate(days: number): void {
    const ymd = Number.isInteger(days) ? civilFromDays(days) : undefined;
    this.byte(34);
    if (ymd === undefined || ymd[0] < 0 || ymd[0] > 9999) this.ascii(isoDate(days));
    else this.ymd(ymd);
    this.byte(34);
  }

  private ymd([y, m, d]: [number, number, number]): void {
    this.digits(y, 4);
    this.byte(45);
    this.digits(m, 2);
    this.byte(45);
    this.digits(d, 2);
  }

  /** A non-negative integer below 2^53 in decimal. */
  private uint(n: number): void {
    if (n < 2_147_483_648) {
      const v = n | 0;
      let len = 1;
      for (let t = 10; len < 10 && v >= t; t *= 10) len++;
      this.digits(v, len);
      return;
    }
    let len = 1;
    for (let t = n; t >= 10; t = Math.floor(t / 10)) len++;
    const buf = this.room(len);
    let p = this.pos + len;
    for (let i = 0; i < len; i++) {
      const q = Math.floor(n / 10);
      buf[--p] = 48 + (n - q * 10);
      n = q;
    }
    this.pos += len;
  }

  /** The last `width` decimal digits of a non-negative integer below 2^31, zero-padded. */
  private digits(n: number, width: number): void {
    const buf = this.room(width);
    let v = n | 0;
    let p = this.pos + width;
    for (let i = 0; i < width; i++) {
      const q = (v / 10) | 0; // int32 arithmetic: a multiplication, not a division
      buf[--p] = 48 + v - q * 10;
      v = q;
    }
    this.pos += width;
  }
}

/** JSON of each dictionary value (and of list items' `{"value":...,"score":`), encoded once per column. */
const quotedValues = new WeakMap<readonly string[], Buffer[]>();
const itemHeads = new WeakMap<readonly string[], Buffer[]>();

/** Encoded fragments of a dictionary, caught up with values real time appended since (live.ts). */
function fragments(
  cache: WeakMap<readonly string[], Buffer[]>,
  dict: readonly string[],
  make: (value: string) => string,
): Buffer[] {
  let q = cache.get(dict);
  if (q === undefined) {
    q = [];
    cache.set(dict, q);
  }
  for (let c = q.length; c < dict.length; c++) q.push(utf8(make(dict[c]!)));
  return q;
}

const quote = (v: string) => JSON.stringify(v);
const itemHead = (v: string) => `{"value":${JSON.stringify(v)},"score":`;

const NULL = utf8('null');

/** Value kinds a tag writer switches on (a small number, not the column's shape: profile writing is hot). */
enum Kind {
  Boolean,
  Number,
  Time,
  Date,
  String,
  List,
}

function kindOf(col: Column): Kind {
  switch (col.kind) {
    case 'boolean':
      return Kind.Boolean;
    case 'number':
      return col.valueType === 'time' ? Kind.Time : col.valueType === 'date' ? Kind.Date : Kind.Number;
    case 'string':
      return Kind.String;
    case 'list':
      return Kind.List;
  }
}

/**
 * One tag in a profile: `{"name":...,"title":...,"type":...,"value":<value>}` of an entity, the
 * constant part encoded once. A boolean is one of three whole items, written in one copy.
 */
export class TagJson {
  private readonly kind: Kind;
  /** The head, alone and after a comma. */
  private readonly head: Buffer;
  private readonly commaHead: Buffer;
  /** Booleans: whole items for false, true and null, alone then after a comma. */
  private readonly items: readonly Buffer[];

  /** `head` is the item up to its value: `{"name":...,"value":`; `slot` is where the records keep `col`. */
  constructor(
    head: string,
    readonly col: Column,
    private readonly slot: RowSlot,
  ) {
    this.kind = kindOf(col);
    this.head = utf8(head);
    this.commaHead = utf8(`,${head}`);
    this.items =
      this.kind === Kind.Boolean
        ? ['', ','].flatMap((comma) => ['false', 'true', 'null'].map((v) => utf8(`${comma}${head}${v}}`)))
        : [];
  }

  /** The item of the entity whose record `r` points at, after a comma when `comma`. */
  write(out: JsonBytes, r: RowCursor, comma: boolean): void {
    const at = this.slot.at;
    if (this.kind === Kind.Boolean) {
      const v = r.u8[r.b1 + at]!;
      out.raw(this.items[(comma ? 3 : 0) + (v === NULL_BOOL ? 2 : v)]!);
      return;
    }
    out.raw(comma ? this.commaHead : this.head);
    switch (this.kind) {
      case Kind.Number:
      case Kind.Time:
      case Kind.Date: {
        const v = r.f64[r.b8 + at]!;
        if (Number.isNaN(v)) out.raw(NULL);
        else if (this.kind === Kind.Number) out.number(v);
        else if (this.kind === Kind.Time) out.isoTime(v);
        else out.isoDate(v);
        break;
      }
      case Kind.String: {
        const c = r.i32[r.b4 + at]!;
        if (c < 0) out.raw(NULL);
        else out.raw(fragments(quotedValues, (this.col as StringColumn).dict, quote)[c]!);
        break;
      }
      case Kind.List:
        if (r.u8[r.b1 + this.slot.flag] === 0) out.raw(NULL);
        else writeList(out, this.col as ListColumn, r.u32[r.b4 + at]!, r.u32[r.b4 + at + 1]!);
        break;
    }
    out.byte(125); // }
  }
}

/** A list's items [from, to) in the column (not null). */
function writeList(out: JsonBytes, col: ListColumn, from: number, to: number): void {
  const heads = fragments(itemHeads, col.dict, itemHead);
  out.byte(91); // [
  for (let k = from; k < to; k++) {
    if (k > from) out.byte(44);
    out.raw(heads[col.items[k]!]!);
    out.number(col.scores[k]!);
    out.byte(125);
  }
  out.byte(93);
}
