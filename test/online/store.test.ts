import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ProjectConfig, requireProject } from '../../src/config/project.js';
import { build } from '../../src/engine/build.js';
import type { TagProgram } from '../../src/lang/ir.js';
import { Bitmap } from '../../src/online/bitmap.js';
import {
  BUCKET_SIZE,
  booleanColumn,
  type Column,
  jsonValue,
  type ListColumn,
  listColumn,
  NULL_BOOL,
  type NumberColumn,
  numberColumn,
  numberRange,
  type RangeOp,
  refValue,
  sortByValue,
  stringColumn,
} from '../../src/online/columns.js';
import { applyUpdates } from '../../src/online/live.js';
import { loadStore } from '../../src/online/load.js';
import { readSnapshot, snapshotKey, snapshotPath, writeSnapshot } from '../../src/online/snapshot.js';
import { type ProfileSelection, TagStore } from '../../src/online/store.js';
import { openStore, StoreHolder } from '../../src/online/store-holder.js';
import { query } from '../helpers.js';
import { builtFixture, CUSTOMERS, prng } from './fixture.js';

let dir: string;
let config: ProjectConfig;
let store: TagStore;

beforeAll(async () => {
  dir = await builtFixture();
  config = requireProject(dir);
  store = await loadStore(config);
});

/** tags.current rendered the way the store renders values (times ISO, lists as {value, score}). */
async function currentRows(): Promise<Map<string, Record<string, unknown>>> {
  const rows = await query(config.engine.path, 'SELECT * FROM tags.current ORDER BY entity_id');
  return new Map(rows.map((r) => [String(r.entity_id), r]));
}

