/**
 * Differential tests: random tag files (YAML text -> parser -> checker -> IR) over random worlds,
 * built by the DuckDB SQL compiler and by the reference evaluator, must give the same value for
 * every entity and every tag. See generators.ts for what the worlds and tags contain.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { TagProgram } from '../../src/lang/ir.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import { tagFileArb, type World, worldArb } from './generators.js';
import {
  compile,
  differences,
  loadTables,
  type ReferenceData,
  referenceValues,
  serially,
  sqlValues,
} from './harness.js';

let wh: Warehouse;
beforeAll(async () => {
  wh = await Warehouse.open(':memory:');
});
afterAll(() => wh.close());

/**
 * FC_SEED=... replays a failure; FC_RUNS=k runs k times as many cases (for bug hunts). On a busy
 * machine a property stops after its time budget rather than failing on the test timeout.
 */
const seed = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : undefined;
const scale = Number(process.env.FC_RUNS ?? 1);
const params = (numRuns: number, budgetMs: number): fc.Parameters<unknown> => ({
  numRuns: Math.round(numRuns * scale),
  ...(seed !== undefined ? { seed } : {}),
  ...(process.env.FC_RUNS === undefined
    ? { interruptAfterTimeLimit: budgetMs, markInterruptAsFailure: false }
    : {}),
});
const timeout = 60_000 * Math.max(1, scale);

async function disagreements(program: TagProgram, data: ReferenceData, asOf: number): Promise<string[]> {
  await loadTables(wh, data);
  const sql = await sqlValues(wh, program, asOf);
  const ref = referenceValues(program, data, asOf);
  return differences(program, sql, ref);
}

function describeCase(yaml: string, world: World, diffs: readonly string[]): string {
  return [
    ...diffs,
    `timezone ${world.timezone}, as of ${new Date(world.asOf / 1000).toISOString()} (${world.asOf})`,
    yaml,
  ].join('\n');
}

/** World rows with times after T removed (null times are kept: they never count). */
function truncated(data: ReferenceData, asOf: number): ReferenceData {
  const keep = (time: string) => (r: Record<string, unknown>) =>
    r[time] === null || (r[time] as number) <= asOf;
  return {
    events: {
      tx: (data.events.tx ?? []).filter(keep('ts')),
      visits: (data.events.visits ?? []).filter(keep('at')),
    },
    profiles: data.profiles,
  };
}

describe('the DuckDB compiler and the reference evaluator agree', () => {
  test(
    'on random tags over random events, for every entity and tag',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          tagFileArb,
          worldArb,
          serially(async (yaml, world) => {
            const program = compile(yaml, world.timezone);
            const diffs = await disagreements(program, world.data, world.asOf);
            if (diffs.length > 0) throw new Error(describeCase(yaml, world, diffs));
          }),
        ),
        params(400, 40_000),
      );
    },
    timeout,
  );

  test(
    'a build as of T equals a build on the data truncated at T',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          tagFileArb,
          worldArb,
          serially(async (yaml, world) => {
            const program = compile(yaml, world.timezone);
            await loadTables(wh, world.data);
            const full = await sqlValues(wh, program, world.asOf);
            const cut = truncated(world.data, world.asOf);
            await loadTables(wh, cut);
            const sqlCut = await sqlValues(wh, program, world.asOf);
            const refFull = referenceValues(program, world.data, world.asOf);
            const refCut = referenceValues(program, cut, world.asOf);
            const diffs = [
              ...differences(program, full, sqlCut, ['sql on all rows', 'sql on rows <= T']),
              ...differences(program, refFull, refCut, ['reference on all rows', 'reference on rows <= T']),
            ];
            if (diffs.length > 0) throw new Error(describeCase(yaml, world, diffs));
          }),
        ),
        params(80, 12_000),
      );
    },
    timeout,
  );

  test('the generated tag files check (the generator speaks the language)', () => {
    fc.assert(
      fc.property(tagFileArb, fc.constantFrom('UTC', 'Europe/Paris'), (yaml, tz) => {
        expect(compile(yaml, tz).tags.length).toBeGreaterThan(0);
      }),
      { numRuns: 200, ...(seed !== undefined ? { seed } : {}) },
    );
  });
});
