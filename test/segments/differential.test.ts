/**
 * Segments on the online store agree with the same filter run as SQL on the warehouse: for random
 * expressions over every kind of tag and profile attribute (nulls everywhere), the members the
 * bitmaps give are exactly the entities for which the compiled SQL condition IS TRUE.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { duckdbDialect } from '../../src/compile/duckdb/dialect.js';
import { compileExpr, type Resolver } from '../../src/compile/expression.js';
import { type ProjectConfig, requireProject } from '../../src/config/project.js';
import type { Expr } from '../../src/lang/ir.js';
import { Bitmap } from '../../src/online/bitmap.js';
import { loadStore } from '../../src/online/load.js';
import type { TagStore } from '../../src/online/store.js';
import { evaluateSegment } from '../../src/segments/evaluate.js';
import { compileSegment } from '../../src/segments/segment.js';
import { ident } from '../../src/warehouse/sql.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import { builtFixture } from '../online/fixture.js';

let config: ProjectConfig;
let store: TagStore;
let wh: Warehouse;

beforeAll(async () => {
  const dir = await builtFixture();
  config = requireProject(dir);
  store = await loadStore(config);
  wh = await Warehouse.open(config.engine.path, { readOnly: true });
  return () => wh.close();
});

function sqlMembers(expr: Expr): Promise<string[]> {
  const resolver: Resolver = {
    tag: (name) => `t.${ident(name)}`,
    profile: (_source, column) => `p.${ident(column)}`,
    column: () => {
      throw new Error('no event columns in a segment');
    },
    agg: () => {
      throw new Error('no aggregates in a segment');
    },
    asOf: () => duckdbDialect.instant(store.info.asOfMicros),
  };
  const cond = compileExpr(expr, duckdbDialect, resolver, store.program.timezone);
  return wh
    .objects<{ id: string }>(
      `SELECT CAST(t.entity_id AS VARCHAR) AS id FROM tags.current t
       LEFT JOIN (SELECT * FROM main.customers QUALIFY row_number() OVER (PARTITION BY customer_id) = 1) p
         ON p.customer_id = t.entity_id
       WHERE (${cond}) IS TRUE ORDER BY 1`,
    )
    .then((rows) => rows.map((r) => r.id));
}

async function storeMembers(expr: Expr): Promise<{ ids: string[]; fallbacks: number }> {
  const r = await evaluateSegment(store, expr);
  return { ids: [...r.members.toUint32Array()].map((o) => store.ids[o]!).sort(), fallbacks: r.fallbacks };
}

async function agree(text: string): Promise<{ count: number; fallbacks: number }> {
  const expr = compileSegment(config, store, text);
  const [mine, sql] = await Promise.all([storeMembers(expr), sqlMembers(expr)]);
  expect(mine.ids, text).toEqual(sql);
  return { count: sql.length, fallbacks: mine.fallbacks };
}

/** Atoms over every column kind; the first group is answered by indexes, the second per entity. */
const INDEXED = [
  'big_spender',
  'online_lover',
  'dormant',
  'vip_big',
  'vip',
  'spend_90d > 500',
  'spend_90d <= 120.5',
  'avg_ticket >= 100',
  'avg_ticket < 50',
  'online_share = 0.5',
  'txn_count != 3',
  '10 < txn_count',
  'age >= 40',
  'age between 30 and 45',
  "favourite_category = 'golf'",
  "favourite_category != 'grocery'",
  "favourite_category not in ('grocery', 'travel')",
  "region in ('Seoul', 'Busan')",
  "region in ('Seoul', null)",
  "region not in ('Daegu', null)",
  "region < 'D'",
  'avg_ticket is null',
  'region is not null',
  'online_lover is null',
  'online_lover = false',
  'vip != true',
  "has(top_categories, 'travel')",
  "has(top_categories, 'nothing')",
  "last_seen > timestamp('2025-05-15T00:00:00Z')",
  'last_seen >= as_of - 30d',
  "signup < date('2024-06-01')",
  '(dormant or big_spender) is null',
  'spend_90d > 100 * 5',
  // and-chains whose ranges filter the few candidates the other terms leave (edges at equal values)
  'vip_big and txn_count > 10',
  'vip and age = 40',
  "region = 'Seoul' and vip and age != 40",
  'vip and txn_count <= 10 and age >= 40 and not dormant',
  'big_spender and txn_count < 12 and last_seen >= as_of - 30d',
  'true',
  'false',
];
const PER_ENTITY = [
  'spend_90d / txn_count > 40',
  'coalesce(online_lover, false)',
  'avg_ticket * 2 > spend_90d',
  'if(vip, spend_90d > 100, online_share > 0.3)',
  'size(top_categories) = 2',
  "lower(region) = 'seoul'",
  'spend_90d > avg_ticket',
  'case when vip then big_spender else online_lover end',
  'days_between(last_seen, as_of) < 10',
];

