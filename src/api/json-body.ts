/**
 * JSON request bodies parsed without one string of the whole body.
 *
 * A Segment batch is up to 500 KB. Decoded as one string it is a large object for V8 (over 128 KB):
 * fresh pages for each, unmapped at the next collection. On the benchmark machine that decode cost
 * more than the parse itself (~1 ms for 134 KB, against ~0.05 ms in 64 KB pieces). So a large body is
 * cut where the JSON allows: its top-level members (an object body) or elements (an array body), and
 * an array member's elements, are decoded and parsed a piece of up to `pieceBytes` at a time.
 *
 * The result is always what `JSON.parse` of the decoded body gives. Anything the cutting does not
 * expect (a bracket that does not close, text after the end, a piece `JSON.parse` refuses) parses the
 * whole body instead, which gives JSON.parse's own result or error.
 */

const PIECE_BYTES = 64 * 1024;
/** What the HTTP layer decodes with (a leading byte order mark is dropped). */
const wholeDecoder = new TextDecoder();
/** For pieces: a U+FEFF inside the body is text, not a byte order mark. */
const pieceDecoder = new TextDecoder('utf-8', { ignoreBOM: true });

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** The cut could not follow the body: parse it whole. */
class NotCuttable extends Error {}

/** `JSON.parse` of the UTF-8 `bytes` (an empty body is `undefined`). */
export function parseJsonBody(bytes: Uint8Array, pieceBytes = PIECE_BYTES): unknown {
  if (bytes.length === 0) return undefined;
  if (bytes.length > pieceBytes) {
    try {
      return new Cutter(bytes, pieceBytes).body();
    } catch {
      // Parsed whole below: JSON.parse's own result or error.
    }
  }
  return JSON.parse(wholeDecoder.decode(bytes));
}

class Cutter {
  private readonly n: number;

  constructor(
    private readonly b: Uint8Array,
    private readonly pieceBytes: number,
  ) {
    this.n = b.length;
  }

  body(): unknown {
    const b = this.b;
    // A byte order mark starts the text (the whole decoder drops it too).
    let i = b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
    i = this.space(i);
    let value: unknown;
    if (b[i] === OPEN_BRACE) [value, i] = this.object(i);
    else if (b[i] === OPEN_BRACKET) [value, i] = this.array(i);
    else throw new NotCuttable();
    if (this.space(i) !== this.n) throw new NotCuttable();
    return value;
  }

  /** The object at `i` (its members parsed one by one), and the index after it. */
  private object(i: number): [Record<string, unknown>, number] {
    const b = this.b;
    const out: Record<string, unknown> = {};
    i = this.space(i + 1);
    if (b[i] === CLOSE_BRACE) return [out, i + 1];
    for (;;) {
      if (b[i] !== QUOTE) throw new NotCuttable();
      const keyEnd = this.stringEnd(i);
      const key = this.parse(i, keyEnd) as string;
      i = this.space(keyEnd);
      if (b[i] !== COLON) throw new NotCuttable();
      i = this.space(i + 1);
      let value: unknown;
      if (b[i] === OPEN_BRACKET) [value, i] = this.array(i);
      else {
        const end = this.valueEnd(i);
        value = this.parse(i, end);
        i = end;
      }
      // As JSON.parse: an own property even for "__proto__" (assigning it would set the prototype).
      if (key === '__proto__')
        Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
      else out[key] = value;
      i = this.space(i);
      if (b[i] === COMMA) i = this.space(i + 1);
      else if (b[i] === CLOSE_BRACE) return [out, i + 1];
      else throw new NotCuttable();
    }
  }

  /**
   * The array at `i`, and the index after it. Its elements are cut at the commas between them and
   * parsed `pieceBytes` at a time (a small array at once).
   */
  private array(i: number): [unknown[], number] {
    const b = this.b;
    const start = i;
    // Commas between elements: at depth 1, outside strings.
    const commas: number[] = [];
    let depth = 0;
    let end = -1;
    for (; i < this.n; i++) {
      const c = b[i]!;
      if (c === QUOTE) {
        i = this.stringEnd(i) - 1;
      } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        depth++;
      } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        depth--;
        if (depth === 0) {
          end = i;
          break;
        }
      } else if (c === COMMA && depth === 1) commas.push(i);
    }
    if (end < 0 || b[end] !== CLOSE_BRACKET) throw new NotCuttable();
    if (end - start <= this.pieceBytes) return [this.parse(start, end + 1) as unknown[], end + 1];
    const out: unknown[] = [];
    let from = start + 1;
    let firstCut = 0;
    commas.push(end);
    for (let k = 0; k < commas.length; k++) {
      const cut = commas[k]!;
      const next = k + 1 < commas.length ? commas[k + 1]! : -1;
      // Cut here when the piece would grow past the limit with the next element, or at the end.
      if (next < 0 || next - from > this.pieceBytes) {
        const piece = this.parse(from, cut, '[', ']');
        // As many elements as the commas say: an empty one (`[1,]`) is an error JSON.parse reports.
        if (!Array.isArray(piece) || piece.length !== k - firstCut + 1) throw new NotCuttable();
        for (let j = 0; j < piece.length; j++) out.push(piece[j]);
        from = cut + 1;
        firstCut = k + 1;
      }
    }
    return [out, end + 1];
  }

  /** The index after the string whose quote is at `i`. */
  private stringEnd(i: number): number {
    const b = this.b;
    for (i++; i < this.n; i++) {
      const c = b[i];
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) return i + 1;
    }
    throw new NotCuttable();
  }

  /** The index after the value starting at `i` (JSON.parse checks what is inside). */
  private valueEnd(i: number): number {
    const b = this.b;
    const c = b[i];
    if (c === QUOTE) return this.stringEnd(i);
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      let depth = 0;
      for (; i < this.n; i++) {
        const x = b[i]!;
        if (x === QUOTE) i = this.stringEnd(i) - 1;
        else if (x === OPEN_BRACE || x === OPEN_BRACKET) depth++;
        else if ((x === CLOSE_BRACE || x === CLOSE_BRACKET) && --depth === 0) return i + 1;
      }
      throw new NotCuttable();
    }
    // A number or a literal: up to the next separator or space.
    while (i < this.n) {
      const x = b[i]!;
      if (x === COMMA || x === CLOSE_BRACE || x === CLOSE_BRACKET || isSpace(x)) break;
      i++;
    }
    return i;
  }

  private space(i: number): number {
    while (i < this.n && isSpace(this.b[i]!)) i++;
    return i;
  }

  /** JSON.parse of bytes [from, to), between `before` and `after`. */
  private parse(from: number, to: number, before = '', after = ''): unknown {
    const text = pieceDecoder.decode(this.b.subarray(from, to));
    return JSON.parse(before === '' ? text : `${before}${text}${after}`);
  }
}

/** JSON's white space. */
function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}
