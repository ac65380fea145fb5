/**
 * One real-time flush into the warehouse (`flushToWarehouse`), in this process, side by side with the
 * Appender sink it replaced (test/realtime/appender-sink.ts): N card payments (20,000 by default) made
 * by the real Segment mapping into a generated card world's warehouse, flushed alternately by each
 * sink into its own copy of the warehouse. Per flush: wall ms, the main thread's CPU ms (what the
 * server's event loop pays), the whole process's CPU ms (DuckDB's threads included), and the longest
 * event-loop stall (a 1 ms timer's largest lateness). The server opens the warehouse and checkpoints
 * around each flush; both are left out here, being the same for both sinks.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { requireProject } from '../src/config/project.js';
import { generateWorld } from '../src/generate/index.js';
import { ingest } from '../src/ingest/ingest.js';
import { sourceShapes } from '../src/realtime/initial-state.js';
import { SegmentMapper } from '../src/realtime/mapping.js';
import type { LoggedMessage } from '../src/realtime/records.js';
import { checkMessage } from '../src/realtime/segment-message.js';
import { flushToWarehouse } from '../src/realtime/warehouse-sink.js';
import { Warehouse } from '../src/warehouse/warehouse.js';
import { flushWithAppender } from '../test/realtime/appender-sink.js';
import type { Benchmark } from './harness.js';

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

/** CPU time of the calling thread in ns (Linux), else of the whole process. */
function threadCpuNs(): number {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
  } catch {
    const u = process.cpuUsage();
    return (u.user + u.system) * 1000;
  }
}

function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

interface Sample {
  wallMs: number;
  mainThreadCpuMs: number;
  processCpuMs: number;
  longestStallMs: number;
}

async function measure(flush: () => Promise<unknown>): Promise<Sample> {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last - 1);
    last = now;
  }, 1);
  const cpu0 = threadCpuNs();
  const proc0 = processCpuMs();
  const t0 = performance.now();
  await flush();
  const wallMs = performance.now() - t0;
  const mainThreadCpuMs = (threadCpuNs() - cpu0) / 1e6;
  const processMs = processCpuMs() - proc0;
  clearInterval(timer);
  longest = Math.max(longest, performance.now() - last - 1);
  return { wallMs, mainThreadCpuMs, processCpuMs: processMs, longestStallMs: longest };
}

function summary(samples: readonly Sample[]): Record<string, number> {
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return round(s[Math.floor(s.length / 2)]!);
  };
  return {
    flushes: samples.length,
    wallMs: median(samples.map((s) => s.wallMs)),
    mainThreadCpuMs: median(samples.map((s) => s.mainThreadCpuMs)),
    processCpuMs: median(samples.map((s) => s.processCpuMs)),
    longestStallMs: median(samples.map((s) => s.longestStallMs)),
  };
}