describe('the online store', () => {
  it('holds every built entity, in entity id order, with dense ordinals', () => {
    expect(store.size).toBe(CUSTOMERS);
    expect(store.ids[0]).toBe('C0001');
    expect(store.ids[CUSTOMERS - 1]).toBe('C0400');
    expect(store.ordinal('C0042')).toBe(41);
    expect(store.ordinal('nobody')).toBeUndefined();
  });

  it('serves exactly the values in tags.current, for every entity and every tag', async () => {
    const rows = await currentRows();
    let nulls = 0;
    for (const id of store.ids) {
      const row = rows.get(id)!;
      const p = store.profile(id);
      // Every tag once, under its category, the categories in the store's order.
      expect(Object.keys(p.categories)).toEqual([...store.categories]);
      const names = Object.values(p.categories).flatMap((list) => list.map((t) => t.name));
      expect(names.sort()).toEqual(store.program.tags.map((t) => t.name as string).sort());
      for (const list of Object.values(p.categories)) {
        for (const t of list) {
          const expected = row[t.name] ?? null;
          if (expected === null) nulls++;
          expect(t.value, `${id}.${t.name}`).toEqual(expected);
        }
      }
    }
    expect(nulls).toBeGreaterThan(100); // customers without payments: null avg, share, category, time
  });

  it('writes the same profile as JSON text straight from the columns', () => {
    for (const id of store.ids) {
      for (const sel of SELECTIONS) expectSameJson(store, id, sel);
      expect(JSON.parse(store.profileJson(id))).toEqual(store.profile(id));
      expect(JSON.parse(store.profileJson(id, { category: 'preference' }))).toEqual(
        store.profile(id, { category: 'preference' }),
      );
      const tags = ['top_categories', 'last_seen', 'online_lover'];
      expect(JSON.parse(store.profileJson(id, { tags }))).toEqual(store.profile(id, { tags }));
    }
    expect(() => store.profileJson('C0001', { tags: ['nope'] })).toThrow(/unknown tag 'nope'/);
    expect(() => store.profileJson('nobody')).toThrow(/no customer 'nobody'/);
  });

  it('reads profile attributes joined by entity id, nulls included', async () => {
    const rows = await query<{ customer_id: string; region: string | null; age: number | null }>(
      config.engine.path,
      'SELECT customer_id, region, age FROM main.customers',
    );
    for (const r of rows) {
      const ord = store.ordinal(r.customer_id)!;
      expect(refValue(store.profiles.get('customers.region')!, ord)).toBe(r.region);
      expect(refValue(store.profiles.get('customers.age')!, ord)).toBe(r.age);
    }
  });

  it('selects tags by name or by category, and names unknown ones', () => {
    const p = store.profile('C0001', { tags: ['spend_90d', 'favourite_category'] });
    expect(
      Object.values(p.categories)
        .flat()
        .map((t) => t.name),
    ).toEqual(['spend_90d', 'favourite_category']);
    const pref = store.profile('C0001', { category: 'preference' });
    expect(Object.keys(pref.categories)).toEqual(['preference']);
    expect(
      pref.categories.preference!.every((t) =>
        ['online_share', 'online_lover', 'favourite_category', 'top_categories'].includes(t.name),
      ),
    ).toBe(true);
    expect(() => store.profile('C0001', { tags: ['spend_9d'] })).toThrow(/unknown tag 'spend_9d'/);
    expect(() => store.profile('C0001', { category: 'hobby' })).toThrow(/unknown category 'hobby'/);
    expect(() => store.profile('X')).toThrow(/no customer 'X'/);
  });

  it('writes a snapshot that reads back into an identical store', () => {
    const file = snapshotPath(config.engine.path);
    writeSnapshot(store, 'k-test', file);
    expect(snapshotKey(file)).toBe('k-test');
    const { store: back } = readSnapshot(file);
    expect(back.info.loadedFrom).toBe('snapshot');
    expect(back.ids).toEqual(store.ids);
    for (const [name, col] of store.tags) {
      const other = back.tags.get(name)!;
      for (let i = 0; i < store.size; i++) expect(jsonValue(other, i)).toEqual(jsonValue(col, i));
    }
    for (const [name, col] of store.profiles) {
      const other = back.profiles.get(name)!;
      for (let i = 0; i < store.size; i++) expect(refValue(other, i)).toEqual(refValue(col, i));
    }
    expect(back.program.tags.map((t) => t.name)).toEqual(store.program.tags.map((t) => t.name));
  });

  it('starts from the snapshot when it holds the latest build, and from the warehouse after a new build', async () => {
    const first = await openStore(config);
    const again = await openStore(config);
    expect(again.store.info.loadedFrom).toBe('snapshot');
    expect(again.key).toBe(first.key);
    const mtime = statSync(snapshotPath(config.engine.path)).mtimeMs;
    await build(dir, { asOf: '2025-05-31' });
    const fresh = await openStore(config);
    expect(fresh.store.info.loadedFrom).toBe('warehouse');
    expect(fresh.key).not.toBe(first.key);
    expect(statSync(snapshotPath(config.engine.path)).mtimeMs).toBeGreaterThan(mtime);
    // Restore the June build for the other tests.
    await build(dir, { asOf: '2025-06-30' });
  });

  it('reloads atomically: a reader keeps its whole store while a new build is swapped in', async () => {
    const holder = await StoreHolder.open(config, { snapshot: false });
    const before = holder.current;
    const spendBefore = before.profile('C0001', { tags: ['spend_90d'] }).categories.behavior![0]!.value;
    expect((await holder.reload()).reloaded).toBe(false);
    await build(dir, { asOf: '2025-04-30' });
    const r = await holder.reload();
    expect(r.reloaded).toBe(true);
    expect(holder.current).not.toBe(before);
    expect(holder.current.info.buildId).toBeGreaterThan(before.info.buildId);
    // The old store is untouched: in-flight requests finish on the build they started with.
    expect(before.profile('C0001', { tags: ['spend_90d'] }).categories.behavior![0]!.value).toBe(spendBefore);
    const rows = await currentRows();
    for (const id of ['C0001', 'C0002', 'C0100']) {
      expect(holder.current.profile(id, { tags: ['spend_90d'] }).categories.behavior![0]!.value).toBe(
        rows.get(id)!.spend_90d,
      );
    }
    await build(dir, { asOf: '2025-06-30' });
    holder.stop();
  });
});

/** Whole profiles, one category, and tags picked across categories (repeated, out of catalog order). */
const SELECTIONS: ProfileSelection[] = [
  {},
  { category: 'preference' },
  { category: 'condition' },
  { tags: ['top_categories', 'last_seen', 'online_lover'] },
  { tags: ['last_seen', 'spend_90d', 'last_seen'] },
  { tags: [] },
];

/** The bytes the API sends are exactly JSON.stringify of the profile object, as UTF-8. */
/**
 * Profiles are read from the store's records (rows.ts): they must show what the columns hold, and the
 * bytes must be those of the objects.
 */
