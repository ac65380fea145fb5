/**
 * The profile JSON writers (src/online/json-bytes.ts, and isoFromMicros in columns.ts) write exactly
 * the UTF-8 bytes of what JSON.stringify and Date#toISOString print: numbers of every magnitude and
 * precision, times and dates of any year, strings of any characters.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isoFromMicros } from '../../src/online/columns.js';
import { JsonBytes } from '../../src/online/json-bytes.js';

/** What a writer writes, as text (the bytes decoded as UTF-8, which must round-trip). */
function written(write: (out: JsonBytes) => void): string {
  const out = new JsonBytes();
  out.begin();
  write(out);
  const bytes = out.end();
  const text = bytes.toString('utf8');
  expect(Buffer.from(text, 'utf8').equals(bytes)).toBe(true);
  return text;
}
const numberText = (v: number) => written((o) => o.number(v));

describe('JsonBytes.number is JSON.stringify for numbers', () => {
  it.each([
    0,
    -0,
    1,
    -1,
    0.1,
    0.2,
    0.3,
    1 / 3,
    2 / 3,
    1234.56,
    -1234.56,
    0.000001,
    0.0000015,
    1e-7,
    123456789.123456,
    999999999.999999,
    999999999.9999999,
    1e9,
    1e9 + 0.5,
    1e21,
    1e300,
    5e-324,
    0.1 + 0.2,
    4.35,
    Number.MAX_SAFE_INTEGER,
    123.000001,
    0.5,
    2.675,
    1.005,
    Number.NaN,
    Number.POSITIVE_INFINITY,
  ])('%d', (v) => {
    expect(numberText(v)).toBe(JSON.stringify(v));
  });

  it('random doubles, safe integers, and decimals with up to 8 places', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (v) => {
        expect(numberText(v)).toBe(JSON.stringify(v));
      }),
      { numRuns: 20_000, seed: 7 },
    );
    fc.assert(
      fc.property(fc.double(), (v) => {
        expect(numberText(v)).toBe(JSON.stringify(v));
      }),
      { numRuns: 20_000, seed: 1 },
    );
    fc.assert(
      fc.property(fc.integer({ min: -(10 ** 15), max: 10 ** 15 }), fc.integer({ min: 0, max: 8 }), (m, d) => {
        const v = m / 10 ** d;
        expect(numberText(v)).toBe(JSON.stringify(v));
      }),
      { numRuns: 50_000, seed: 2 },
    );
  });
});

describe('isoFromMicros is Date#toISOString', () => {
  it('random instants from year -271821 to 275760', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -8.64e15 + 1000, max: 8.64e15 - 1000 }),
        fc.integer({ min: 0, max: 999 }),
        (ms, us) => {
          const micros = ms * 1000 + us;
          expect(isoFromMicros(micros)).toBe(new Date(Math.floor(micros / 1000)).toISOString());
        },
      ),
      { numRuns: 20_000, seed: 3 },
    );
    for (const ms of [
      0,
      -1,
      86_399_999,
      -86_400_000,
      Date.UTC(2000, 1, 29),
      Date.UTC(1900, 1, 28, 23, 59, 59, 999),
    ]) {
      expect(isoFromMicros(ms * 1000)).toBe(new Date(ms).toISOString());
    }
  });

  it('random instants in 1970-2149, where day texts are cached (each day asked for many times)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 400 }),
        fc.integer({ min: 0, max: 86_399_999_999 }),
        (day, us) => {
          // Days 0-400 and the last of the cache (65,535), then the first past it.
          for (const d of [day, 65_535 - (day % 2), 65_536 + (day % 3)]) {
            const micros = d * 86_400_000_000 + us;
            expect(isoFromMicros(micros)).toBe(new Date(Math.floor(micros / 1000)).toISOString());
          }
        },
      ),
      { numRuns: 5_000, seed: 4 },
    );
  });
});

describe('JsonBytes times, dates and strings', () => {
  it('isoTime is the JSON of Date#toISOString, for any year Date can hold', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -8.64e15 + 1000, max: 8.64e15 - 1000 }),
        fc.integer({ min: 0, max: 999 }),
        (ms, us) => {
          const micros = ms * 1000 + us;
          expect(written((o) => o.isoTime(micros))).toBe(
            JSON.stringify(new Date(Math.floor(micros / 1000)).toISOString()),
          );
        },
      ),
      { numRuns: 20_000, seed: 4 },
    );
  });

  it('isoDate is YYYY-MM-DD of the day, for whole and fractional day counts', () => {
    fc.assert(
      fc.property(fc.integer({ min: -99_999_999, max: 99_999_999 }), fc.boolean(), (days, half) => {
        const d = half ? days + 0.5 : days;
        expect(written((o) => o.isoDate(d))).toBe(
          JSON.stringify(new Date(d * 86_400_000).toISOString().slice(0, 10)),
        );
      }),
      { numRuns: 20_000, seed: 5 },
    );
  });

  it('string is JSON.stringify, lone surrogates and control characters included', () => {
    for (const s of [
      '',
      'plain',
      '서울 😀',
      'a"b\\c',
      '\u0000\u001f\u007f',
      '\ud800',
      'x\udfffy',
      '\u2028\u2029',
    ]) {
      expect(written((o) => o.string(s))).toBe(JSON.stringify(s));
    }
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (s) => {
        expect(written((o) => o.string(s))).toBe(JSON.stringify(s));
      }),
      { numRuns: 10_000, seed: 6 },
    );
  });

  it('a released piece is written over by the next; an earlier piece cannot be released', () => {
    const out = new JsonBytes();
    const piece = (text: string) => {
      out.begin();
      out.string(text);
      return out.end();
    };
    const a = piece('first');
    const b = piece('second');
    out.release(a); // not the last piece: kept
    const c = piece('third');
    expect([a.toString(), b.toString(), c.toString()]).toEqual(['"first"', '"second"', '"third"']);
    out.release(c);
    const d = piece('fourth');
    expect(d.byteOffset).toBe(c.byteOffset);
    expect([a.toString(), b.toString(), d.toString()]).toEqual(['"first"', '"second"', '"fourth"']);
  });

  it('a piece that outgrows the slab moves to a new one; earlier pieces keep their bytes', () => {
    const out = new JsonBytes();
    const pieces: [Buffer, string][] = [];
    for (let i = 0; i < 400; i++) {
      const text = `${i}:${'é'.repeat(i * 7)}`;
      out.begin();
      out.byte(91);
      out.string(text);
      out.number(i + 0.25);
      pieces.push([out.end(), `[${JSON.stringify(text)}${i + 0.25}`]);
    }
    // A piece larger than a slab.
    out.begin();
    const big = 'z'.repeat(600_000);
    out.string(big);
    pieces.push([out.end(), JSON.stringify(big)]);
    for (const [bytes, text] of pieces) expect(bytes.toString('utf8')).toBe(text);
  });
});
