/**
 * The CSV flavour of the world: same contract, text files that DuckDB (and people) can read,
 * MCCs that keep their leading zeros, timestamps with the merchant's UTC offset.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type TempWorld, tempWorld, WorldDb } from './helpers.js';

let world: TempWorld;
let db: WorldDb;

beforeAll(async () => {
  // A long window over a foreign summer and winter: DST offsets show up.
  world = await tempWorld({ customers: 400, months: 12, seed: 3, format: 'csv', start: '2025-01-01' });
  db = await WorldDb.open(world.dir, 'csv');
});

afterAll(() => {
  db?.close();
  world?.remove();
});

describe('csv output', () => {
  it('writes .csv files with headers in the same layout', () => {
    expect(world.summary.files).toContain('data/customers.csv');
    expect(world.summary.files).toContain('data/merchants.csv');
    expect(world.summary.files).toContain('data/transactions/2025-06.csv');
    expect(world.summary.files.filter((f) => f.endsWith('.parquet'))).toEqual([]);
    const head = readFileSync(path.join(world.dir, 'data/transactions/2025-01.csv'), 'utf8').split('\n')[0];
    expect(head).toBe(
      'txn_id,customer_id,merchant_id,mcc,amount,currency,original_amount,ts,channel,city,country',
    );
  });

  it('files parse with read_csv and keep the contract columns', async () => {
    const schema = await db.schema('tx');
    expect(Object.keys(schema)).toEqual([
      'txn_id',
      'customer_id',
      'merchant_id',
      'mcc',
      'amount',
      'currency',
      'original_amount',
      'ts',
      'channel',
      'city',
      'country',
    ]);
    expect(schema.ts).toBe('TIMESTAMP WITH TIME ZONE');
    expect(schema.amount).toBe('DOUBLE');
    expect((await db.one('SELECT count(*) AS n FROM tx')).n).toBe(world.summary.transactions);
    expect((await db.schema('customers')).signup_date).toBe('DATE');
  });

  it('MCCs keep their leading zeros', async () => {
    const text = readFileSync(path.join(world.dir, 'data/mcc_codes.csv'), 'utf8');
    expect(text).toContain('\n0742,Veterinary Services\n');
    expect((await db.one("SELECT count(*) AS n FROM merchants WHERE mcc = '0742'")).n).toBeGreaterThan(0);
    // Sniffed without hints, codes with leading zeros read back as text.
    const sniffed = await db.rows(
      `DESCRIBE SELECT * FROM read_csv('${path.join(world.dir, 'data/mcc_codes.csv')}')`,
    );
    expect(sniffed.find((r) => r.column_name === 'mcc')?.column_type).toBe('VARCHAR');
  });

  it('timestamps carry the merchant local UTC offset, with DST abroad', () => {
    const lines = world.summary.files
      .filter((f) => f.startsWith('data/transactions/'))
      .flatMap((f) => readFileSync(path.join(world.dir, f), 'utf8').trim().split('\n').slice(1));
    const offsets = new Map<string, Set<string>>();
    for (const line of lines) {
      const fields = line.split(',');
      const ts = fields[7] as string;
      expect(ts).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$/);
      const country = fields[10] as string;
      if (!offsets.has(country)) offsets.set(country, new Set());
      offsets.get(country)?.add(ts.slice(19));
    }
    expect([...(offsets.get('KR') ?? [])]).toEqual(['+09:00']);
    for (const [country, expected] of [
      ['JP', ['+09:00']],
      ['TH', ['+07:00']],
      ['FR', ['+01:00', '+02:00']],
      ['US', ['-05:00', '-04:00', '-08:00', '-07:00']],
    ] as const) {
      const seen = offsets.get(country);
      if (seen) for (const o of seen) expect(expected).toContain(o);
    }
  });

  it('rewrites tagverse.yaml for csv files and declares MCCs as text', () => {
    const doc = parse(readFileSync(path.join(world.dir, 'tagverse.yaml'), 'utf8'));
    expect(doc.sources.transactions.files).toBe('data/transactions/*.csv');
    expect(doc.sources.customers.files).toBe('data/customers.csv');
    expect(doc.sources.merchants.files).toBe('data/merchants.csv');
    expect(doc.sources.mcc_codes.files).toBe('data/mcc_codes.csv');
    expect(doc.sources.transactions.columns.mcc).toEqual({ type: 'string' });
    expect(doc.sources.transactions.columns.amount.type).toBe('double');
    expect(doc.sources.transactions.columns.ts).toBeUndefined();
    // Comments of the pack survive.
    expect(readFileSync(path.join(world.dir, 'tagverse.yaml'), 'utf8')).toContain(
      '# The synthetic credit-card world',
    );
  });

  it('the instant in a csv timestamp equals the one in parquet for the same world', async () => {
    const pq = await tempWorld({ customers: 400, months: 12, seed: 3 });
    try {
      const pdb = await WorldDb.open(pq.dir);
      const a = await pdb.rows(
        'SELECT txn_id, epoch(ts) AS e, amount, original_amount FROM tx ORDER BY txn_id LIMIT 2000',
      );
      const b = await db.rows(
        'SELECT txn_id, epoch(ts) AS e, amount, original_amount FROM tx ORDER BY txn_id LIMIT 2000',
      );
      expect(b).toEqual(a);
      pdb.close();
    } finally {
      pq.remove();
    }
  });
});
