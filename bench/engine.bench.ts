/**
 * The incremental engine alone (no HTTP, log or store), on a generated card world with the whole card
 * pack: a payment arrives for a customer, the engine takes it and re-evaluates that customer's tags
 * (what the real-time server does per event when events are spread over many customers). Side by side
 * in one run:
 * - incremental: `engine.add` + `engine.updateAt` per payment (µs, CPU µs),
 * - from scratch: the same engine building that customer's state anew from all its events and
 *   evaluating every tag (what evaluation without state kept between events costs per payment),
 * and their ratio. The payments are copies of the world's own, one second apart after its last event,
 * cycling through the customers.
 */
import { cpSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireProject } from '../src/config/project.js';
import { requireProgram } from '../src/engine/program.js';
import { generateWorld } from '../src/generate/index.js';
import { ingest } from '../src/ingest/ingest.js';
import { type EntityId, IncrementalEngine } from '../src/realtime/engine.js';
import type { ReferenceData, RefRow } from '../src/reference/evaluator.js';
import { loadReferenceData } from '../src/reference/load.js';
import { Warehouse } from '../src/warehouse/warehouse.js';
import type { Benchmark } from './harness.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const PACK_TAGS = path.join(here, '..', 'packs', 'card', 'tags');
const SOURCE = 'transactions';

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

function cpuMicros(): number {
  const c = process.cpuUsage();
  return c.user + c.system;
}

