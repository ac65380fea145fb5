/**
 * Same options, same bytes: the world depends only on (customers, months, seed, start, format),
 * never on the clock, Math.random or how many threads simulate it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hashFiles, type TempWorld, tempWorld } from './helpers.js';

const worlds: TempWorld[] = [];
const make = async (options: Parameters<typeof tempWorld>[0]) => {
  const w = await tempWorld(options);
  worlds.push(w);
  return w;
};

afterAll(() => {
  for (const w of worlds) w.remove();
});

describe('determinism', () => {
  it('two runs with the same options write byte-identical files', async () => {
    const a = await make({ customers: 300, months: 3, seed: 11 });
    const b = await make({ customers: 300, months: 3, seed: 11 });
    const ha = hashFiles(a.dir);
    expect(Object.keys(ha)).toHaveLength(a.summary.files.length);
    expect(hashFiles(b.dir)).toEqual(ha);
    expect(b.summary.transactions).toBe(a.summary.transactions);
  });

  it('a different seed gives different data', async () => {
    const a = await make({ customers: 300, months: 3, seed: 11 });
    const c = await make({ customers: 300, months: 3, seed: 12 });
    const ha = hashFiles(a.dir);
    const hc = hashFiles(c.dir);
    for (const f of [
      'data/customers.parquet',
      'data/transactions/2025-02.parquet',
      'truth/preferences.csv',
    ]) {
      expect(hc[f]).not.toBe(ha[f]);
    }
    // The pack and the MCC list do not depend on the seed.
    expect(hc['tagverse.yaml']).toBe(ha['tagverse.yaml']);
    expect(hc['data/mcc_codes.csv']).toBe(ha['data/mcc_codes.csv']);
  });

  it('worker threads do not change a byte', async () => {
    const one = await make({ customers: 400, months: 2, seed: 5, threads: 1 });
    const two = await make({ customers: 400, months: 2, seed: 5, threads: 2 });
    expect(hashFiles(two.dir)).toEqual(hashFiles(one.dir));
  });

  it("a customer's plan does not depend on how many other customers there are", async () => {
    const small = await make({ customers: 50, months: 2, seed: 9 });
    const large = await make({ customers: 120, months: 2, seed: 9 });
    const firstLines = (dir: string) =>
      readFileSync(path.join(dir, 'truth/customers.csv'), 'utf8').split('\n').slice(0, 51).join('\n');
    expect(firstLines(large.dir)).toBe(firstLines(small.dir));
  });
});
