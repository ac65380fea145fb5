/**
 * The top k by bounded insertion (insertRanked) must equal a full sort and a slice, in the order the
 * reference sorts: score descending, then value, ties in arrival order.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { ListItem } from '../../src/lang/functions.js';
import { insertRanked } from '../../src/reference/kinds.js';

const bySort = (items: readonly ListItem[], k: number) =>
  [...items]
    .sort((x, y) => y.score - x.score || (x.value < y.value ? -1 : x.value > y.value ? 1 : 0))
    .slice(0, k);

describe('insertRanked', () => {
  test('keeps the same top k as sorting everything, for any scores, ties and k', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ maxLength: 3 }), { maxLength: 40 }),
        fc.array(
          fc.oneof(fc.integer({ min: -3, max: 3 }), fc.double({ noNaN: true }), fc.constant(Infinity)),
        ),
        fc.integer({ min: 0, max: 6 }),
        (values, scores, k) => {
          const items = values.map((value, i) => ({
            value,
            score: scores.length ? scores[i % scores.length]! : 0,
          }));
          const top: ListItem[] = [];
          for (const it of items) insertRanked(top, it.value as string, it.score, k);
          expect(top).toEqual(bySort(items, k));
        },
      ),
      { numRuns: 500 },
    );
  });

  test('equal scores rank by value; the list never grows past k', () => {
    const top: ListItem[] = [];
    for (const [value, score] of [
      ['b', 2],
      ['a', 2],
      ['z', 9],
      ['c', 2],
      ['y', 1],
    ] as const)
      insertRanked(top, value, score, 3);
    expect(top).toEqual([
      { value: 'z', score: 9 },
      { value: 'a', score: 2 },
      { value: 'b', score: 2 },
    ]);
  });
});