const bench: Benchmark = {
  name: 'engine',
  description:
    'incremental engine on the card pack: per-payment update and re-evaluation of one customer, vs recomputing that customer from its events',
  async run(ctx) {
    const customers = ctx.scale === 'quick' ? 200 : 2000;
    const payments = ctx.scale === 'quick' ? 3000 : 20_000;
    const scratchSample = ctx.scale === 'quick' ? 200 : 1000;
    const dir = path.join(ctx.tmpDir, 'world');
    let t = performance.now();
    await generateWorld({ customers, months: 3, seed: 7, out: dir, format: 'parquet', start: '2025-01-01' });
    cpSync(PACK_TAGS, path.join(dir, 'tags'), { recursive: true });
    await ingest(dir);
    const config = requireProject(dir);
    const program = (await requireProgram(config)).program;
    const wh = await Warehouse.open(config.engine.path);
    let data: ReferenceData;
    try {
      data = await loadReferenceData(wh, program);
    } finally {
      wh.close();
    }
    ctx.log(`world of ${customers} customers x 3 months ready in ${round((performance.now() - t) / 1000)} s`);

    const key = program.entityKeys[SOURCE]!;
    const timeColumn = program.timeColumns[SOURCE]!;
    const rows = [...(data.events[SOURCE] ?? [])].sort(
      (a, b) => (a[timeColumn] as number) - (b[timeColumn] as number),
    );
    // The server's mode: affinity populations follow the entities as they are read.
    const engine = new IncrementalEngine(program, program.tags, { affinity: 'incremental' });
    for (const s of program.profiles) engine.setProfiles(s, data.profiles[s] ?? []);
    t = performance.now();
    let T = 0;
    for (const r of rows) {
      const time = r[timeColumn] as number;
      engine.add({
        source: SOURCE,
        entity: r[key] as EntityId,
        time,
        fileId: r._file_id as number,
        row: r._row as number,
        data: r,
      });
      if (time > T) T = time;
    }
    const ids = [...new Set(rows.map((r) => r[key] as EntityId))];
    for (const id of ids) engine.updateAt(id, T, false);
    const loadSeconds = (performance.now() - t) / 1000;
    ctx.log(
      `${rows.length} payments of ${ids.length} customers loaded and evaluated in ${round(loadSeconds)} s`,
    );

    // The payments: copies of the world's own (each customer's own kind of payment), a second apart.
    const byCustomer = new Map<EntityId, RefRow[]>();
    for (const r of rows) {
      const id = r[key] as EntityId;
      const list = byCustomer.get(id);
      if (list) list.push(r);
      else byCustomer.set(id, [r]);
    }
    const next = (i: number): { id: EntityId; row: RefRow; time: number } => {
      const id = ids[(i * 7919) % ids.length]!;
      const own = byCustomer.get(id)!;
      const time = T + (i + 1) * 1_000_000;
      return { id, time, row: { ...own[i % own.length]!, [timeColumn]: time, _file_id: 2 ** 40, _row: i } };
    };

    // Incremental: add the payment, send what changed (as the server does).
    // BENCH_ALLOC_PROFILE=FILE: V8's sampling heap profile of this phase, every allocation counted
    // (also those collected since), for chrome://inspect or a script summing selfSize by call frame.
    const allocProfile = process.env.BENCH_ALLOC_PROFILE;
    const session = allocProfile ? new Session() : undefined;
    if (session) {
      session.connect();
      await session.post('HeapProfiler.startSampling', {
        samplingInterval: 4096,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      });
    }
    let changedTags = 0;
    const lat = new Float64Array(payments);
    const cpu0 = cpuMicros();
    const wall0 = performance.now();
    for (let i = 0; i < payments; i++) {
      const p = next(i);
      const s = performance.now();
      engine.add({ source: SOURCE, entity: p.id, time: p.time, fileId: 2 ** 40, row: i, data: p.row });
      changedTags += Object.keys(engine.updateAt(p.id, p.time, true)).length;
      lat[i] = (performance.now() - s) * 1000;
      byCustomer.get(p.id)!.push(p.row);
    }
    const incrementalCpu = (cpuMicros() - cpu0) / payments;
    const incrementalWall = ((performance.now() - wall0) * 1000) / payments;
    if (session && allocProfile) {
      const { profile } = await session.post('HeapProfiler.stopSampling');
      writeFileSync(allocProfile, JSON.stringify(profile));
      session.disconnect();
      ctx.log(`allocation profile of the incremental phase written to ${allocProfile}`);
    }
    lat.sort();

    // From scratch: the same engine building the customer's state anew from all its events (a fresh
    // entity each time, in an engine of its own) and evaluating every tag, per payment.
    const tagCount = program.tags.length;
    const scratch = new IncrementalEngine(program, program.tags, { affinity: 'incremental' });
    const profileRows = new Map<string, Map<EntityId, RefRow>>();
    for (const source of program.profiles) {
      const byId = new Map<EntityId, RefRow>();
      for (const r of data.profiles[source] ?? []) byId.set(r[program.entityKeys[source]!] as EntityId, r);
      profileRows.set(source, byId);
    }
    const cpu1 = cpuMicros();
    const wall1 = performance.now();
    for (let i = 0; i < scratchSample; i++) {
      const p = next(payments + i);
      const events = byCustomer.get(p.id)!;
      events.push(p.row);
      const fresh = `${String(p.id)}#${i}`;
      for (const [source, byId] of profileRows) {
        const row = byId.get(p.id);
        if (row) scratch.setProfile(source, fresh, { ...row, [program.entityKeys[source]!]: fresh });
      }
      for (const r of events) {
        scratch.add({
          source: SOURCE,
          entity: fresh,
          time: r[timeColumn] as number,
          fileId: r._file_id as number,
          row: r._row as number,
          data: r,
        });
      }
      scratch.updateAt(fresh, p.time, false);
    }
    const scratchCpu = (cpuMicros() - cpu1) / scratchSample;
    const scratchWall = ((performance.now() - wall1) * 1000) / scratchSample;
    ctx.log(
      `incremental ${round(incrementalWall)} us per payment (CPU ${round(incrementalCpu)}), from scratch ${round(scratchWall)} us (CPU ${round(scratchCpu)})`,
    );
    const pct = (q: number) => round(lat[Math.min(lat.length - 1, Math.floor(lat.length * q))]!);
    return {
      world: { customers: ids.length, payments: rows.length, months: 3, tags: tagCount },
      loadAndFirstEvaluationSeconds: round(loadSeconds, 2),
      incremental: {
        payments,
        usPerPayment: round(incrementalWall),
        cpuUsPerPayment: round(incrementalCpu),
        p50Us: pct(0.5),
        p99Us: pct(0.99),
        changedTagsPerPayment: round(changedTags / payments, 2),
      },
      fromScratch: {
        payments: scratchSample,
        usPerPayment: round(scratchWall),
        cpuUsPerPayment: round(scratchCpu),
        note: 'a fresh entity in the same engine: all the customer’s events added, every tag evaluated',
      },
      speedupIncrementalVsScratch: round(scratchCpu / incrementalCpu, 2),
    };
  },
};

export default bench;
