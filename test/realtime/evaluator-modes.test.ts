/**
 * Live tags evaluated in the worker thread (`realtime.evaluator: worker`, the default) and on the
 * server's event loop (`inline`) must serve the same values: two servers on copies of one built card
 * world take the same random stream (payments out of order, at new merchants and categories, new
 * customers, profile traits), and every served value of every entity must agree. A reload swap must
 * keep the live values in both. A stopped worker is reported, and acknowledgements do not wait for it.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import type { RunningServer } from '../../src/api/server.js';
import { Rng } from '../../src/generate/prng.js';
import type { RealtimeRuntime } from '../../src/realtime/runtime.js';
import { checkMessage, type SegmentMessage } from '../../src/realtime/segment-message.js';
import { tempDir } from '../helpers.js';
import { cardPayments, cardWorld, eventually, REALTIME_SECTION, startRealtimeServer } from './fixture.js';

interface Served {
  readonly server: RunningServer;
  readonly rt: RealtimeRuntime;
}

let worker: Served;
let inline: Served;
let worldMs: number;

beforeAll(async () => {
  const fx = await cardWorld({ customers: 60, months: 2, seed: 11, realtime: REALTIME_SECTION });
  // The same built world twice (warehouse, snapshot and log folder are inside the project).
  const copy = tempDir();
  cpSync(fx.dir, copy, { recursive: true });
  const file = `${copy}/tagverse.yaml`;
  const doc = YAML.parseDocument(readFileSync(file, 'utf8'));
  doc.setIn(['realtime', 'evaluator'], 'inline');
  writeFileSync(file, doc.toString());
  const start = async (dir: string): Promise<Served> => {
    const server = await startRealtimeServer(dir, fx.keysEnv);
    return { server, rt: server.realtime!.handle.runtime! };
  };
  [worker, inline] = await Promise.all([start(fx.dir), start(copy)]);
  worldMs = Math.floor(worker.server.holder.current.info.asOfMicros / 1000);
}, 240_000);

afterAll(async () => {
  await Promise.all([worker?.server.close(), inline?.server.close()]);
});

/** A random stream: payments (some out of order, some of new customers) and identify traits. */
function randomStream(seed: number, count: number): SegmentMessage[] {
  const rng = new Rng(seed);
  const rand = () => rng.float();
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const mccs = ['5499', '5411', '5812', '5813', '7992', '4511', '5912', '5977', '5732'];
  const cities = ['Seoul', 'Busan', 'Jeju', 'Incheon', 'Daegu'];
  const out: SegmentMessage[] = [];
  for (let i = 0; i < count; i++) {
    const n = Math.floor(rand() * 70) + 1;
    const userId = `C${String(n).padStart(7, '0')}`;
    // Up to 3 days back, so some arrive before events already taken.
    const at = new Date(worldMs - Math.floor(rand() * 3 * 86_400_000)).toISOString();
    const raw =
      rand() < 0.1
        ? {
            type: 'identify',
            userId,
            messageId: `mode-${seed}-${i}`,
            timestamp: at,
            traits: { region: pick(cities), age_band: pick(['20s', '30s', '40s', '60s', '70s']) },
          }
        : {
            type: 'track',
            userId,
            event: 'Card Payment',
            messageId: `mode-${seed}-${i}`,
            timestamp: at,
            properties: {
              merchant_id: `M${String(Math.floor(rand() * 900)).padStart(6, '0')}`,
              mcc: pick(mccs),
              amount: Math.round(rand() * 200_000),
              currency: 'KRW',
              original_amount: 1000,
              channel: rand() < 0.5 ? 'online' : 'offline',
              city: pick(cities),
              country: rand() < 0.9 ? 'KR' : 'JP',
            },
          };
    const r = checkMessage(raw, '', worldMs);
    if (!r.message) throw new Error(`a generated message does not check: ${JSON.stringify(r)}`);
    out.push(r.message);
  }
  return out;
}

/**
 * Affinity tags and the tags reading them: their lists are scored against the population as each
 * entity counted at its last read, so they follow the order entities were evaluated in (which the two
 * modes do not share); test/realtime/card-pack.test.ts checks them against SQL.
 */
function populationTags(s: Served): Set<string> {
  const out = new Set<string>();
  for (const t of s.server.holder.current.program.tags) {
    if (t.kind === 'affinity' || t.dependsOn.some((d) => out.has(d))) out.add(t.name);
  }
  return out;
}

/** Every served value of every entity (profile attributes included; not populationTags), by entity. */
function servedValues(s: Served): Map<string, string> {
  const store = s.server.holder.current;
  const skip = populationTags(s);
  const out = new Map<string, string>();
  for (const id of store.ids) {
    const values = Object.values(store.profile(id).categories)
      .flat()
      .filter((t) => !skip.has(t.name))
      .map((t) => [t.name, t.value]);
    out.set(id, JSON.stringify(values));
  }
  return out;
}

async function sendToBoth(messages: readonly SegmentMessage[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 50) {
    const batch = messages.slice(i, i + 50);
    await Promise.all([worker.rt.accept(batch, 'http'), inline.rt.accept(batch, 'http')]);
  }
  await Promise.all([worker.rt.settle(), inline.rt.settle()]);
}