function expectSameJson(s: TagStore, id: string, sel: ProfileSelection): void {
  const profile = s.profile(id, sel);
  const bytes = s.profileBytes(id, sel);
  expect(bytes.equals(Buffer.from(JSON.stringify(profile), 'utf8')), `${id} ${JSON.stringify(sel)}`).toBe(
    true,
  );
  expectColumnValues(s, id, profile);
}

/** Every value of a profile equals the one in its tag's column (the records are a copy). */
function expectColumnValues(s: TagStore, id: string, profile = s.profile(id)): void {
  const o = s.ordinal(id)!;
  for (const list of Object.values(profile.categories)) {
    for (const item of list)
      expect(item.value, `${id} ${item.name}`).toEqual(jsonValue(s.tags.get(item.name)!, o));
  }
}

/**
 * A store built column by column: every value type, nulls, awkward numbers, times and dates far from
 * today, and text that JSON must escape or that is not ASCII (in ids, titles, values and list items).
 */
function syntheticStore(): TagStore {
  const ids = ['A', 'B', 'C', '고객😀', 'quote"back\\slash', 'ctl\u0001\u2028'];
  const n = ids.length;
  const nums = [0, -0, 0.1 + 0.2, -1234.56, 1e21, 5e-324, Number.MAX_SAFE_INTEGER, 123456789.123456];
  const tags = new Map<string, Column>([
    ['flag', booleanColumn(Uint8Array.from({ length: n }, (_, i) => [0, 1, NULL_BOOL][i % 3]!))],
    [
      'amount',
      numberColumn(
        'number',
        Float64Array.from({ length: n }, (_, i) => (i === 2 ? Number.NaN : nums[i]!)),
      ),
    ],
    [
      'more',
      numberColumn(
        'number',
        Float64Array.from({ length: n }, (_, i) => nums[(i + 5) % nums.length]!),
      ),
    ],
    [
      'seen',
      numberColumn(
        'time',
        Float64Array.from([
          0,
          -1,
          Number.NaN,
          Date.UTC(2025, 5, 30, 23, 59, 59, 999) * 1000 + 999,
          -6e16,
          2.5e17,
        ]),
      ),
    ],
    ['born', numberColumn('date', Float64Array.from([0, -1, 20_000, Number.NaN, -800_000, 3_000_000]))],
    [
      'city',
      stringColumn(['서울', 'Busan "port"', 'tab\tnew\nline', '😀'], Int32Array.from([0, 1, -1, 2, 3, 0])),
    ],
    [
      'top',
      listColumn(
        ['커피', 'a\\b', 'plain'],
        Uint32Array.from([0, 2, 2, 3, 3, 6, 6]),
        Uint32Array.from([0, 1, 2, 2, 1, 0]),
        Float64Array.from([3, 0.5, 1 / 3, 1e-7, 2, -0]),
        new Bitmap([0, 1, 2, 4, 5]),
      ),
    ],
  ]);
  const meta = (name: string, category: string, type: string, title = name) => ({
    name,
    title,
    description: '',
    category,
    owner: 'test',
    status: 'approved',
    type,
    kind: 'derived',
    aggregates: [],
    dependsOn: [],
    definition: { name },
    file: 'tags.yaml',
    line: 1,
  });
  const program = {
    tags: [
      meta('flag', 'behavior', 'boolean', 'Flag ✓ "quoted"'),
      meta('amount', 'behavior', 'number'),
      meta('seen', 'behavior', 'time'),
      meta('city', 'preference', 'category', '도시'),
      meta('top', 'preference', 'list'),
      meta('born', 'condition', 'date'),
      meta('more', 'behavior', 'number'),
    ],
    timezone: 'UTC',
    entityKeys: {},
    timeColumns: {},
    profiles: [],
    eventSources: [],
  } as unknown as TagProgram;
  return new TagStore({
    ids,
    tags,
    profiles: new Map(),
    program,
    schemas: new Map(),
    categories: ['behavior', 'preference', 'condition', 'empty'],
    coverage: [],
    info: {
      project: 'synthetic',
      entityName: 'customer',
      buildId: 7,
      asOfMicros: Date.UTC(2025, 5, 30) * 1000,
      loadedFrom: 'warehouse',
      loadedAt: new Date(0).toISOString(),
      loadMs: 0,
    },
  });
}

