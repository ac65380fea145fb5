/**
 * The column-wise evaluator (src/segments/columnwise.ts) gives, for every entity, exactly what the
 * reference evaluator gives entity by entity — true, false or null — for random expressions over
 * every kind of tag and profile attribute: arithmetic with nulls, division by zero, overflow to
 * Infinity and NaN, times and durations, text against constants, `in` lists with nulls, functions and
 * `case` (evaluated per entity inside a column-wise parent), and slices of any size.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ProjectConfig, requireProject } from '../../src/config/project.js';
import type { RefValue } from '../../src/lang/functions.js';
import { loadStore } from '../../src/online/load.js';
import type { TagStore } from '../../src/online/store.js';
import { entityScope } from '../../src/recs/entity-scope.js';
import { evalExpr } from '../../src/reference/expression.js';
import { ColumnwisePlan } from '../../src/segments/columnwise.js';
import { evaluateSegment } from '../../src/segments/evaluate.js';
import { compileSegment } from '../../src/segments/segment.js';
import { builtFixture } from '../online/fixture.js';

let config: ProjectConfig;
let store: TagStore;

beforeAll(async () => {
  config = requireProject(await builtFixture());
  store = await loadStore(config);
});

/** The reference answer per entity (segments read the build's as-of time). */
function reference(text: string): RefValue[] {
  const expr = compileSegment(config, store, text);
  const out: RefValue[] = [];
  for (let o = 0; o < store.size; o++) {
    out.push(evalExpr(expr, { ...entityScope(store, o), asOfMicros: store.info.asOfMicros }));
  }
  return out;
}

/** The column-wise answer per entity, computed in slices of `slice` entities. */
function columnwise(text: string, slice: number): { values: RefValue[]; perEntityNodes: number } {
  const plan = new ColumnwisePlan(store, compileSegment(config, store, text));
  const values: RefValue[] = new Array(store.size).fill(null);
  const t = new Uint32Array(slice);
  const f = new Uint32Array(slice);
  for (let s = 0; s < store.size; s += slice) {
    const { nt, nf } = plan.split(s, Math.min(store.size, s + slice), t, f);
    for (let k = 0; k < nt; k++) values[t[k]!] = true;
    for (let k = 0; k < nf; k++) values[f[k]!] = false;
  }
  return { values, perEntityNodes: plan.perEntityNodes };
}

function agree(text: string, slice = 64): { perEntityNodes: number; nulls: number } {
  const ref = reference(text);
  const mine = columnwise(text, slice);
  expect(mine.values, text).toEqual(ref);
  return { perEntityNodes: mine.perEntityNodes, nulls: ref.filter((v) => v === null).length };
}

const NUMBERS = [
  'spend_90d',
  'txn_count',
  'avg_ticket',
  'online_share',
  'age',
  '0',
  '2.5',
  '-3',
  '(txn_count - txn_count)',
  '(spend_90d * 1e200 * 1e200)',
  'coalesce(avg_ticket, 0)',
  'abs(spend_90d - 100)',
  'case when vip then age else txn_count end',
];
const BOOLEANS = [
  'big_spender',
  'online_lover',
  'dormant',
  'vip',
  'vip_big',
  'true',
  "region = 'Seoul'",
  "region < 'D'",
  "favourite_category != 'grocery'",
  "region in ('Seoul', null)",
  "favourite_category not in ('golf', 'travel')",
  "has(top_categories, 'travel')",
  'last_seen > as_of - 30d',
  "last_seen + 7d >= timestamp('2025-06-01T00:00:00Z')",
  "signup < date('2024-06-01')",
  'top_categories is null',
  "lower(region) = 'seoul'",
];

const numExpr: fc.Arbitrary<string> = fc.letrec<{ n: string }>((tie) => ({
  n: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(...NUMBERS),
    fc
      .tuple(tie('n'), fc.constantFrom('+', '-', '*', '/', '%'), tie('n'))
      .map(([a, op, b]) => `(${a} ${op} ${b})`),
    tie('n').map((a) => `-(${a})`),
  ),
})).n;

const boolExpr: fc.Arbitrary<string> = fc.letrec<{ b: string }>((tie) => ({
  b: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(...BOOLEANS),
    fc
      .tuple(numExpr, fc.constantFrom('=', '!=', '<', '<=', '>', '>='), numExpr)
      .map(([a, op, b]) => `${a} ${op} ${b}`),
    fc.tuple(numExpr, fc.boolean()).map(([a, neg]) => `${a} ${neg ? 'not in' : 'in'} (1, 2.5, 10, null)`),
    fc.tuple(numExpr, fc.boolean()).map(([a, neg]) => `${a} ${neg ? 'not in' : 'in'} (0, 3)`),
    fc.tuple(tie('b'), fc.constantFrom('and', 'or'), tie('b')).map(([a, op, b]) => `(${a}) ${op} (${b})`),
    fc.tuple(tie('b'), fc.constantFrom('=', '!='), tie('b')).map(([a, op, b]) => `(${a}) ${op} (${b})`),
    tie('b').map((a) => `not (${a})`),
    tie('b').map((a) => `(${a}) is null`),
    tie('b').map((a) => `(${a}) in (true, null)`),
    numExpr.map((a) => `(${a}) is not null`),
  ),
})).b;

describe('column-wise evaluation agrees with the reference evaluator entity by entity', () => {
  it.each([
    'spend_90d / txn_count > 40',
    'avg_ticket * 2 > spend_90d',
    'spend_90d > avg_ticket',
    'spend_90d / (txn_count - txn_count) is null',
    // Infinity - Infinity is NaN: a number (comparisons false), not null.
    '(spend_90d * 1e200 * 1e200) - (spend_90d * 1e200 * 1e200) > 0',
    'not ((spend_90d * 1e200 * 1e200) - (spend_90d * 1e200 * 1e200) > 0)',
    'txn_count % 3 = 0 and not vip',
    'age in (30, 31, null)',
    'age not in (30, 31)',
    'vip in (true, null)',
    "region in ('Seoul', 'Busan') or spend_90d - avg_ticket > 50",
    'last_seen - 10d > as_of - 30d',
    'if(vip, spend_90d > 100, online_share > 0.3)',
  ])('%s', (text) => {
    agree(text);
  });

  it('nodes it cannot vectorize run entity by entity inside a column-wise parent', () => {
    expect(agree('coalesce(avg_ticket, 0) * 2 > spend_90d').perEntityNodes).toBe(1);
    expect(agree('spend_90d / txn_count > 40').perEntityNodes).toBe(0);
  });

  it('random expressions, slices of 1 to 500 entities', () => {
    fc.assert(
      fc.property(boolExpr, fc.integer({ min: 1, max: 500 }), (text, slice) => {
        agree(text, slice);
      }),
      { numRuns: 300, seed: 20_251_129 },
    );
  });

  it('evaluateSegment gives the same members and non-members column-wise and per entity', async () => {
    for (const text of ['spend_90d / txn_count > 40 and not dormant', 'age * 2 < txn_count or vip']) {
      const expr = compileSegment(config, store, text);
      const neg = compileSegment(config, store, `not (${text})`);
      for (const e of [expr, neg]) {
        const a = await evaluateSegment(store, e);
        const b = await evaluateSegment(store, e, { perEntity: true });
        expect(a.members.toArray(), text).toEqual(b.members.toArray());
        expect(a.members.size).toBeGreaterThan(0);
      }
    }
  });
});