function expectSame(a: Map<string, string>, b: Map<string, string>): void {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  const differing = [...a].filter(([id, v]) => b.get(id) !== v).map(([id]) => id);
  if (differing.length > 0) {
    // Name the tags of the first entity that differs.
    const id = differing[0]!;
    const x = new Map(JSON.parse(a.get(id)!) as [string, unknown][]);
    const y = new Map(JSON.parse(b.get(id)!) as [string, unknown][]);
    const diff = [...x].filter(([k, v]) => JSON.stringify(y.get(k)) !== JSON.stringify(v));
    expect({ id, diff }).toEqual({ id, diff: [] });
  }
  expect(differing).toEqual([]);
}

describe('live tags in a worker thread and on the event loop', () => {
  it('serve the same values for the same random stream, also after a reload swap', async () => {
    expect(worker.rt.status().evaluator).toEqual({ mode: 'worker', restarts: 0 });
    expect(inline.rt.status().evaluator).toEqual({ mode: 'inline', restarts: 0 });
    expect(populationTags(worker).size).toBeGreaterThan(0);
    expect(populationTags(worker).size).toBeLessThan(20);
    const before = servedValues(worker);
    expectSame(before, servedValues(inline));
    await sendToBoth(randomStream(1, 600));
    const after = servedValues(worker);
    expectSame(after, servedValues(inline));
    const storeBefore = worker.server.holder.current;
    // Not vacuous: most customers' values moved, and customers new to the world are served.
    const moved = [...after].filter(([id, v]) => before.get(id) !== v).length;
    expect(moved).toBeGreaterThan(50);
    expect(after.has('C0000070')).toBe(true);
    expect(before.has('C0000070')).toBe(false);

    // A reload swaps in the build's values; live values must be put back before anyone can read the
    // new store (the worker's are copied from the store it replaces, most of them before the swap;
    // inline evaluates them again). What the first reader sees is taken by a swap listener registered
    // after real time's. Between real time's copy before the swap and the swap, a payment changes
    // C0000003: the copy must not keep its older values.
    const firstRead = new Map<Served, Map<string, string>>();
    const lastServed = new Map<Served, Map<string, string>>();
    const late = cardPayments(worldMs, 'C0000003', 1, 'during-swap');
    for (const s of [worker, inline]) {
      s.server.holder.beforeSwap(async () => {
        if (lastServed.has(s)) return;
        await s.rt.accept(late, 'http');
        await s.rt.settle();
        lastServed.set(s, servedValues(s));
      });
      s.server.holder.onSwap(() => {
        if (!firstRead.has(s)) firstRead.set(s, servedValues(s));
      });
    }
    await Promise.all([
      worker.server.holder.reload({ force: true }),
      inline.server.holder.reload({ force: true }),
    ]);
    expect(worker.server.holder.current).not.toBe(storeBefore);
    const beforeSwap = lastServed.get(worker)!;
    expect(beforeSwap.get('C0000003')).not.toBe(after.get('C0000003'));
    expectSame(firstRead.get(worker)!, beforeSwap);
    expectSame(firstRead.get(inline)!, lastServed.get(inline)!);
    expectSame(beforeSwap, lastServed.get(inline)!);
    // Most were copied before the swap; at the swap, the one that changed since (and no more than a few).
    const copies = worker.rt.status().lastSwapCopies;
    expect(copies.before).toBeGreaterThan(50);
    expect(copies.atSwap).toBeGreaterThanOrEqual(1);
    expect(copies.atSwap).toBeLessThan(5);
    await Promise.all([worker.rt.settle(), inline.rt.settle()]);
    const reloaded = servedValues(worker);
    expectSame(reloaded, servedValues(inline));
    for (const id of ['C0000001', 'C0000030', 'C0000060']) expect(reloaded.get(id)).toBe(after.get(id));
    expect(reloaded.get('C0000003')).toBe(beforeSwap.get('C0000003'));

    await sendToBoth(randomStream(2, 300));
    expectSame(servedValues(worker), servedValues(inline));
  });

  it('holds an acknowledgement until its events are served while tags are behind (worker mode)', async () => {
    const rt = worker.rt;
    await rt.settle();
    const count = (id: string) =>
      Object.values(worker.server.holder.current.profile(id, { tags: ['txn_count_90d'] }).categories)
        .flat()
        .find((t) => t.name === 'txn_count_90d')?.value as number;
    const before = count('C0000002');
    const paceA = cardPayments(worldMs, 'C0000001', 1, 'pace-a');
    const paceB = cardPayments(worldMs, 'C0000002', 2, 'pace-b');
    const paceC = cardPayments(worldMs, 'C0000002', 1, 'pace-c');
    // A request holding the store (a segment export, say) keeps the next evaluated values from being
    // written: A's payment is evaluated but not served, so served tags fall behind.
    const holder = worker.server.holder;
    holder.acquire();
    let released = false;
    try {
      await rt.accept(paceA, 'http');
      await new Promise((r) => setTimeout(r, 150));
      expect(rt.status().lagMs).toBeGreaterThan(100);
      let acked = false;
      const b = rt.accept(paceB, 'http').then(() => {
        acked = true;
      });
      await new Promise((r) => setTimeout(r, 100));
      // Durable long since, but not acknowledged: its events are not evaluated yet.
      expect(acked).toBe(false);
      holder.release();
      released = true;
      await b;
    } finally {
      if (!released) holder.release();
    }
    // Acknowledged only once evaluated: B's payments are served already.
    expect(count('C0000002')).toBe(before + 2);
    // While tags keep up, an ack does not wait for evaluation.
    await rt.settle();
    await rt.accept(paceC, 'http');
    expect(count('C0000002')).toBe(before + 2);
    await rt.settle();
    expect(count('C0000002')).toBe(before + 3);
    // The inline server takes them too (the next test compares the two).
    await inline.rt.accept([...paceA, ...paceB, ...paceC], 'http');
    await inline.rt.settle();
  });

  it('posts changes to the worker when the turn that queued them ends, not at the next evaluation', async () => {
    const rt = worker.rt as unknown as {
      link: { changes: unknown[]; mergeProfile(s: string, e: string, set: Record<string, unknown>): void };
      roundsStarted: number;
    };
    await worker.rt.settle();
    let checked = 0;
    for (let attempt = 0; attempt < 20 && checked < 3; attempt++) {
      const rounds = rt.roundsStarted;
      // A merge that changes nothing (the engine's state stays equal to the inline server's).
      rt.link.mergeProfile('customers', 'C0000001', {});
      expect(rt.link.changes.length).toBeGreaterThan(0);
      await new Promise((r) => setImmediate(r));
      // An evaluation in between would have posted them anyway: such an attempt proves nothing.
      if (rt.roundsStarted !== rounds) continue;
      expect(rt.link.changes).toEqual([]);
      checked++;
    }
    expect(checked).toBe(3);
  });

  it('restarts a stopped worker with the whole state; a worker stopping again soon is reported, not restarted', async () => {
    const logged: string[] = [];
    const rt = worker.rt as unknown as {
      link: { worker: { terminate(): Promise<number> } };
      log: (m: string) => void;
    };
    const log = rt.log;
    rt.log = (m) => {
      logged.push(m);
      log(m);
    };
    const metrics = async (url: string) => (await fetch(`${url}/metrics`)).text();
    const before = await metrics(worker.server.url);
    expect(before).toContain('tagverse_realtime_evaluator_up{mode="worker"} 1');
    expect(before).toMatch(/tagverse_realtime_messages_total\{outcome="accepted"\} [1-9]\d*/);
    expect(before).toMatch(/tagverse_realtime_lag_seconds \d/);

    // Stopped (as a crash or running out of memory would): a new worker takes the warehouse's events
    // and the messages applied since (none of this world's live events are flushed yet, most of them).
    // Messages applied but not in the warehouse yet (flushes run every 300 ms here) must reach it too.
    const recent = randomStream(5, 100);
    await Promise.all([worker.rt.accept(recent, 'http'), inline.rt.accept(recent, 'http')]);
    expect(worker.rt.status().pendingFlush).toBeGreaterThan(0);
    await rt.link.worker.terminate();
    await eventually(() => (worker.rt.status().evaluator.restarts === 1 ? true : undefined), 60_000);
    expect(worker.rt.status().evaluator.error).toBeUndefined();
    expect(logged.some((m) => m.includes('evaluation worker restarted'))).toBe(true);
    // Acknowledged while it loaded, and the values continue exactly as the inline server's.
    await sendToBoth(randomStream(4, 200));
    expectSame(servedValues(worker), servedValues(inline));
    expect((await fetch(`${worker.server.url}/readyz`)).status).toBe(200);

    // Stopped again within a minute: reported, not restarted; events are still acknowledged.
    const failedBefore = logged.filter((m) => m.includes('evaluation failed')).length;
    await rt.link.worker.terminate();
    const result = await worker.rt.accept(randomStream(3, 20), 'http');
    expect(result.accepted).toBe(20);
    await eventually(() => (worker.rt.status().evaluator.error ? true : undefined));
    await new Promise((r) => setTimeout(r, 200));
    const status = worker.rt.status();
    expect(status.evaluator).toMatchObject({ mode: 'worker', restarts: 1 });
    expect(status.evaluator.error).toMatch(/evaluation worker exited/);
    expect(logged.some((m) => m.includes('not restarting it'))).toBe(true);
    expect(logged.filter((m) => m.includes('evaluation failed')).length - failedBefore).toBe(1);
    // Not ready any more (it still answers): an orchestrator restarts it.
    const ready = await fetch(`${worker.server.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { reason: string }).reason).toMatch(/live tags are not evaluated/);
    expect((await fetch(`${inline.server.url}/readyz`)).status).toBe(200);
    expect(await metrics(worker.server.url)).toContain('tagverse_realtime_evaluator_up{mode="worker"} 0');
    expect(await metrics(inline.server.url)).toContain('tagverse_realtime_evaluator_up{mode="inline"} 1');
  });
});