const bench: Benchmark = {
  name: 'realtime-sink',
  description:
    'one real-time flush of N card payments into the warehouse: staged JSON + read_json vs the Appender (main-thread CPU, wall, event-loop stall)',
  async run(ctx) {
    const n = Number(process.env.BENCH_SINK_MESSAGES ?? (ctx.scale === 'quick' ? 2_000 : 20_000));
    const rounds = ctx.scale === 'quick' ? 2 : 5;
    const dir = path.join(ctx.tmpDir, 'world');
    await generateWorld({ customers: 300, months: 1, seed: 9, out: dir, start: '2025-01-01' });
    const yamlFile = path.join(dir, 'tagverse.yaml');
    const doc = YAML.parseDocument(readFileSync(yamlFile, 'utf8'));
    doc.set(
      'realtime',
      doc.createNode({ segment: { track: [{ events: ['Card Payment'], source: 'transactions' }] } }),
    );
    writeFileSync(yamlFile, doc.toString());
    await ingest(dir);
    const config = requireProject(dir);

    const setup = await Warehouse.open(config.engine.path);
    const shapes = await sourceShapes(setup, config);
    const merchants = await setup.jsonRows<{ merchant_id: string; mcc: string; city: string }>(
      'SELECT DISTINCT merchant_id, mcc, city FROM raw.transactions ORDER BY ALL LIMIT 500',
    );
    const customers = await setup.jsonRows<{ id: string }>(
      'SELECT DISTINCT CAST(customer_id AS VARCHAR) AS id FROM raw.transactions ORDER BY 1',
    );
    setup.close();

    // The payments the realtime benchmark sends, through the real checks and mapping.
    const mapper = new SegmentMapper(config, shapes);
    const ids = { resolve: (id: string) => id };
    let seq = 0;
    const batch = (): LoggedMessage[] => {
      const out: LoggedMessage[] = [];
      const receivedAt = Date.now();
      for (let i = 0; i < n; i++) {
        const m = merchants[i % merchants.length]!;
        const amount = 1000 + ((i * 131) % 90_000);
        const raw = {
          type: 'track',
          userId: customers[(i * 7919) % customers.length]!.id,
          event: 'Card Payment',
          timestamp: new Date(receivedAt - 60_000 + i).toISOString(),
          properties: {
            merchant_id: m.merchant_id,
            mcc: m.mcc,
            amount,
            currency: 'KRW',
            original_amount: amount,
            channel: 'offline',
            city: m.city,
            country: 'KR',
          },
          messageId: `bench-${seq + 1}`,
        };
        const checked = checkMessage(raw, '', receivedAt);
        if (!checked.message) throw new Error(`payment refused: ${JSON.stringify(checked.problem)}`);
        const fx = mapper.effects(checked.message, ids);
        out.push({ seq: ++seq, id: raw.messageId, dedupe: true, at: receivedAt, via: 'http', fx });
      }
      return out;
    };
    const rows = batch()[0]!.fx[0];
    if (rows?.k !== 'row') throw new Error(`a payment made no row: ${JSON.stringify(rows)}`);
    ctx.log(
      `${n} payments per flush, ${Object.keys(rows.row).length} columns each, ${rounds} flushes per sink`,
    );

    const sinks = {
      appender: {
        file: path.join(dir, 'appender.duckdb'),
        flush: flushWithAppender,
        samples: [] as Sample[],
      },
      stagedJson: { file: path.join(dir, 'staged.duckdb'), flush: flushToWarehouse, samples: [] as Sample[] },
    };
    for (const s of Object.values(sinks)) copyFileSync(config.engine.path, s.file);
    // A warm-up flush each (JIT, first queries), then alternate so both see the same machine.
    for (let r = -1; r < rounds; r++) {
      for (const [name, s] of Object.entries(sinks)) {
        const messages = batch();
        const wh = await Warehouse.open(s.file);
        try {
          const sample = await measure(() => s.flush(wh, config, shapes, messages));
          if (r >= 0) s.samples.push(sample);
          ctx.log(
            `${name}: wall ${round(sample.wallMs)} ms, main thread ${round(sample.mainThreadCpuMs)} ms, process ${round(sample.processCpuMs)} ms, longest stall ${round(sample.longestStallMs)} ms`,
          );
        } finally {
          wh.close();
        }
      }
    }
    // Both warehouses hold the same payments.
    const counts = await Promise.all(
      Object.values(sinks).map(async (s) => {
        const wh = await Warehouse.open(s.file, { readOnly: true });
        try {
          return Number(await wh.scalar('SELECT count(*) FROM raw.transactions'));
        } finally {
          wh.close();
        }
      }),
    );
    if (counts[0] !== counts[1])
      throw new Error(`the sinks wrote different row counts: ${counts.join(' vs ')}`);

    const appender = summary(sinks.appender.samples);
    const staged = summary(sinks.stagedJson.samples);
    return {
      messagesPerFlush: n,
      appender,
      stagedJson: staged,
      mainThreadCpuRatio: round(staged.mainThreadCpuMs! / appender.mainThreadCpuMs!, 3),
      longestStallRatio: round(staged.longestStallMs! / appender.longestStallMs!, 3),
      wallRatio: round(staged.wallMs! / appender.wallMs!, 3),
    };
  },
};

export default bench;
