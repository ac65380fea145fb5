/**
 * The grocery pack over The Complete Journey's 75,000-line sample (2,469 households, read from
 * ../shared/datasets), built on DuckDB and on a two-shard ClickHouse cluster: the same value for every
 * household and tag, at the end of the panel and as of the end of September. Numbers agree to 1e-9
 * relative; everything else exactly. Skipped, saying so, without the datasets.
 */
import { appendFileSync, cpSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { requireProject } from '../../src/config/project.js';
import { build } from '../../src/engine/build.js';
import { requireProgram } from '../../src/engine/program.js';
import { ingest } from '../../src/ingest/ingest.js';
import type { TagProgram } from '../../src/lang/ir.js';
import { datasetsDir } from '../../src/packs/index.js';
import { initProject } from '../../src/project/init.js';
import { tempDir } from '../helpers.js';
import { differences } from '../lang/harness.js';
import { type LocalCluster, skipReason, startCluster } from './cluster.js';
import { currentValues } from './values.js';

const datasets = datasetsDir();
const skip =
  skipReason() ??
  (datasets
    ? undefined
    : '../shared/datasets not found (set TAGVERSE_DATASETS); grocery on ClickHouse skipped');
if (skip) console.warn(skip);

describe.skipIf(skip !== undefined)('the grocery pack on DuckDB and on a 2-shard ClickHouse cluster', () => {
  let cluster: LocalCluster;
  let duck: string;
  let house: string;
  let program: TagProgram;

  beforeAll(async () => {
    cluster = startCluster(2);
    duck = path.join(tempDir(), 'grocery');
    initProject(duck, { template: 'grocery' });
    house = path.join(tempDir(), 'grocery');
    cpSync(duck, house, { recursive: true });
    appendFileSync(
      path.join(house, 'tagverse.yaml'),
      `\nengine:\n  kind: clickhouse\n  clickhouse:\n    nodes: [${cluster.nodes.join(', ')}]\n    database: grocery_test\n`,
    );
    await ingest(duck);
    await ingest(house);
    program = (await requireProgram(requireProject(duck))).program;
  }, 300_000);
  afterAll(() => cluster?.stop());

  for (const asOf of ['2017-12-31', '2017-09-30']) {
    test(`every tag of every household agrees as of ${asOf}`, async () => {
      const a = await build(duck, { asOf });
      const b = await build(house, { asOf });
      expect(b.asOfMicros).toBe(a.asOfMicros);
      const left = await currentValues(requireProject(duck), program);
      const right = await currentValues(requireProject(house), program);
      expect(left.size).toBeGreaterThan(2000);
      expect(differences(program, left, right, ['duckdb', 'clickhouse'])).toEqual([]);
    }, 300_000);
  }
});