describe('profile JSON bytes', () => {
  it('are JSON.stringify of the profile for every value type, nulls, escapes and non-ASCII text', () => {
    const s = syntheticStore();
    const sels: ProfileSelection[] = [
      {},
      { category: 'preference' },
      { category: 'empty' },
      { tags: ['born', 'flag', 'top', 'amount'] },
    ];
    for (const id of s.ids) for (const sel of sels) expectSameJson(s, id, sel);
    const p = JSON.parse(s.profileJson('고객😀'));
    expect(p.categories.preference).toEqual([
      { name: 'city', title: '도시', type: 'category', value: 'tab\tnew\nline' },
      { name: 'top', title: 'top', type: 'list', value: null },
    ]);
    expect(p.categories.empty).toEqual([]);
    expect(() => s.profileBytes('nobody')).toThrow(/no customer 'nobody'/);
    expect(() => s.profileBytes('A', { tags: ['flag', 'nope'] })).toThrow(/unknown tag 'nope'/);
    expect(() => s.profileBytes('A', { category: 'hobby' })).toThrow(/unknown category 'hobby'/);
  });

  it('follow real-time changes: new entities, new dictionary values, per-entity as-of times', () => {
    const s = syntheticStore();
    for (const id of s.ids) expectSameJson(s, id, {});
    applyUpdates(s, [
      {
        id: 'B',
        tags: { city: '새 도시 ☕', top: [{ value: 'new "item"', score: 1.5 }], seen: 1_700_000_000_123_456 },
        asOf: 1_751_328_000_000_000,
      },
      { id: 'nouveau client é', tags: { flag: true, born: 19_000, top: [] } },
    ]);
    expect(s.size).toBe(7);
    for (const id of s.ids) for (const sel of [{}, { tags: ['city', 'top'] }]) expectSameJson(s, id, sel);
    const b = JSON.parse(s.profileJson('B'));
    expect(b.asOf).toBe('2025-07-01T00:00:00.000Z');
    expect(b.categories.preference[0].value).toBe('새 도시 ☕');
  });

  it('keep list tags equal to a plain model over random batches of edits (values, members, bitmaps)', () => {
    const item = fc.record({
      value: fc.constantFrom('커피', 'a\\b', 'plain', 'new', 'x"y'),
      score: fc.oneof(fc.double({ noNaN: true }), fc.constant(Number.NaN)),
    });
    const list = fc.oneof(fc.constant(null), fc.array(item, { maxLength: 4 }));
    const batch = fc.array(fc.tuple(fc.nat({ max: 8 }), list), { maxLength: 6 });
    fc.assert(
      fc.property(fc.array(batch, { minLength: 1, maxLength: 5 }), (batches) => {
        const s = syntheticStore();
        const col = s.tags.get('top') as ListColumn;
        const model = new Map<string, unknown>(s.ids.map((id) => [id, refValue(col, s.ordinal(id)!)]));
        for (const edits of batches) {
          // Ordinals past the store's entities are new entities.
          const updates = edits.map(([o, items]) => ({
            id: o < s.ids.length ? s.ids[o]! : `new-${o}`,
            tags: { top: items },
          }));
          applyUpdates(s, updates as never);
          for (const u of updates) {
            const items = u.tags.top;
            // Duplicated values keep their first place, as the column keeps them all in order.
            model.set(u.id, items === null ? null : items.map((x) => ({ value: x.value, score: x.score })));
          }
          for (const id of s.ids) if (!model.has(id)) model.set(id, null);
          const live = s.tags.get('top') as ListColumn;
          for (const [id, want] of model) {
            const o = s.ordinal(id)!;
            expect(refValue(live, o), id).toEqual(want);
            expect(live.nonNull.has(o), id).toBe(want !== null);
            const values = new Set(((want as { value: string }[] | null) ?? []).map((x) => x.value));
            for (const [code, v] of live.dict.entries()) {
              expect(live.sets[code]!.has(o), `${id} ${v}`).toBe(values.has(v));
            }
          }
          for (const id of s.ids) expectSameJson(s, id, {});
        }
      }),
      { numRuns: 200 },
    );
  });

  it('take a new entity per batch, thousands of times, without a copy of every column each time', () => {
    const s = syntheticStore();
    const amount = s.tags.get('amount') as NumberColumn;
    let copies = 0;
    let buffer = amount.values.buffer;
    const added: string[] = [];
    for (let b = 0; b < 3000; b++) {
      const id = `n${b}`;
      added.push(id);
      applyUpdates(s, [
        {
          id,
          tags: {
            amount: b / 4,
            flag: b % 3 === 0 ? true : b % 3 === 1 ? false : null,
            city: `city ${b % 7}`,
            top: [{ value: `v${b % 5}`, score: b }],
          },
        },
      ]);
      const now = (s.tags.get('amount') as NumberColumn).values.buffer;
      if (now !== buffer) copies++;
      buffer = now;
    }
    // Grown by half each time it is full: a handful of copies, not one per batch.
    expect(copies).toBeLessThan(20);
    expect(s.size).toBe(6 + 3000);
    const check = (store: TagStore) => {
      for (const col of store.tags.values()) {
        const arrays =
          col.kind === 'list' ? [col.starts, col.ends] : [col.kind === 'string' ? col.codes : col.values];
        for (const a of arrays) expect(a.length).toBe(store.size);
      }
      for (const [b, id] of added.entries()) {
        const p = JSON.parse(store.profileJson(id));
        const values = Object.fromEntries(
          Object.values(p.categories as Record<string, { name: string; value: unknown }[]>)
            .flat()
            .map((t) => [t.name, t.value]),
        );
        expect(values.amount, id).toBe(b / 4);
        expect(values.flag, id).toBe(b % 3 === 0 ? true : b % 3 === 1 ? false : null);
        expect(values.city, id).toBe(`city ${b % 7}`);
        expect(values.top, id).toEqual([{ value: `v${b % 5}`, score: b }]);
        expect(values.more, id).toBeNull();
      }
      for (const id of store.ids.slice(0, 6)) expectSameJson(store, id, {});
    };
    check(s);
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'tv-grow-')), 'store.snapshot');
    writeSnapshot(s, 'k', file);
    check(readSnapshot(file).store);
  });

  it('keep their records right past a chunk of 65,536 entities, and through a snapshot', () => {
    const s = syntheticStore();
    const rnd = prng(3);
    const n = 70_000;
    for (let from = 0; from < n; from += 10_000) {
      applyUpdates(
        s,
        Array.from({ length: Math.min(10_000, n - from) }, (_, k) => {
          const b = from + k;
          return {
            id: `m${b}`,
            tags: {
              amount: rnd() < 0.1 ? null : b / 8,
              flag: b % 3 === 0 ? true : b % 3 === 1 ? false : null,
              city: b % 11 === 0 ? null : `city ${b % 13}`,
              seen: b * 1_000_000,
              top: b % 5 === 0 ? null : [{ value: `v${b % 7}`, score: b }],
            },
          };
        }),
      );
    }
    // Then change entities on both sides of the first chunk's end again.
    const edge = s.ids.slice(65_530, 65_542);
    applyUpdates(
      s,
      edge.map((id, k) => ({
        id,
        tags: { amount: -k, flag: null, city: 'edge', top: [{ value: 'e', score: k }] },
      })),
    );
    expect(s.size).toBe(6 + n);
    const check = (store: TagStore) => {
      for (const id of edge)
        expect(JSON.parse(store.profileJson(id)).categories.preference[0].value).toBe('edge');
      for (let o = 0; o < store.size; o += 97) expectColumnValues(store, store.ids[o]!);
      for (const id of [...edge, store.ids[store.size - 1]!]) expectSameJson(store, id, {});
    };
    check(s);
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'tv-chunk-')), 'store.snapshot');
    writeSnapshot(s, 'k', file);
    check(readSnapshot(file).store);
  });

  it('keep list tags right through thousands of edits (arrays growing and packed again) and in a snapshot', () => {
    const s = syntheticStore();
    const rnd = prng(11);
    const values = ['커피', 'a\\b', 'plain', 'new', 'x"y'];
    const model = new Map<string, unknown>();
    let grew = 0;
    let packed = 0;
    for (let b = 0; b < 3000; b++) {
      const updates = [0, 1, 2].map(() => {
        const o = Math.floor(rnd() * 9);
        const n = Math.floor(rnd() * 7) - 1;
        const items =
          n < 0
            ? null
            : Array.from({ length: n }, (_, i) => ({
                value: values[Math.floor(rnd() * 5)]!,
                score: b + i / 8,
              }));
        return { id: o < 6 ? s.ids[o]! : `new-${o}`, tags: { top: items } };
      });
      const before = (s.tags.get('top') as ListColumn).items;
      applyUpdates(s, updates as never);
      for (const u of updates) model.set(u.id, u.tags.top);
      const col = s.tags.get('top') as ListColumn;
      if (col.items !== before) {
        if (col.items.length > before.length) grew++;
        else {
          packed++;
          // Packing moves every list: profiles must follow at once, not when an entity is next edited.
          for (const id of s.ids) expectColumnValues(s, id);
        }
      }
      // The arrays stay within a few times what the lists hold (stale slots are reclaimed).
      let live = 0;
      for (let o = 0; o < s.size; o++) live += col.ends[o]! - col.starts[o]!;
      expect(col.items.length).toBeLessThan(4 * live + 4096);
    }
    expect(grew, 'arrays grown').toBeGreaterThan(0);
    expect(packed, 'arrays packed again').toBeGreaterThan(0);
    const check = (store: TagStore) => {
      const col = store.tags.get('top') as ListColumn;
      for (const id of store.ids) {
        const o = store.ordinal(id)!;
        const want = model.has(id) ? model.get(id) : refValue(syntheticStore().tags.get('top')!, o);
        expect(refValue(col, o), id).toEqual(want);
      }
    };
    check(s);
    for (const id of s.ids) expectSameJson(s, id, {});
    // A snapshot stores the lists packed, and reads back the same values.
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'tv-lists-')), 'store.snapshot');
    writeSnapshot(s, 'k', file);
    const back = readSnapshot(file).store;
    expect((back.tags.get('top') as ListColumn).starts[0]).toBe(0);
    check(back);
  });
});

