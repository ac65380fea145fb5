/**
 * `tagverse build` of the card pack's aggregate and derived tags, side by side with one hand-written
 * DuckDB query computing the same values on the same warehouse (bench/card-library-handwritten.ts).
 * Reports the compute ratio (target <= 1.25x), the full build (with storing values and history),
 * events/s and peak memory, and fails if the two disagree on any value.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { duckdbDialect } from '../src/compile/duckdb/dialect.js';
import { planBuild } from '../src/compile/plan.js';
import { requireProject } from '../src/config/project.js';
import { resolveAsOf } from '../src/engine/as-of.js';
import { build, runPlan, selectTags } from '../src/engine/build.js';
import { requireProgram } from '../src/engine/program.js';
import { generateWorld } from '../src/generate/index.js';
import { ingest } from '../src/ingest/ingest.js';
import { schemasFromWarehouse } from '../src/lang/schemas.js';
import { packDir } from '../src/packs/index.js';
import { qualified } from '../src/warehouse/sql.js';
import { Warehouse } from '../src/warehouse/warehouse.js';
import { HANDWRITTEN_TAGS, handwrittenCardSql } from './card-library-handwritten.js';
import type { Benchmark } from './harness.js';

const TARGET = 1.25;
const TAG_FILES = ['spending.yaml', 'habits.yaml', 'preferences.yaml', 'conditions.yaml', 'life-events.yaml'];

const bench: Benchmark = {
  name: 'build',
  description: 'build of the card tag library vs one hand-written DuckDB query (same values asserted)',
  async run(ctx) {
    const customers = Number(process.env.BENCH_CUSTOMERS ?? (ctx.scale === 'quick' ? 10_000 : 100_000));
    const runs = ctx.scale === 'quick' ? 2 : 3;
    const dir = path.join(ctx.tmpDir, 'world');
    ctx.log(`generating ${customers} customers x 12 months`);
    await generateWorld({ customers, months: 12, seed: 5, out: dir });
    mkdirSync(path.join(dir, 'tags'), { recursive: true });
    for (const f of TAG_FILES) copyFileSync(path.join(packDir('card'), 'tags', f), path.join(dir, 'tags', f));
    ctx.log('ingesting');
    await ingest(dir);
    const config = requireProject(dir);

    const wh = await Warehouse.open(config.engine.path);
    let oursTimes: number[] = [];
    const handTimes: number[] = [];
    let events = 0;
    let mismatches: Record<string, number> = {};
    let asOf = 0;
    let statements = 0;
    try {
      const { program } = await requireProgram(config, await schemasFromWarehouse(wh, config));
      asOf = await resolveAsOf('latest_event', wh, {
        timezone: config.timezone,
        eventSources: [{ source: 'transactions', timeColumn: 'ts' }],
        now: () => new Date(),
      });
      const tags = selectTags(program, [...HANDWRITTEN_TAGS]);
      const plan = planBuild(program, tags, asOf, {
        dialect: duckdbDialect,
        sourceTable: (s) => qualified('main', s),
        entityType: 'VARCHAR',
      });
      statements = plan.statements.length;
      events = Number(await wh.scalar('SELECT count(*) FROM main.transactions'));
      const sql = handwrittenCardSql(asOf);
      for (let i = 0; i < runs; i++) {
        let t = performance.now();
        await runPlan(wh, plan);
        oursTimes.push((performance.now() - t) / 1000);
        t = performance.now();
        await wh.run(`CREATE OR REPLACE TEMP TABLE _hand AS ${sql}`);
        handTimes.push((performance.now() - t) / 1000);
        ctx.log(
          `run ${i + 1}: ours ${oursTimes.at(-1)!.toFixed(2)} s, hand-written ${handTimes.at(-1)!.toFixed(2)} s`,
        );
      }
      // Same values, tag by tag (numbers to 1e-9 relative).
      const checks = tags.map((t) => {
        const a = `o."${t.name}"`;
        const b = `h."${t.name}"`;
        const differ =
          t.type === 'number'
            ? `(${a} IS NULL) <> (${b} IS NULL) OR abs(${a} - ${b}) > 1e-9 * greatest(1.0, abs(${b}))`
            : `to_json(${a})::VARCHAR IS DISTINCT FROM to_json(${b})::VARCHAR`;
        return `count(*) FILTER (WHERE ${differ}) AS "${t.name}"`;
      });
      const [row] = await wh.objects<Record<string, number>>(
        `SELECT count(*) AS entities, count(h.entity_id) AS matched, ${checks.join(', ')}
         FROM ${plan.output} o LEFT JOIN _hand h ON h.entity_id = o."_tv_entity"`,
      );
      mismatches = Object.fromEntries(
        Object.entries(row ?? {}).filter(([k, v]) => k !== 'entities' && k !== 'matched' && Number(v) > 0),
      );
      if (Number(row?.entities) !== Number(row?.matched))
        mismatches.entities_missing = Number(row?.entities) - Number(row?.matched);
    } finally {
      wh.close();
    }
    ctx.log('full build (compute + store current, long values, history)');
    const full = await build(dir, { asOf: new Date(asOf / 1000).toISOString(), tags: [...HANDWRITTEN_TAGS] });
    const ours = Math.min(...oursTimes);
    const hand = Math.min(...handTimes);
    oursTimes = oursTimes.map((x) => Math.round(x * 1000) / 1000);
    const result = {
      customers,
      events,
      tags: HANDWRITTEN_TAGS.length,
      statements,
      oursComputeSeconds: ours,
      handwrittenSeconds: hand,
      ratio: Math.round((ours / hand) * 1000) / 1000,
      targetRatio: TARGET,
      meetsTarget: ours / hand <= TARGET,
      eventsPerSecond: Math.round(events / ours),
      fullBuildSeconds: full.durationMs / 1000,
      fullBuildSteps: full.steps,
      valuesAgree: Object.keys(mismatches).length === 0,
      mismatches,
      runs: { ours: oursTimes, handwritten: handTimes },
      peakRssMiB: Math.round(ctx.peakRss() / 2 ** 20),
    };
    if (!result.valuesAgree)
      throw new Error(`tagverse build and the hand-written SQL disagree: ${JSON.stringify(mismatches)}`);
    return result;
  },
};
export default bench;
