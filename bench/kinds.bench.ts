/**
 * Build time of the whole card pack split by tag kind, and the affinity and recurrence kinds side by
 * side with hand-written DuckDB SQL computing the same values (bench/kinds-handwritten.ts; target
 * <= 1.5x). Fails if the hand-written SQL and `tagverse build` disagree on any value.
 */
import { cpSync } from 'node:fs';
import path from 'node:path';
import { duckdbDialect } from '../src/compile/duckdb/dialect.js';
import { planBuild } from '../src/compile/plan.js';
import { requireProject } from '../src/config/project.js';
import { resolveAsOf } from '../src/engine/as-of.js';
import { runPlan, selectTags } from '../src/engine/build.js';
import { requireProgram } from '../src/engine/program.js';
import { generateWorld } from '../src/generate/index.js';
import { ingest } from '../src/ingest/ingest.js';
import type { TagProgram } from '../src/lang/ir.js';
import { schemasFromWarehouse } from '../src/lang/schemas.js';
import { packDir } from '../src/packs/index.js';
import { qualified } from '../src/warehouse/sql.js';
import { Warehouse } from '../src/warehouse/warehouse.js';
import type { Benchmark } from './harness.js';
import { HAND_AFFINITY, HAND_RECURRENCE, handAffinitySql, handRecurrenceSql } from './kinds-handwritten.js';

const TARGET = 1.5;
const RECURRENCE_FIELDS = ['period_days', 'cv', 'cycles', 'last', 'next_due', 'overdue', 'value'] as const;

