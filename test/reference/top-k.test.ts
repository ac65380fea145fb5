/**
 * The top k by bounded insertion (TopK) must equal a full sort and a slice, in the order the
 * reference sorts: score descending, then value, ties in arrival order.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { ListItem } from '../../src/lang/functions.js';
import { rankTop, TopK } from '../../src/reference/kinds.js';

const bySort = (items: readonly ListItem[], k: number) =>
  [...items]
    .sort((x, y) => y.score - x.score || (x.value < y.value ? -1 : x.value > y.value ? 1 : 0))
    .slice(0, k);

describe('TopK', () => {
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
          const top = rankTop(k);
          for (const it of items) top.offer(it.value as string, it.score);
          expect(top.items()).toEqual(bySort(items, k));
          expect(top.first()).toBe(k > 0 ? (bySort(items, 1)[0]?.value ?? null) : null);
        },
      ),
      { numRuns: 500 },
    );
  });

  test('equal scores rank by value; the list never grows past k', () => {
    const top = new TopK().begin(3);
    for (const [value, score] of [
      ['b', 2],
      ['a', 2],
      ['z', 9],
      ['c', 2],
      ['y', 1],
    ] as const)
      top.offer(value, score);
    expect(top.items()).toEqual([
      { value: 'z', score: 9 },
      { value: 'a', score: 2 },
      { value: 'b', score: 2 },
    ]);
    // Started again: nothing of the last round is left.
    top.begin(2).offer('q', 1);
    expect(top.items()).toEqual([{ value: 'q', score: 1 }]);
    expect(new TopK().begin(1).first()).toBeNull();
  });
});
