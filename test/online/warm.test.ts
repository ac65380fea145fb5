/**
 * The store warmer (src/online/warm.ts): every page of every column array (and of the profile records)
 * is read once per period, a slice per step; a pass reads the store as it is when the pass starts (a reload or real time's growth
 * shows up in the next one); stop means stop. And `api.warm_period_ms` reaches the server's holder.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ProjectConfig, requireProject } from '../../src/config/project.js';
import { applyUpdates } from '../../src/online/live.js';
import { loadStore } from '../../src/online/load.js';
import type { TagStore } from '../../src/online/store.js';
import { StoreWarmer } from '../../src/online/warm.js';
import { turnsDuring, writeFiles } from '../helpers.js';
import { builtFixture, CUSTOMERS } from './fixture.js';

let config: ProjectConfig;
let store: TagStore;
let dir: string;
const warmers: StoreWarmer[] = [];

beforeAll(async () => {
  dir = await builtFixture();
  config = requireProject(dir);
  store = await loadStore(config);
});

afterEach(() => {
  for (const w of warmers.splice(0)) w.stop();
});

/** Pages of 4 KB in every typed array the store's columns hold, counted here independently. */
function pagesOf(s: TagStore): number {
  let pages = 0;
  for (const columns of [s.tags, s.profiles]) {
    for (const col of columns.values()) {
      for (const v of Object.values(col)) {
        if (ArrayBuffer.isView(v) && v.byteLength > 0) pages += Math.ceil(v.byteLength / 4096);
      }
    }
  }
  if (s.entityAsOf) pages += Math.ceil(s.entityAsOf.byteLength / 4096);
  for (const chunk of s.rows.buffers()) pages += Math.ceil(chunk.byteLength / 4096);
  return pages;
}

async function until(done: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('the store warmer', () => {
  it('reads every page of the store once per period, a slice per step', async () => {
    const w = new StoreWarmer(() => store, 200, 10);
    warmers.push(w);
    w.start();
    await until(() => w.passes >= 2);
    w.stop();
    const pages = pagesOf(store);
    expect(pages).toBeGreaterThan(20);
    expect(w.pagesPerPass).toBe(pages);
    // Two passes ended: every page was read twice (and the third pass has begun).
    expect(w.pagesRead).toBeGreaterThanOrEqual(2 * pages);
    expect(w.pagesRead).toBeLessThan(3 * pages + w.maxStepPages);
    // A twentieth of the store per step (period 200 ms, step 10 ms), never all of it at once.
    expect(w.maxStepPages).toBe(Math.ceil(pages / 20));
    expect(w.sum).toBeGreaterThan(0);
  });

  it('reads the store as it is at each pass: a swapped or grown store is read whole', async () => {
    let current = store;
    const w = new StoreWarmer(() => current, 100, 5);
    warmers.push(w);
    w.start();
    await until(() => w.passes >= 1);
    expect(w.pagesPerPass).toBe(pagesOf(store));
    // Another store with 5,000 more entities (as real time adds them): its columns are bigger.
    const grown = await loadStore(config);
    applyUpdates(
      grown,
      Array.from({ length: 5000 }, (_, i) => ({ id: `NEW${i}`, tags: { txn_count: i }, asOf: 1 })),
    );
    expect(grown.size).toBe(CUSTOMERS + 5000);
    current = grown;
    const seen = w.passes;
    await until(() => w.passes >= seen + 2);
    expect(w.pagesPerPass).toBe(pagesOf(grown));
    expect(pagesOf(grown)).toBeGreaterThan(pagesOf(store) * 3);
  });

  it('reads a store loaded beside the served one whole, yielding to other work between slices', async () => {
    const w = new StoreWarmer(() => store, 60_000, 1000);
    const next = await loadStore(config);
    applyUpdates(
      next,
      Array.from({ length: 5000 }, (_, i) => ({ id: `NEXT${i}`, tags: { txn_count: i }, asOf: 1 })),
    );
    // Other work waiting meanwhile runs between slices.
    const before = w.pagesRead;
    const { turns: others } = await turnsDuring(() => w.touchAllSoon(next));
    expect(w.pagesRead - before).toBe(pagesOf(next));
    expect(others).toBeGreaterThan(10);
  });

  it('stops reading when stopped', async () => {
    const w = new StoreWarmer(() => store, 50, 5);
    w.start();
    await until(() => w.passes >= 1);
    w.stop();
    const sum = w.sum;
    await new Promise((r) => setTimeout(r, 60));
    expect(w.sum).toBe(sum);
  });

  it('is configured by api.warm_period_ms (5000 by default, 0 turns it off, a negative is refused)', () => {
    expect(config.api.warmPeriodMs).toBe(5000);
    const yaml = (value: string) => {
      const copy = `${dir}-warm-${value.replace('-', 'minus')}`;
      writeFiles(copy, {
        'tagverse.yaml': `name: warm\nentity: { name: customer }\napi:\n  warm_period_ms: ${value}\nsources:\n  customers:\n    kind: profile\n    files: c.csv\n    entity_key: customer_id\n`,
      });
      return copy;
    };
    expect(requireProject(yaml('0')).api.warmPeriodMs).toBe(0);
    expect(requireProject(yaml('2500')).api.warmPeriodMs).toBe(2500);
    expect(() => requireProject(yaml('-1'))).toThrow(/warm_period_ms/);
  });
});