const bench: Benchmark = {
  name: 'kinds',
  description: 'card pack build split by tag kind; affinity and recurrence vs hand-written DuckDB SQL',
  async run(ctx) {
    const customers = Number(process.env.BENCH_CUSTOMERS ?? (ctx.scale === 'quick' ? 10_000 : 100_000));
    const runs = ctx.scale === 'quick' ? 2 : 3;
    const dir = path.join(ctx.tmpDir, 'world');
    ctx.log(`generating ${customers} customers x 12 months`);
    await generateWorld({ customers, months: 12, seed: 9, out: dir });
    cpSync(path.join(packDir('card'), 'tags'), path.join(dir, 'tags'), { recursive: true });
    ctx.log('ingesting');
    await ingest(dir);
    const config = requireProject(dir);
    const wh = await Warehouse.open(config.engine.path);
    try {
      const { program } = await requireProgram(config, await schemasFromWarehouse(wh, config));
      const asOf = await resolveAsOf('latest_event', wh, {
        timezone: config.timezone,
        eventSources: [{ source: 'transactions', timeColumn: 'ts' }],
        now: () => new Date(),
      });
      const events = Number(await wh.scalar('SELECT count(*) FROM main.transactions'));
      const planOf = (names: readonly string[] | undefined) =>
        planBuild(program, selectTags(program, names), asOf, {
          dialect: duckdbDialect,
          sourceTable: (s) => qualified('main', s),
          entityType: 'VARCHAR',
        });
      const time = async (f: () => Promise<unknown>) => {
        const t = performance.now();
        await f();
        return (performance.now() - t) / 1000;
      };

      // The whole pack, then each kind alone (with what its tags read).
      const byKind = kindsOf(program);
      const whole = planOf(undefined);
      const wholeSeconds = await time(() => runPlan(wh, whole));
      ctx.log(`whole pack (${whole.tags.length} tags incl. companions): ${wholeSeconds.toFixed(2)} s`);
      const kindSeconds: Record<string, { tags: number; seconds: number }> = {};
      for (const [kind, names] of byKind) {
        const seconds = await time(() => runPlan(wh, planOf(names)));
        kindSeconds[kind] = { tags: names.length, seconds: round(seconds) };
        ctx.log(`  ${kind}: ${names.length} tags, ${seconds.toFixed(2)} s`);
      }

      // Side by side: the same tags, ours vs hand-written, best of `runs`.
      const compare = async (kind: string, tags: readonly string[], hand: readonly string[]) => {
        const plan = planOf(tags);
        let ours = Number.POSITIVE_INFINITY;
        let handwritten = Number.POSITIVE_INFINITY;
        for (let i = 0; i < runs; i++) {
          ours = Math.min(ours, await time(() => runPlan(wh, plan)));
          handwritten = Math.min(
            handwritten,
            await time(async () => {
              for (const [j, sql] of hand.entries())
                await wh.run(`CREATE OR REPLACE TEMP TABLE _hand_${kind}_${j} AS ${sql}`);
            }),
          );
        }
        ctx.log(`${kind}: ours ${ours.toFixed(2)} s, hand-written ${handwritten.toFixed(2)} s`);
        return { plan, ours: round(ours), handwritten: round(handwritten), ratio: round(ours / handwritten) };
      };
      const affinity = await compare(
        'affinity',
        HAND_AFFINITY.map((a) => a.tag),
        HAND_AFFINITY.map((a) => handAffinitySql(a, asOf)),
      );
      const affinityMismatches: Record<string, number> = {};
      for (const [j, a] of HAND_AFFINITY.entries()) {
        // Lists equal: same values in the same order, scores to 1e-9 relative.
        const [row] = await wh.objects<{ n: number }>(
          `SELECT count(*) AS n FROM ${affinity.plan.output} o LEFT JOIN _hand_affinity_${j} h ON h.entity_id = o."_tv_entity"
           WHERE len(o."${a.tag}") <> len(COALESCE(h."${a.tag}", []))
              OR list_transform(o."${a.tag}", x -> x."value") <> list_transform(COALESCE(h."${a.tag}", []), x -> x."value")
              OR list_aggregate(list_transform(range(len(o."${a.tag}")),
                   i -> abs(o."${a.tag}"[i + 1]."score" - h."${a.tag}"[i + 1]."score")
                        > 1e-9 * greatest(1.0, abs(h."${a.tag}"[i + 1]."score"))), 'bool_or')`,
        );
        if (Number(row?.n) > 0) affinityMismatches[a.tag] = Number(row?.n);
      }
      const recurrence = await compare(
        'recurrence',
        HAND_RECURRENCE.map((r) => r.tag),
        HAND_RECURRENCE.map((r) => handRecurrenceSql(r, asOf)),
      );
      const recurrenceMismatches: Record<string, number> = {};
      for (const [j, r] of HAND_RECURRENCE.entries()) {
        const differs = (ours: string, hand: string, numeric: boolean) =>
          numeric
            ? `((${ours} IS NULL) <> (${hand} IS NULL) OR abs(${ours} - ${hand}) > 1e-9 * greatest(1.0, abs(${hand})))`
            : `(${ours} IS DISTINCT FROM ${hand})`;
        const checks = [
          differs(`o."${r.tag}"`, `COALESCE(h."${r.tag}", FALSE)`, false),
          ...RECURRENCE_FIELDS.map((f) =>
            differs(
              `o."${r.tag}_${f}"`,
              f === 'cycles' ? `COALESCE(h.${f}, 0)` : f === 'overdue' ? `COALESCE(h.${f}, FALSE)` : `h.${f}`,
              f === 'period_days' || f === 'cv' || f === 'cycles',
            ),
          ),
        ];
        const [row] = await wh.objects<{ n: number }>(
          `SELECT count(*) AS n FROM ${recurrence.plan.output} o LEFT JOIN _hand_recurrence_${j} h ON h.entity_id = o."_tv_entity"
           WHERE ${checks.join(' OR ')}`,
        );
        if (Number(row?.n) > 0) recurrenceMismatches[r.tag] = Number(row?.n);
      }
      const mismatches = { ...affinityMismatches, ...recurrenceMismatches };
      const result = {
        customers,
        events,
        packTags: program.tags.filter((t) => !t.companionOf).length,
        wholePackSeconds: round(wholeSeconds),
        eventsPerSecond: Math.round(events / wholeSeconds),
        byKind: kindSeconds,
        affinity: {
          tags: HAND_AFFINITY.map((a) => a.tag),
          oursSeconds: affinity.ours,
          handwrittenSeconds: affinity.handwritten,
          ratio: affinity.ratio,
        },
        recurrence: {
          tags: HAND_RECURRENCE.map((r) => r.tag),
          oursSeconds: recurrence.ours,
          handwrittenSeconds: recurrence.handwritten,
          ratio: recurrence.ratio,
        },
        targetRatio: TARGET,
        meetsTarget: affinity.ratio <= TARGET && recurrence.ratio <= TARGET,
        valuesAgree: Object.keys(mismatches).length === 0,
        mismatches,
        peakRssMiB: Math.round(ctx.peakRss() / 2 ** 20),
      };
      if (!result.valuesAgree)
        throw new Error(`tagverse build and the hand-written SQL disagree: ${JSON.stringify(mismatches)}`);
      return result;
    } finally {
      wh.close();
    }
  },
};
export default bench;

/** The tags written in files, grouped by kind (companions build with their tag). */
function kindsOf(program: TagProgram): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const t of program.tags) {
    if (t.companionOf) continue;
    const list = out.get(t.kind) ?? [];
    list.push(t.name);
    out.set(t.kind, list);
  }
  return out;
}

const round = (x: number) => Math.round(x * 1000) / 1000;
