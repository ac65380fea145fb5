/**
 * How build time grows with the number of tags on one source (10, 30, 100 aggregate tags over the
 * card world's transactions). Tags on the same source share one scan, so the cost should grow far
 * slower than the tag count. Measures the compute (the plan's statements), best of 3 runs each.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { duckdbDialect } from '../src/compile/duckdb/dialect.js';
import { closure, planBuild } from '../src/compile/plan.js';
import { requireProject } from '../src/config/project.js';
import { resolveAsOf } from '../src/engine/as-of.js';
import { runPlan } from '../src/engine/build.js';
import { requireProgram } from '../src/engine/program.js';
import { generateWorld } from '../src/generate/index.js';
import { ingest } from '../src/ingest/ingest.js';
import { schemasFromWarehouse } from '../src/lang/schemas.js';
import { qualified } from '../src/warehouse/sql.js';
import { Warehouse } from '../src/warehouse/warehouse.js';
import type { Benchmark } from './harness.js';

const CATEGORIES = [
  'grocery',
  'restaurant',
  'cafe',
  'golf',
  'fuel',
  'online_marketplace',
  'convenience',
  'pharmacy',
  'taxi',
  'department_store',
];
const WINDOWS = ['last 7d', 'last 30d', 'last 90d', 'last 180d', 'last 365d'];
const VALUES = [
  'count()',
  'sum(amount)',
  'avg(amount)',
  'max(amount)',
  'distinct_count(merchant_id)',
  "share(channel = 'online')",
];

/** n distinct aggregate tags: every combination of category x window x value, in a fixed order. */
export function syntheticTags(n: number): string {
  const out: string[] = [];
  let i = 0;
  outer: for (const value of VALUES) {
    for (const window of WINDOWS) {
      for (const category of CATEGORIES) {
        if (i >= n) break outer;
        out.push(`- name: t${String(i).padStart(3, '0')}
  description: ${value} of ${category} payments, ${window}.
  category: behavior
  from: transactions
  where: category = '${category}'
  window: ${window}
  value: ${value}
`);
        i++;
      }
    }
  }
  return out.join('');
}

const bench: Benchmark = {
  name: 'tag-scaling',
  description: 'build compute time for 10, 30 and 100 aggregate tags on one source',
  async run(ctx) {
    const customers = ctx.scale === 'quick' ? 10_000 : 100_000;
    const dir = path.join(ctx.tmpDir, 'world');
    ctx.log(`generating ${customers} customers x 12 months`);
    await generateWorld({ customers, months: 12, seed: 11, out: dir });
    await ingest(dir);
    const config = requireProject(dir);
    const results: Record<string, unknown>[] = [];
    for (const n of [10, 30, 100]) {
      mkdirSync(path.join(dir, 'tags'), { recursive: true });
      writeFileSync(path.join(dir, 'tags', 'bench.yaml'), syntheticTags(n));
      const wh = await Warehouse.open(config.engine.path);
      try {
        const { program } = await requireProgram(config, await schemasFromWarehouse(wh, config));
        const benchTags = closure(program).filter((t) => t.name.startsWith('t'));
        const asOf = await resolveAsOf('latest_event', wh, {
          timezone: config.timezone,
          eventSources: [{ source: 'transactions', timeColumn: 'ts' }],
          now: () => new Date(),
        });
        const plan = planBuild(program, benchTags, asOf, {
          dialect: duckdbDialect,
          sourceTable: (s) => qualified('main', s),
          entityType: 'VARCHAR',
        });
        const times: number[] = [];
        for (let r = 0; r < 3; r++) {
          const t = performance.now();
          await runPlan(wh, plan);
          times.push((performance.now() - t) / 1000);
        }
        const best = Math.min(...times);
        ctx.log(`${n} tags: ${best.toFixed(2)} s (${plan.statements.length} statements)`);
        results.push({ tags: n, seconds: best, statements: plan.statements.length, runs: times });
      } finally {
        wh.close();
      }
    }
    const s10 = results[0]!.seconds as number;
    const s100 = results[2]!.seconds as number;
    return {
      customers,
      results,
      growth10to100: Math.round((s100 / s10) * 100) / 100,
      sublinear: s100 / s10 < 10,
      peakRssMiB: Math.round(ctx.peakRss() / 2 ** 20),
    };
  },
};
export default bench;
