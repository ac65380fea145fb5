/**
 * The card pack (every tag) built on DuckDB, on a 2-shard and on a 1-shard ClickHouse cluster on this
 * machine (scripts/clickhouse-cluster.sh, servers on 127.0.0.1). Full scale is ~20M card transactions
 * (125,000 customers x 12 months); BENCH_SCALE=quick is 3,000 customers. Reports the tag compute
 * (plan statements; ClickHouse: every shard at once, plus pulling values back), the whole build (with
 * storing values and history), the sync of the sources into the cluster, and that every engine built
 * the same entities. Values are compared tag by tag in test/clickhouse.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, copyFileSync, cpSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireProject } from '../src/config/project.js';
import { build } from '../src/engine/build.js';
import { generateWorld } from '../src/generate/index.js';
import { ingest } from '../src/ingest/ingest.js';
import { packDir } from '../src/packs/index.js';
import { syncSources } from '../src/warehouse/clickhouse-cluster.js';
import { Warehouse } from '../src/warehouse/warehouse.js';
import type { Benchmark } from './harness.js';

const SCRIPT = fileURLToPath(new URL('../scripts/clickhouse-cluster.sh', import.meta.url));

function startCluster(dir: string, shards: number, basePort: number): string[] {
  execFileSync(SCRIPT, ['start', dir, String(shards), String(basePort)], {
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 120_000,
  });
  return Array.from({ length: shards }, (_, i) => `http://127.0.0.1:${basePort + 10 * i}/`);
}

async function count(file: string, sql: string): Promise<number> {
  const wh = await Warehouse.open(file, { readOnly: true });
  try {
    return Number(await wh.scalar(sql));
  } finally {
    wh.close();
  }
}

const computeMs = (steps: readonly { name: string; ms: number }[]) =>
  steps
    .filter((s) => !s.name.startsWith('store ') && !s.name.startsWith('score '))
    .reduce((a, s) => a + s.ms, 0);

const bench: Benchmark = {
  name: 'clickhouse',
  description: 'card pack build: DuckDB vs a 2-shard and a 1-shard ClickHouse cluster on this machine',
  async run(ctx) {
    const customers = Number(process.env.BENCH_CUSTOMERS ?? (ctx.scale === 'quick' ? 3_000 : 125_000));
    const runs = ctx.scale === 'quick' ? 2 : 1;
    const dir = path.join(ctx.tmpDir, 'duckdb');
    ctx.log(`generating ${customers} customers x 12 months`);
    await generateWorld({ customers, months: 12, seed: 5, out: dir, format: 'parquet' });
    mkdirSync(path.join(dir, 'tags'), { recursive: true });
    for (const f of readdirSync(path.join(packDir('card'), 'tags')))
      copyFileSync(path.join(packDir('card'), 'tags', f), path.join(dir, 'tags', f));
    ctx.log('ingesting into DuckDB');
    await ingest(dir);
    const duckConfig = requireProject(dir);
    const events = await count(duckConfig.engine.path, 'SELECT count(*) FROM main.transactions');
    ctx.log(`${events} transactions`);

    const engines: Record<string, unknown> = {};
    const timed = async (project: string) => {
      const builds = [];
      for (let i = 0; i < runs; i++) builds.push(await build(project, { skipHistory: true }));
      const best = builds.reduce((a, b) => (b.durationMs < a.durationMs ? b : a));
      return {
        buildMs: best.durationMs,
        computeMs: computeMs(best.steps),
        entities: best.entities,
        tags: best.tags.length,
        eventsPerSecond: Math.round(events / (computeMs(best.steps) / 1000)),
      };
    };
    ctx.log('building on DuckDB');
    engines.duckdb = await timed(dir);

    for (const shards of [2, 1]) {
      const clusterDir = path.join(ctx.tmpDir, `cluster${shards}`);
      const nodes = startCluster(clusterDir, shards, 23000 + shards * 100);
      try {
        const project = path.join(ctx.tmpDir, `clickhouse${shards}`);
        cpSync(dir, project, { recursive: true });
        appendFileSync(
          path.join(project, 'tagverse.yaml'),
          `\nengine:\n  kind: clickhouse\n  clickhouse:\n    nodes: [${nodes.join(', ')}]\n    database: bench\n`,
        );
        const config = requireProject(project);
        ctx.log(`syncing the sources into ${shards} shard(s)`);
        const wh = await Warehouse.open(config.engine.path);
        const t = Date.now();
        try {
          await syncSources(wh, config);
        } finally {
          wh.close();
        }
        const syncMs = Date.now() - t;
        ctx.log(`building on ${shards} shard(s)`);
        engines[`clickhouse_${shards}_shard${shards > 1 ? 's' : ''}`] = { ...(await timed(project)), syncMs };
      } finally {
        execFileSync(SCRIPT, ['stop', clusterDir], { stdio: 'ignore', timeout: 60_000 });
      }
    }
    const e = engines as Record<string, { computeMs: number; buildMs: number; entities: number }>;
    const duck = e.duckdb!;
    const two = e.clickhouse_2_shards!;
    const one = e.clickhouse_1_shard!;
    return {
      customers,
      events,
      engines,
      sameEntities: duck.entities === two.entities && duck.entities === one.entities,
      clickhouse2VsDuckdbCompute: Math.round((two.computeMs / duck.computeMs) * 100) / 100,
      oneShardVsTwoShardsCompute: Math.round((one.computeMs / two.computeMs) * 100) / 100,
      note: 'both ClickHouse shards run on the same 2-core machine as the benchmark, so 2 shards share the cores of 1',
    };
  },
};

export default bench;
