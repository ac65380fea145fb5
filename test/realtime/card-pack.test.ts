/**
 * The incremental evaluator on the card pack: a small synthetic card world streamed event by event
 * (in time order) must give the DuckDB build's value for every customer and every tag of the pack
 * (aggregate, derived, affinity, recurrence, onset, shift), at two as-of times, with the payer read now and then while streaming (so the later reads re-evaluate only what changed).
 */
import { cpSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { requireProject } from '../../src/config/project.js';
import { requireProgram } from '../../src/engine/program.js';
import { generateWorld } from '../../src/generate/index.js';
import { ingest } from '../../src/ingest/ingest.js';
import type { TagProgram } from '../../src/lang/ir.js';
import { type EntityId, IncrementalEngine } from '../../src/realtime/engine.js';
import type { ReferenceData } from '../../src/reference/evaluator.js';
import { loadReferenceData } from '../../src/reference/load.js';
import { ident } from '../../src/warehouse/sql.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import { tempDir } from '../helpers.js';
import { differences, sqlValues } from '../lang/harness.js';

const PACK_TAGS = fileURLToPath(new URL('../../packs/card/tags', import.meta.url));
const DAY = 86_400_000_000;

let wh: Warehouse;
let program: TagProgram;
let data: ReferenceData;
let lastEvent: number;

beforeAll(async () => {
  const dir = tempDir();
  await generateWorld({
    customers: 150,
    months: 4,
    seed: 9,
    out: dir,
    format: 'parquet',
    start: '2025-01-01',
  });
  cpSync(PACK_TAGS, path.join(dir, 'tags'), { recursive: true });
  await ingest(dir);
  const config = requireProject(dir);
  program = (await requireProgram(config)).program;
  wh = await Warehouse.open(config.engine.path);
  data = await loadReferenceData(wh, program);
  const time = program.timeColumns.transactions!;
  lastEvent = Number(await wh.scalar(`SELECT epoch_us(max(${ident(time)})) FROM main.transactions`));
}, 120_000);
afterAll(() => wh?.close());

describe('the incremental evaluator on the card pack', () => {
  test('equals the DuckDB build a month before the last event and at it, streaming every payment', async () => {
    const engine = new IncrementalEngine(program);
    // The server's mode: affinity populations follow the entities as they are read.
    const served = new IncrementalEngine(program, program.tags, { affinity: 'incremental' });
    for (const source of program.profiles) {
      engine.setProfiles(source, data.profiles[source] ?? []);
      served.setProfiles(source, data.profiles[source] ?? []);
    }
    const key = program.entityKeys.transactions!;
    const time = program.timeColumns.transactions!;
    const events = [...(data.events.transactions ?? [])].sort(
      (a, b) => (a[time] as number) - (b[time] as number) || (a._row as number) - (b._row as number),
    );
    expect(events.length).toBeGreaterThan(5_000);
    let i = 0;
    for (const asOf of [lastEvent - 30 * DAY, lastEvent]) {
      for (; i < events.length && (events[i]![time] as number) <= asOf; i++) {
        const r = events[i]!;
        const ev = {
          source: 'transactions',
          entity: r[key] as EntityId,
          time: r[time] as number,
          fileId: r._file_id as number,
          row: r._row as number,
          data: r,
        };
        engine.add(ev);
        served.add(ev);
        // Read the payer now and then, as the server does: later reads re-evaluate only what changed.
        if (i % 40 === 0) engine.valuesAt(r[key] as EntityId, r[time] as number);
        if (i % 7 === 0) served.valuesAt(r[key] as EntityId, r[time] as number);
      }
      const sql = await sqlValues(wh, program, asOf);
      const inc = engine.allValuesAt(asOf) as Map<
        string | number,
        Record<string, import('../../src/lang/functions.js').RefValue>
      >;
      expect(inc.size).toBe(sql.size);
      expect(differences(program, sql, inc, ['sql', 'incremental'])).toEqual([]);
      // The served engine's populations follow every row counted; once every entity was read at asOf
      // they equal the populations recomputed from every entity's range at asOf.
      served.allValuesAt(asOf);
      const affinities = [...new Set(program.tags.flatMap((t) => t.aggregates))].filter(
        (a) => a.fn === 'affinity',
      );
      expect(affinities.length).toBeGreaterThan(0);
      const running = affinities.map((a) => served.populationShares(a.id));
      // Incremental populations equal the exact ones once every entity's contribution is as of asOf.
      served.refreshPopulation(asOf);
      affinities.forEach((a, k) => {
        const exact = served.populationShares(a.id);
        expect([...running[k]!.keys()].sort(), a.id).toEqual([...exact.keys()].sort());
        for (const [v, share] of exact) expect(running[k]!.get(v), `${a.id} ${v}`).toBeCloseTo(share, 9);
      });
      const live = served.allValuesAt(asOf) as typeof inc;
      expect(differences(program, sql, live, ['sql', 'served'])).toEqual([]);
    }
  }, 120_000);
});