describe('numeric indexes', () => {
  it('sort ordinals by value as the comparator sort does (radix sort on the bits): signs, -0, ties, extremes', () => {
    const special = [0, -0, 1, -1, 5e-324, -5e-324, Number.MAX_VALUE, -Number.MAX_VALUE, Infinity, -Infinity];
    const value = fc.oneof(
      fc.constantFrom(...special),
      fc.double({ noNaN: true }),
      fc.integer({ min: -3, max: 3 }).map((x) => x / 2),
    );
    fc.assert(
      fc.property(fc.array(value, { maxLength: 300 }), fc.integer({ min: 0, max: 5 }), (list, skip) => {
        const values = Float64Array.from(list);
        // Every ordinal but some, ascending, as columns pass their non-null ones.
        const ordinals = Uint32Array.from(list.keys()).filter((i) => skip === 0 || i % (skip + 2) !== 0);
        const want = ordinals.slice().sort((a, b) => values[a]! - values[b]! || a - b);
        expect([...sortByValue(ordinals, values)]).toEqual([...want]);
      }),
      { numRuns: 2000, seed: 5 },
    );
    // Large enough that all four 16-bit passes move entries (values spread over the whole range).
    const rnd = prng(9);
    const big = Float64Array.from(
      { length: 50_000 },
      () => (rnd() - 0.5) * 10 ** Math.floor(rnd() * 40 - 20),
    );
    const all = Uint32Array.from(big.keys());
    expect([...sortByValue(all, big)]).toEqual([...all.slice().sort((a, b) => big[a]! - big[b]! || a - b)]);
  });

  it('answer every comparison like a scan, across bucket edges and ties', () => {
    const rnd = prng(3);
    const n = BUCKET_SIZE * 3 + 1234;
    const values = new Float64Array(n);
    for (let i = 0; i < n; i++) values[i] = rnd() < 0.1 ? Number.NaN : Math.floor(rnd() * 500) / 4;
    const col = numberColumn('number', values);
    expect(col.buckets.length).toBe(Math.ceil(col.sorted.length / BUCKET_SIZE));
    expect(col.buckets.length).toBeGreaterThan(2);
    const ops: RangeOp[] = ['=', '!=', '<', '<=', '>', '>='];
    for (const c of [-1, 0, 0.25, 17.5, 62.25, 124.75, 125, 1000, values[BUCKET_SIZE * 2]!]) {
      for (const op of ops) {
        const expected: number[] = [];
        for (let i = 0; i < n; i++) {
          const v = values[i]!;
          if (Number.isNaN(v)) continue;
          const hit =
            op === '='
              ? v === c
              : op === '!='
                ? v !== c
                : op === '<'
                  ? v < c
                  : op === '<='
                    ? v <= c
                    : op === '>'
                      ? v > c
                      : v >= c;
          if (hit) expected.push(i);
        }
        const got = numberRange(col, op, c);
        expect(got.size, `x ${op} ${c}`).toBe(expected.length);
        expect(Bitmap.andNot(got, new Bitmap(expected)).size).toBe(0);
      }
    }
  });
});
