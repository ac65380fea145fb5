/**
 * The profile JSON writers in src/online/columns.ts print exactly what JSON.stringify and
 * Date#toISOString print: numbers of every magnitude and precision, times and dates of any year.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isoFromMicros, numberText } from '../../src/online/columns.js';

describe('numberText is JSON.stringify for numbers', () => {
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

  it('random doubles, and decimals with up to 8 places', () => {
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
});
