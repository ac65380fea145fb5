/**
 * One definition, two engines: the full card pack on a generated world, built on DuckDB and on a
 * two-shard ClickHouse cluster (ingest through the Distributed table, each shard computing its own
 * customers), gives the same value for every customer and tag, at the last event and as of a month
 * earlier. Numbers agree to 1e-9 relative (sums run in another order); everything else exactly.
 */
import { appendFileSync, cpSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { requireProject } from '../../src/config/project.js';
import { build } from '../../src/engine/build.js';
import { requireProgram } from '../../src/engine/program.js';
import { generateWorld } from '../../src/generate/index.js';
import { ingest } from '../../src/ingest/ingest.js';
import type { TagProgram } from '../../src/lang/ir.js';
import { ClickHouseClient } from '../../src/warehouse/clickhouse-client.js';
import { tempDir } from '../helpers.js';
import { differences } from '../lang/harness.js';
import { type LocalCluster, skipReason, startCluster } from './cluster.js';
import { currentValues } from './values.js';

const PACK_TAGS = fileURLToPath(new URL('../../packs/card/tags', import.meta.url));
const skip = skipReason();
if (skip) console.warn(skip);

describe.skipIf(skip !== undefined)('the card pack on DuckDB and on a 2-shard ClickHouse cluster', () => {
  let cluster: LocalCluster;
  let duck: string;
  let house: string;
  let program: TagProgram;

  beforeAll(async () => {
    cluster = startCluster(2);
    duck = tempDir();
    await generateWorld({
      customers: 300,
      months: 6,
      seed: 11,
      out: duck,
      format: 'parquet',
      start: '2025-01-01',
    });
    cpSync(PACK_TAGS, path.join(duck, 'tags'), { recursive: true });
    house = tempDir();
    cpSync(duck, house, { recursive: true });
    appendFileSync(
      path.join(house, 'tagverse.yaml'),
      `\nengine:\n  kind: clickhouse\n  clickhouse:\n    nodes: [${cluster.nodes.join(', ')}]\n    database: card_test\n`,
    );
    await ingest(duck);
    await ingest(house);
    program = (await requireProgram(requireProject(duck))).program;
  }, 300_000);
  afterAll(() => cluster?.stop());

  test('ingest shards the customers: each node holds whole customers, together all of them', async () => {
    const nodes = cluster.nodes.map((url) => new ClickHouseClient({ url, database: 'card_test' }));
    const per = await Promise.all(
      nodes.map((n) =>
        n
          .rows<{ c: string }>('SELECT DISTINCT customer_id AS c FROM transactions_local')
          .then((r) => r.map((x) => x.c)),
      ),
    );
    expect(per[0]!.length).toBeGreaterThan(50);
    expect(per[1]!.length).toBeGreaterThan(50);
    expect(per[0]!.filter((c) => per[1]!.includes(c))).toEqual([]);
    expect(per[0]!.length + per[1]!.length).toBe(300);
  });

  for (const asOf of [undefined, '2025-05-31']) {
    test(`every tag of every customer agrees ${asOf ? `as of ${asOf}` : 'at the last event'}`, async () => {
      const a = await build(duck, asOf ? { asOf } : {});
      const b = await build(house, asOf ? { asOf } : {});
      expect(b.asOfMicros).toBe(a.asOfMicros);
      const left = await currentValues(requireProject(duck), program);
      const right = await currentValues(requireProject(house), program);
      expect(left.size).toBe(300);
      expect(differences(program, left, right, ['duckdb', 'clickhouse'])).toEqual([]);
    }, 300_000);
  }
});
