/**
 * Large JSON bodies parsed in pieces must give exactly what JSON.parse of the whole decoded body
 * gives: the same value, or an error for a body JSON.parse refuses. Differential, with pieces made
 * tiny so that every body is cut.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { parseJsonBody } from '../../src/api/json-body.js';

const decoder = new TextDecoder();

/** JSON.parse's answer for these bytes: the value, or that it threw. */
function reference(bytes: Uint8Array): { value?: unknown; threw?: true } {
  if (bytes.length === 0) return { value: undefined };
  try {
    return { value: JSON.parse(decoder.decode(bytes)) };
  } catch {
    return { threw: true };
  }
}

function cut(bytes: Uint8Array, pieceBytes: number): { value?: unknown; threw?: true } {
  try {
    return { value: parseJsonBody(bytes, pieceBytes) };
  } catch {
    return { threw: true };
  }
}

/** Equal values, own "__proto__" keys and prototypes included (toEqual alone would not see them). */
function expectSame(got: { value?: unknown; threw?: true }, want: { value?: unknown; threw?: true }): void {
  expect(got.threw).toBe(want.threw);
  expect(got.value).toStrictEqual(want.value);
  expect(JSON.stringify(got.value)).toBe(JSON.stringify(want.value));
  if (got.value !== null && typeof got.value === 'object') {
    expect(Object.getPrototypeOf(got.value)).toBe(Object.getPrototypeOf(want.value));
    expect(Object.keys(got.value as object)).toEqual(Object.keys(want.value as object));
  }
}

const utf8 = (s: string) => new TextEncoder().encode(s);

describe('parseJsonBody', () => {
  test('a Segment-like batch: the same messages as JSON.parse, cut at any piece size', () => {
    const batch = Array.from({ length: 300 }, (_, i) => ({
      type: 'track',
      userId: `C${i}`,
      event: 'Card Payment',
      properties: { amount: i * 1.5, city: i % 2 ? '서울' : 'Busan', tags: [i, { nested: [i, '],[{}'] }] },
      messageId: `m-${i}`,
    }));
    const text = JSON.stringify({
      batch,
      sentAt: '2025-01-01T00:00:00Z',
      context: { library: { name: 'x' } },
    });
    for (const piece of [1, 50, 1000, 20_000, 1 << 20]) {
      const got = parseJsonBody(utf8(text), piece);
      expect(got).toStrictEqual(JSON.parse(text));
    }
    // Pretty-printed, and as a top-level array.
    expect(parseJsonBody(utf8(JSON.stringify(batch, null, 2)), 100)).toStrictEqual(batch);
    expect(parseJsonBody(utf8(`\ufeff${JSON.stringify({ batch })}`), 100)).toStrictEqual({ batch });
  });

  test('hostile keys and values: __proto__ stays an own key, duplicates keep the last, U+FEFF inside is text', () => {
    for (const text of [
      '{"__proto__":{"polluted":true},"batch":[1,2,3]}',
      '{"batch":[{"__proto__":{"x":1}}],"__proto__":[1,2]}',
      '{"a":1,"a":[2,3],"b":"\\u0000\\ud800","a":{"c":1}}',
      '{"x":"\ufeff","y":["\ufeff"]}',
      '[ 1 , 2 ,\t3\n,[4,[5]] , {"k":"v"} ]',
      '{"1":1,"b":2,"0":0}',
      '{"big":[' + '"],[", '.repeat(200) + '"end"]}',
    ]) {
      expectSame(cut(utf8(text), 4), reference(utf8(text)));
    }
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  test('malformed bodies fail as JSON.parse fails', () => {
    for (const text of [
      '{"batch":[1,2,]}',
      '{"batch":[,1]}',
      '{"batch":[1 2]}',
      '{"batch":[1,2]',
      '{"batch":[1,2]}}',
      '{"batch":[1,2]} x',
      '{"batch" [1]}',
      '{batch:[1]}',
      '{"a":1,}',
      '[1,2}',
      '{"a":[{"b":1]}]}',
      '{"a":"unterminated}',
      '\ufeff\ufeff{"a":1}',
      '{"a":[\ufeff1, 2]}',
      '{"a":[1,\ufeff2]}',
      '{"a":01}',
      '{"a":tru}',
      'nul',
    ]) {
      for (const piece of [1, 2, 3])
        expect(cut(utf8(text), piece).threw, `${text} in pieces of ${piece}`).toBe(true);
      expect(reference(utf8(text)).threw, text).toBe(true);
    }
  });

  test('random JSON, random piece sizes, and random damage: always what JSON.parse gives', () => {
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 4 }),
        fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 30 }),
        fc.constantFrom(undefined, 1, 2, '\t'),
        fc.integer({ min: 1, max: 200 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
        fc.boolean(),
        (extra, batch, indent, piece, damage, asArray) => {
          const text = JSON.stringify(asArray ? batch : { batch, extra, __proto__x: batch }, null, indent);
          const bytes = utf8(text);
          expectSame(cut(bytes, piece), reference(bytes));
          // Change a few bytes: many become malformed, some stay valid with other values.
          const bad = new Uint8Array(bytes);
          for (const [at, byte] of damage) if (bad.length > 0) bad[at % bad.length] = byte;
          expectSame(cut(bad, piece), reference(bad));
        },
      ),
      { numRuns: 400 },
    );
  });

  test('an empty body is undefined; a small one is parsed whole', () => {
    expect(parseJsonBody(new Uint8Array(0))).toBeUndefined();
    expect(parseJsonBody(utf8('{"a":[1]}'))).toEqual({ a: [1] });
    expect(() => parseJsonBody(utf8('{"a":'))).toThrow(SyntaxError);
  });
});
