/**
 * /v1/realtime/status reports how far served tags lag behind accepted events (lagMs), and the
 * acceptance-to-served latency of the events it served.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/api/server.js';
import { evaluationSliceMs, type RealtimeRuntime } from '../../src/realtime/runtime.js';
import { cardPayments, liveCardWorld, REALTIME_SECTION } from './fixture.js';

let server: RunningServer;
let rt: RealtimeRuntime;
let worldMs: number;

beforeAll(async () => {
  ({ server, rt, worldMs } = await liveCardWorld({
    customers: 40,
    months: 2,
    tags: ['spending.yaml'],
    realtime: REALTIME_SECTION,
  }));
}, 180_000);
afterAll(async () => {
  await server?.close();
});

const payments = (customer: string, count: number) => cardPayments(worldMs, customer, count, 'bp');

const count90d = (id: string) =>
  Object.values(server.holder.current.profile(id, { tags: ['txn_count_90d'] }).categories)
    .flat()
    .find((t) => t.name === 'txn_count_90d')?.value as number;

/** Block the event loop (as a long burst of work would), so nothing is evaluated meanwhile. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

describe('how far served tags lag behind accepted events', () => {
  it('is the age of the oldest accepted event not yet evaluated, and 0 once everything is served', async () => {
    await rt.settle();
    expect(rt.status().lagMs).toBe(0);
    const before = count90d('C0000001');
    // Acknowledged: durable and applied to the engine; its evaluation is only scheduled.
    await rt.accept(payments('C0000001', 3), 'http');
    busy(30);
    expect(rt.status().lagMs).toBeGreaterThanOrEqual(30);
    expect(count90d('C0000001')).toBe(before);
    await rt.settle();
    expect(count90d('C0000001')).toBe(before + 3);
    expect(rt.status().lagMs).toBe(0);
    // The served latency counts from acceptance: at least the 30 ms the loop was blocked.
    expect(rt.status().latencyMs.p99).toBeGreaterThanOrEqual(30);
  });
});

describe('evaluation slices', () => {
  it('stay short while tags keep up and grow with the lag, up to a bound', () => {
    expect(evaluationSliceMs(0)).toBe(8);
    expect(evaluationSliceMs(32)).toBe(8);
    expect(evaluationSliceMs(100)).toBe(25);
    expect(evaluationSliceMs(200)).toBe(50);
    expect(evaluationSliceMs(60_000)).toBe(50);
    for (let lag = 0; lag < 400; lag += 7) {
      expect(evaluationSliceMs(lag + 7)).toBeGreaterThanOrEqual(evaluationSliceMs(lag));
    }
  });
});