describe('segments agree with SQL on the warehouse', () => {
  it.each([...INDEXED, ...PER_ENTITY])('%s', async (text) => {
    const r = await agree(text);
    expect(r.fallbacks > 0).toBe(PER_ENTITY.includes(text));
  });

  it('three-valued logic: null is neither in a segment nor in its negation', async () => {
    const a = await agree('online_lover');
    const b = await agree('not online_lover');
    const nulls = await agree('online_lover is null');
    expect(a.count + b.count + nulls.count).toBe(store.size);
    expect(nulls.count).toBeGreaterThan(0);
    // false and null is false; true or null is true
    await agree('not (online_lover and false)');
    await agree('online_lover or true');
  });

  it('random combinations of 1 to 6 terms', async () => {
    const atom = fc.constantFrom(...INDEXED, ...PER_ENTITY);
    const expr: fc.Arbitrary<string> = fc.letrec<{ e: string }>((tie) => ({
      e: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        atom,
        fc.tuple(tie('e'), fc.constantFrom('and', 'or'), tie('e')).map(([a, op, b]) => `(${a}) ${op} (${b})`),
        tie('e').map((a) => `not (${a})`),
      ),
    })).e;
    await fc.assert(
      fc.asyncProperty(expr, async (text) => {
        await agree(text);
      }),
      { numRuns: 150, seed: 20_250_630 },
    );
  });
});

describe('an evaluation frees the bitmaps it made, and only those', () => {
  it('frees its intermediate sets, never its result, and the store answers every expression the same afterwards', async () => {
    // Chains of and/or/not/in/is-null and a per-entity fallback: their intermediate sets are the
    // evaluation's own (roaring reports their memory to V8, which would collect for them otherwise).
    const texts = [
      "vip and not dormant and region in ('Seoul', 'Busan') and online_lover",
      '(dormant or big_spender) is null',
      "not (vip or big_spender) and region not in ('Daegu', null)",
      'spend_90d / txn_count > 40 and vip',
      // The false-set of a comparison reads the column's own non-null set: that one must survive.
      'not (avg_ticket < 50) and vip',
    ];
    const disposed: unknown[] = [];
    const original = Bitmap.prototype.dispose;
    const spy = vi.spyOn(Bitmap.prototype, 'dispose').mockImplementation(function (this: Bitmap) {
      disposed.push(this);
      original.call(this);
    });
    try {
      for (const text of texts) {
        disposed.length = 0;
        const expr = compileSegment(config, store, text);
        const sql = await sqlMembers(expr);
        const r = await evaluateSegment(store, expr);
        expect(disposed.length, text).toBeGreaterThan(0);
        expect(disposed.includes(r.members), text).toBe(false);
        expect([...r.members.toUint32Array()].map((o) => store.ids[o]!).sort(), text).toEqual(sql);
      }
    } finally {
      spy.mockRestore();
    }
    // Nothing of the store was freed: every atom still agrees with SQL.
    for (const text of INDEXED) await agree(text);
  });
});
