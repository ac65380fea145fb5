/**
 * The ingestion routes skip measuring a message exactly when a cheap upper bound of its JSON size is
 * under the per-event limit: the bound must never be below the real size, for any JSON value.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { jsonBytesAtMost } from '../../src/api/ingest-routes.js';

const exactBytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v));

describe('jsonBytesAtMost', () => {
  test('is at least the UTF-8 size of the JSON text, for any parsed JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        // Through text and back, as the route sees it (e.g. -0 becomes 0).
        const parsed = JSON.parse(JSON.stringify(v)) as unknown;
        expect(jsonBytesAtMost(parsed, Number.MAX_SAFE_INTEGER)).toBeGreaterThanOrEqual(exactBytes(parsed));
      }),
      { numRuns: 2000 },
    );
  });

  test('holds for the worst strings: control characters, quotes, backslashes, astral and lone surrogates', () => {
    for (const s of ['\u0000\u0001\u001f', '"\\"\\', '😀😀', '\ud800', 'é€', '\u2028\u2029']) {
      const v = { [s]: [s, { s }], n: -Number.MIN_VALUE * 3, m: -Number.MAX_VALUE };
      expect(jsonBytesAtMost(v, Number.MAX_SAFE_INTEGER)).toBeGreaterThanOrEqual(exactBytes(v));
    }
  });

  test('stops early past the limit, still above it', () => {
    const big = { batch: Array.from({ length: 10_000 }, (_, i) => ({ i, s: 'x'.repeat(100) })) };
    const bound = jsonBytesAtMost(big, 32_000);
    expect(bound).toBeGreaterThan(32_000);
    expect(bound).toBeLessThan(40_000);
  });
});
