/**
 * Training sets are point-in-time correct by construction: features are computed as of the cutoff by
 * the tag engine (events with time <= cutoff only), labels as of cutoff + horizon over
 * (cutoff, cutoff + horizon]. The test adds events after the cutoff and checks that no feature of any
 * row changes — not even a tag written to peek past the as-of time — while the labels change by
 * exactly the amounts added inside the horizon, and not at all for events past it.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { requireProject } from '../../src/config/project.js';
import { ingest } from '../../src/ingest/ingest.js';
import { trainingRows } from '../../src/models/dataset.js';
import { prepareInWarehouse, requireModelDefinition } from '../../src/models/train.js';
import { str } from '../../src/warehouse/sql.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import { writeFiles } from '../helpers.js';
import { cardWorld, writeModel } from './card-world.js';

const PEEKING_TAGS = `
- name: peek_future_count
  description: Tries to count payments after the as-of time (there are none to see).
  category: behavior
  status: approved
  from: transactions
  value: count(where ts > as_of)
- name: peek_latest_amount
  description: Amount of the latest payment ever (ever means up to the as-of time).
  category: behavior
  status: approved
  from: transactions
  value: last(amount)
`;

const MODEL = `name: spend_next_30d
description: Spend in the 30 days after the cutoff.
label:
  from: transactions
  value: sum(amount)
  horizon: 30d
features:
  categories: [behavior, preference]
  profile: [customers.card_product]
cutoffs: [2025-04-30]
`;

/** 2025-04-30 23:59:59.999999 in Seoul. */
const CUTOFF = '2025-04-30';

async function rows(dir: string) {
  const config = requireProject(dir);
  const wh = await Warehouse.open(config.engine.path);
  try {
    const m = await prepareInWarehouse(wh, config, requireModelDefinition(config, 'spend_next_30d'));
    return { m, r: await trainingRows(wh, config, m) };
  } finally {
    wh.close();
  }
}

let dir: string;
beforeAll(async () => {
  dir = await cardWorld(800, 6, 5);
  writeFiles(dir, { 'tags/peek.yaml': PEEKING_TAGS });
  writeModel(dir, 'spend_next_30d', MODEL);
}, 180_000);

describe('point-in-time training sets', () => {
  it('events after the cutoff change no feature, and labels only by what happened inside the horizon', async () => {
    const before = await rows(dir);
    expect(before.m.features.map((f) => f.name)).toEqual(
      expect.arrayContaining([
        'peek_future_count',
        'peek_latest_amount',
        'last_txn_at',
        'days_since_last_txn',
      ]),
    );
    const peek = before.m.features.findIndex((f) => f.name === 'peek_future_count');
    expect(new Set(before.r.raw[peek] as Float64Array)).toEqual(new Set([0]));

    // Copies of April payments moved after the cutoff: 30 days later (May 1-30, inside the 30-day
    // horizon) for some customers, 65 days later (June, past the horizon) for the others.
    const config = requireProject(dir);
    const april = path.join(dir, 'data/transactions/2025-04.parquet');
    const extra = path.join(dir, 'data/transactions/2025-99-extra.parquet');
    const mem = await Warehouse.open(':memory:');
    let added: { customer_id: string; amount: number }[];
    try {
      const moved = `SELECT * REPLACE ('X' || txn_id AS txn_id,
           ts + CASE WHEN hash(customer_id) % 2 = 0 THEN INTERVAL 30 DAY ELSE INTERVAL 65 DAY END AS ts)
         FROM read_parquet(${str(april)}) WHERE hash(txn_id) % 20 = 0`;
      await mem.run(`COPY (${moved}) TO ${str(extra)} (FORMAT parquet)`);
      added = await mem.objects<{ customer_id: string; amount: number }>(
        `SELECT customer_id, sum(amount) AS amount FROM read_parquet(${str(extra)})
         WHERE ts > TIMESTAMPTZ '2025-04-30 23:59:59.999999+09' AND ts <= TIMESTAMPTZ '2025-05-30 23:59:59.999999+09'
         GROUP BY 1`,
      );
      const late = await mem.scalar<bigint>(
        `SELECT count(*) FROM read_parquet(${str(extra)}) WHERE ts > TIMESTAMPTZ '2025-05-30 23:59:59.999999+09'`,
      );
      expect(added.length).toBeGreaterThan(20);
      expect(Number(late)).toBeGreaterThan(20);
    } finally {
      mem.close();
    }
    const loaded = await ingest(config.dir);
    expect(loaded.sources.find((s) => s.name === 'transactions')!.rowsLoaded).toBeGreaterThan(0);

    const after = await rows(dir);
    expect(after.r.ids).toEqual(before.r.ids);
    // Every feature of every row is unchanged.
    before.m.features.forEach((f, j) => {
      const a = before.r.raw[j]!;
      const b = after.r.raw[j]!;
      expect([f.name, Array.from(b as ArrayLike<unknown>)]).toEqual([
        f.name,
        Array.from(a as ArrayLike<unknown>),
      ]);
    });
    // Labels moved by exactly the amounts added inside (cutoff, cutoff + 30d].
    const delta = new Map(added.map((a) => [a.customer_id, a.amount]));
    before.r.ids.forEach((id, i) => {
      expect(after.r.label[i]! - before.r.label[i]!).toBeCloseTo(delta.get(id) ?? 0, 6);
    });
    expect(CUTOFF).toBe(before.m.definition.input.cutoffs![0]);
  });
});
