/**
 * When logged events go into the warehouse: at the latest after flush_interval_ms, and sooner once
 * flush_rows messages wait (a flush opens, checkpoints and closes the warehouse, so fewer, larger
 * flushes cost less; the row bound keeps a busy server's backlog small).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/api/server.js';
import type { RealtimeRuntime } from '../../src/realtime/runtime.js';
import { cardPayments, eventually, liveCardWorld, REALTIME_SECTION } from './fixture.js';

let server: RunningServer;
let rt: RealtimeRuntime;
let worldMs: number;

beforeAll(async () => {
  ({ server, rt, worldMs } = await liveCardWorld({
    customers: 30,
    months: 1,
    tags: ['spending.yaml'],
    // Never by time within the test: only the row bound can start a flush.
    realtime: { ...REALTIME_SECTION, flush_interval_ms: 600_000, flush_rows: 25 },
  }));
}, 180_000);
afterAll(async () => {
  await server?.close();
});

const payments = (count: number) => cardPayments(worldMs, 'C0000001', count, 'fl');

describe('flushing real-time events into the warehouse', () => {
  it('waits below flush_rows, and flushes as soon as that many messages wait', async () => {
    const before = rt.status().flushedSeq;
    await rt.accept(payments(10), 'http');
    await rt.settle();
    // Well past a commit tick and the old 2-second interval: still waiting, nothing flushed.
    await new Promise((r) => setTimeout(r, 2500));
    expect(rt.status().pendingFlush).toBe(10);
    expect(rt.status().flushedSeq).toBe(before);

    await rt.accept(payments(20), 'http');
    await eventually(
      () => (rt.status().flushedSeq >= before + 25 ? true : undefined),
      20_000,
      'a flush started by the row bound',
    );
    const s = rt.status();
    expect(s.lastFlushError).toBeUndefined();
    // It started as the 25th message was applied, and took the 25 waiting (the first 10 among them);
    // the 5 after it wait below the bound.
    expect(s.lastFlush?.rows).toBe(25);
    expect(s.flushedSeq).toBe(before + 25);
    expect(s.pendingFlush).toBe(5);
  }, 60_000);
});
