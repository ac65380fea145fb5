/** Windows that do not start on the first of a month: partial first and last month files. */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateWorld } from '../../src/generate/index.js';
import { type TempWorld, tempWorld, WorldDb } from './helpers.js';

let world: TempWorld;
let db: WorldDb;

beforeAll(async () => {
  world = await tempWorld({ customers: 150, months: 2, seed: 21, start: '2024-02-15' });
  db = await WorldDb.open(world.dir);
});

afterAll(() => {
  db?.close();
  world?.remove();
});

describe('a window from 2024-02-15 for two months', () => {
  it('writes one file per touched calendar month', () => {
    expect(world.summary.files.filter((f) => f.startsWith('data/transactions/'))).toEqual([
      'data/transactions/2024-02.parquet',
      'data/transactions/2024-03.parquet',
      'data/transactions/2024-04.parquet',
    ]);
  });

  it('keeps every transaction inside [2024-02-15, 2024-04-15) Korean time, leap day included', async () => {
    const r = await db.one(`SELECT
        min(ts) >= TIMESTAMPTZ '2024-02-15 00:00:00+09' AS starts_ok,
        max(ts) < TIMESTAMPTZ '2024-04-15 00:00:00+09' AS ends_ok,
        count(*) FILTER (WHERE to_timestamp(epoch(ts) + 9 * 3600)::DATE = DATE '2024-02-29') > 0 AS leap_day
      FROM tx`);
    expect(r).toEqual({ starts_ok: true, ends_ok: true, leap_day: true });
  });
});

describe('regenerating into the same folder', () => {
  it('replaces the data of an earlier run, whatever its format or window', async () => {
    const first = await tempWorld({ customers: 40, months: 3, seed: 1 });
    try {
      const summary = await generateWorld({
        customers: 40,
        months: 1,
        seed: 1,
        out: first.dir,
        format: 'csv',
      });
      const data = readdirSync(path.join(first.dir, 'data')).filter((f) => f !== 'transactions');
      const months = readdirSync(path.join(first.dir, 'data', 'transactions'));
      expect(data.sort()).toEqual(['customers.csv', 'mcc_codes.csv', 'merchants.csv']);
      expect(months).toEqual(['2025-01.csv']);
      expect(summary.files).toContain('data/transactions/2025-01.csv');
    } finally {
      first.remove();
    }
  });
});
