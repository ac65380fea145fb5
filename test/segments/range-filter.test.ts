/**
 * A numeric comparison inside an `and` chain may filter the candidates the other terms leave by value
 * instead of building its range from the sorted index (src/segments/evaluate.ts): both ways give the
 * same true-set, and the size it reports without building it is that set's size — for every numeric
 * column of the fixture (nulls, ties, times, dates), every operator, and constants at, between and
 * beyond the values present.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { requireProject } from '../../src/config/project.js';
import { Bitmap } from '../../src/online/bitmap.js';
import { type NumberColumn, numberRange, type RangeOp } from '../../src/online/columns.js';
import { loadStore } from '../../src/online/load.js';
import type { TagStore } from '../../src/online/store.js';
import { numberRangeFilter } from '../../src/segments/evaluate.js';
import { builtFixture, prng } from '../online/fixture.js';

let store: TagStore;

beforeAll(async () => {
  store = await loadStore(requireProject(await builtFixture()));
});

const OPS: RangeOp[] = ['=', '!=', '<', '<=', '>', '>='];

describe('numeric ranges: filtering candidates by value agrees with the sorted index', () => {
  it('every numeric column, operator and constant', () => {
    const columns = [...store.tags.entries(), ...store.profiles.entries()].filter(
      (e): e is [string, NumberColumn] => e[1].kind === 'number',
    );
    expect(columns.length).toBeGreaterThanOrEqual(5);
    const rnd = prng(7);
    // A random half of the entities as the candidates an `and` left.
    const half = new Bitmap();
    for (let o = 0; o < store.size; o++) if (rnd() < 0.5) half.add(o);
    let checked = 0;
    for (const [name, col] of columns) {
      const present = [...new Set([...col.values].filter((v) => !Number.isNaN(v)))].sort((a, b) => a - b);
      expect(present.length, name).toBeGreaterThan(3);
      const constants = [
        present[0]! - 1,
        ...present.filter((_, i) => i % 7 === 0),
        present[present.length - 1]!,
        present[present.length - 1]! + 1,
        (present[1]! + present[2]!) / 2,
      ];
      for (const c of constants) {
        for (const op of OPS) {
          const expected = numberRange(col, op, c);
          const f = numberRangeFilter(col, op, c);
          expect(f.count(), `${name} ${op} ${c}`).toBe(expected.size);
          expect(f.within(store.all).toArray(), `${name} ${op} ${c}`).toEqual(expected.toArray());
          expect(f.within(half).toArray()).toEqual(Bitmap.and(half, expected).toArray());
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(300);
  });
});
