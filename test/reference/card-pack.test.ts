/**
 * The reference evaluator on a real project: a small synthetic card world (src/generate) ingested into
 * a warehouse, the card pack's tags (packs/card/tags), read back with loadReferenceData and evaluated
 * by the reference, must equal the DuckDB build for every customer and tag, at several as-of times.
 */
import { cpSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { closure } from '../../src/compile/plan.js';
import { requireProject } from '../../src/config/project.js';
import { requireProgram } from '../../src/engine/program.js';
import { generateWorld } from '../../src/generate/index.js';
import { ingest } from '../../src/ingest/ingest.js';
import type { TagProgram } from '../../src/lang/ir.js';
import { evaluateTags, type ReferenceData } from '../../src/reference/evaluator.js';
import { loadReferenceData } from '../../src/reference/load.js';
import { ident } from '../../src/warehouse/sql.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import { tempDir } from '../helpers.js';
import { differences, sqlValues } from '../lang/harness.js';

const PACK_TAGS = fileURLToPath(new URL('../../packs/card/tags', import.meta.url));

let wh: Warehouse;
let program: TagProgram;
let data: ReferenceData;
let names: string[];
let lastEvent: number;

beforeAll(async () => {
  const dir = tempDir();
  await generateWorld({
    customers: 120,
    months: 3,
    seed: 5,
    out: dir,
    format: 'parquet',
    start: '2025-01-01',
  });
  cpSync(PACK_TAGS, path.join(dir, 'tags'), { recursive: true });
  await ingest(dir);
  const config = requireProject(dir);
  program = (await requireProgram(config)).program;
  names = program.tags.map((t) => t.name);
  wh = await Warehouse.open(config.engine.path);
  data = await loadReferenceData(wh, program);
  const time = program.timeColumns.transactions!;
  lastEvent = Number(await wh.scalar(`SELECT epoch_us(max(${ident(time)})) FROM main.transactions`));
}, 120_000);
afterAll(() => wh?.close());

describe('the card pack on a generated world', () => {
  test('the pack is made of aggregate and derived tags the reference can evaluate', () => {
    expect(names.length).toBeGreaterThanOrEqual(50);
  });

  for (const [label, back] of [
    ['at the last event', 0],
    ['a month before the last event', 30 * 86_400_000_000],
  ] as const) {
    test(`the reference equals the DuckDB build ${label}`, async () => {
      const asOf = lastEvent - back;
      const sql = await sqlValues(wh, program, asOf, names);
      const ref = evaluateTags(program, closure(program, names), data, asOf);
      expect(ref.size).toBeGreaterThan(100);
      expect(differences(program, sql, ref)).toEqual([]);
    });
  }
});
