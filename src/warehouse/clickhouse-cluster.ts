/**
 * The ClickHouse engine: a cluster sharded by entity id.
 *
 * - `syncSources` copies what tags read (the `main.<source>` views of the local DuckDB warehouse: raw
 *   rows joined with their lookups) of every events and profile source into the cluster: on each node a
 *   MergeTree table `<source>_local`, and a Distributed table `<source>` over them sharded by
 *   cityHash64(entity id). Rows are written through the Distributed table, so each node holds whole
 *   entities.
 * - `runPlanOnCluster` compiles the tags with the ClickHouse dialect over the local tables and runs the
 *   plan on every node at once: each shard aggregates its own entities (affinity populations read the
 *   Distributed table). The per-entity values are pulled back into the DuckDB warehouse as the plan's
 *   output table, so storing, history, models and the online store work as with DuckDB.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { clickhouseDialect } from '../compile/clickhouse/dialect.js';
import { duckdbDialect } from '../compile/duckdb/dialect.js';
import { type BuildPlan, ENTITY, planBuild } from '../compile/plan.js';
import type { ClickHouseConfig, ProjectConfig } from '../config/project.js';
import type { TagIR, TagProgram } from '../lang/ir.js';
import { TagverseError } from '../util/problems.js';
import { ClickHouseClient } from './clickhouse-client.js';
import { ident, qualified, str } from './sql.js';
import type { Warehouse } from './warehouse.js';

const ch = clickhouseDialect;

export function clusterOf(config: ProjectConfig): ClickHouseConfig {
  const c = config.engine.clickhouse;
  if (config.engine.kind !== 'clickhouse' || !c)
    throw new TagverseError('engine.not_clickhouse', 'the project engine is not clickhouse');
  return c;
}

/** One client per node (shard), on the project database. */
export function nodeClients(c: ClickHouseConfig, onDatabase = true): ClickHouseClient[] {
  return c.nodes.map(
    (url) =>
      new ClickHouseClient({
        url,
        ...(onDatabase ? { database: c.database } : {}),
        ...(c.user !== undefined ? { user: c.user } : {}),
        ...(c.password !== undefined ? { password: c.password } : {}),
      }),
  );
}

/** ClickHouse column type and DuckDB export expression of a DuckDB column. */
function mapColumn(name: string, duckType: string): { type: string; export: string } {
  const col = ident(name);
  const t = duckType.toUpperCase();
  if (t.startsWith('TIMESTAMP')) return { type: 'Int64', export: `epoch_us(${col})` };
  if (t === 'DATE') return { type: 'Int32', export: `date_diff('day', DATE '1970-01-01', ${col})` };
  if (t === 'BOOLEAN') return { type: 'UInt8', export: `CAST(${col} AS INTEGER)` };
  if (/^(TINYINT|SMALLINT|INTEGER|BIGINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|HUGEINT)$/.test(t))
    return { type: 'Int64', export: `CAST(${col} AS BIGINT)` };
  if (/^(DOUBLE|FLOAT|REAL)$/.test(t) || t.startsWith('DECIMAL'))
    return { type: 'Float64', export: `CAST(${col} AS DOUBLE)` };
  return { type: 'String', export: `CAST(${col} AS VARCHAR)` };
}

export interface SyncResult {
  readonly source: string;
  readonly rows: number;
  readonly ms: number;
}

/**
 * Replace the cluster's copy of every events and profile source with the warehouse's current rows.
 * Tables are created on each node (no ON CLUSTER: that needs ZooKeeper).
 */
export async function syncSources(wh: Warehouse, config: ProjectConfig): Promise<SyncResult[]> {
  const c = clusterOf(config);
  const out: SyncResult[] = [];
  for (const [name, src] of config.sources) {
    if (src.kind === 'lookup') continue;
    if (!(await wh.tableExists('raw', name))) continue;
    const t0 = Date.now();
    const rows = await copyToCluster(wh, c, {
      name,
      from: qualified('main', name),
      columns: await wh.columns('main', name),
      key: src.entityKey,
      ...(src.kind === 'events' ? { time: src.timestamp.column } : {}),
    });
    out.push({ source: name, rows, ms: Date.now() - t0 });
  }
  return out;
}

export interface CopySpec {
  /** Name of the table on the cluster (`<name>_local` on each node, `<name>` the Distributed table). */
  readonly name: string;
  /** DuckDB relation to copy. */
  readonly from: string;
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  /** The entity key (shard key). */
  readonly key: string;
  /** The event time column of an events table. */
  readonly time?: string;
}

/** (Re)create a sharded table on the cluster and fill it from a DuckDB relation; returns its rows. */
export async function copyToCluster(wh: Warehouse, c: ClickHouseConfig, spec: CopySpec): Promise<number> {
  const nodes = nodeClients(c, false);
  const db = ch.ident(c.database);
  await Promise.all(nodes.map((n) => n.exec(`CREATE DATABASE IF NOT EXISTS ${db}`)));
  const cols = spec.columns.map((col) => ({ name: col.name, ...mapColumn(col.name, col.type) }));
  // The sort key cannot be Nullable: rows without an entity or a time belong to no entity.
  const sortKey = [spec.key, ...(spec.time ? [spec.time] : [])];
  const ddl = cols
    .map((col) => `${ch.ident(col.name)} ${sortKey.includes(col.name) ? col.type : `Nullable(${col.type})`}`)
    .join(', ');
  const local = `${db}.${ch.ident(`${spec.name}_local`)}`;
  const dist = `${db}.${ch.ident(spec.name)}`;
  await Promise.all(
    nodes.map(async (n) => {
      await n.exec(`DROP TABLE IF EXISTS ${dist}`);
      await n.exec(`DROP TABLE IF EXISTS ${local}`);
      await n.exec(
        `CREATE TABLE ${local} (${ddl}) ENGINE = MergeTree() ORDER BY (${sortKey.map((k) => ch.ident(k)).join(', ')})`,
      );
      await n.exec(
        `CREATE TABLE ${dist} AS ${local} ENGINE = Distributed(${ch.ident(c.cluster)}, ${db}, ${ch.ident(`${spec.name}_local`)}, cityHash64(${ch.ident(spec.key)}))`,
      );
    }),
  );
  const dir = mkdtempSync(path.join(tmpdir(), 'tagverse-ch-'));
  try {
    const file = path.join(dir, `${spec.name}.ndjson`);
    const notNull = sortKey.map((k) => `${ident(k)} IS NOT NULL`).join(' AND ');
    await wh.run(
      `COPY (SELECT ${cols.map((col) => `${col.export} AS ${ident(col.name)}`).join(', ')} FROM ${spec.from} WHERE ${notNull}) TO ${str(file)} (FORMAT JSON)`,
    );
    await nodes[0]!.insertFile(dist, file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return (await nodes[0]!.rows<{ n: number }>(`SELECT toFloat64(count()) AS n FROM ${dist}`))[0]!.n;
}

/** DuckDB expression turning a JSON column pulled from ClickHouse back into the value type's column. */
function fromClickHouse(col: string, t: TagIR['value']['type']): string {
  switch (t) {
    case 'boolean':
      return `CAST(CAST(${col} AS INTEGER) AS BOOLEAN)`;
    case 'number':
      return `CAST(${col} AS DOUBLE)`;
    case 'time':
      return `CAST(make_timestamp(CAST(${col} AS BIGINT)) AS TIMESTAMPTZ)`;
    case 'date':
      return `CAST(DATE '1970-01-01' + CAST(${col} AS INTEGER) AS DATE)`;
    case 'list':
      return `CAST(list_transform(CAST(${col} AS JSON[]), x -> struct_pack("value" := x->>'$[0]', score := CAST(x->>'$[1]' AS DOUBLE))) AS ${duckdbDialect.columnType('list')})`;
    case 'string':
      return `CAST(${col} ->> '$' AS VARCHAR)`;
    case 'duration':
    case 'null':
      return 'CAST(NULL AS VARCHAR)';
  }
}

export interface ClusterStep {
  readonly name: string;
  readonly ms: number;
}

/**
 * Compute `tags` as of T on the cluster (every shard its own entities) and leave the values in the
 * DuckDB warehouse as the returned plan's output table.
 */
export async function runPlanOnCluster(
  wh: Warehouse,
  config: ProjectConfig,
  program: TagProgram,
  tags: readonly TagIR[],
  asOfMicros: number,
  onProgress?: (p: { step: string; index: number; total: number }) => void,
): Promise<{ plan: BuildPlan; steps: ClusterStep[] }> {
  return computeOnCluster(wh, clusterOf(config), program, tags, asOfMicros, {
    integerIds: config.entity.idType === 'integer',
    ...(onProgress ? { onProgress } : {}),
  });
}

/** runPlanOnCluster for any cluster and program (the differential tests call it directly). */
export async function computeOnCluster(
  wh: Warehouse,
  c: ClickHouseConfig,
  program: TagProgram,
  tags: readonly TagIR[],
  asOfMicros: number,
  opts: {
    readonly integerIds?: boolean;
    readonly onProgress?: (p: { step: string; index: number; total: number }) => void;
  } = {},
): Promise<{ plan: BuildPlan; steps: ClusterStep[] }> {
  const onProgress = opts.onProgress;
  const nodes = nodeClients(c);
  const prefix = `_tv_${randomBytes(4).toString('hex')}_`;
  const plan = planBuild(program, tags, asOfMicros, {
    dialect: ch,
    sourceTable: (s) => `${ch.ident(c.database)}.${ch.ident(`${s}_local`)}`,
    populationTable: (s) => `${ch.ident(c.database)}.${ch.ident(s)}`,
    entityType: opts.integerIds ? 'Int64' : 'String',
    prefix,
  });
  const steps: ClusterStep[] = [];
  const dir = mkdtempSync(path.join(tmpdir(), 'tagverse-ch-'));
  try {
    for (const [i, s] of plan.statements.entries()) {
      onProgress?.({ step: s.name, index: i, total: plan.statements.length });
      const t = Date.now();
      try {
        await Promise.all(
          nodes.map((n) => n.exec(`CREATE TABLE ${ch.ident(s.table)} ENGINE = Memory AS ${s.select}`)),
        );
      } catch (e) {
        const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
        throw new TagverseError('build.sql_failed', `computing ${s.name} on ClickHouse failed: ${msg}`);
      }
      steps.push({ name: s.name, ms: Date.now() - t });
    }
    onProgress?.({ step: 'done', index: plan.statements.length, total: plan.statements.length });
    const t = Date.now();
    // Pull every shard's values into one file and read it into DuckDB with the warehouse's types.
    const file = path.join(dir, 'values.ndjson');
    const parts = await Promise.all(nodes.map((n) => n.jsonLines(`SELECT * FROM ${ch.ident(plan.output)}`)));
    writeFileSync(file, parts.join(''));
    const output = '_tv_values';
    const columns = [ENTITY, ...plan.tags.map((x) => x.name as string)];
    const jsonColumns = `{${columns.map((name) => `${str(name)}: 'JSON'`).join(', ')}}`;
    const entity = opts.integerIds
      ? `CAST(${ident(ENTITY)} AS BIGINT)`
      : `CAST(${ident(ENTITY)} ->> '$' AS VARCHAR)`;
    const select = [
      `${entity} AS ${ident(ENTITY)}`,
      ...plan.tags.map((x) => `${fromClickHouse(ident(x.name), x.value.type)} AS ${ident(x.name)}`),
    ];
    const source =
      parts.join('').length === 0
        ? `(SELECT ${columns.map((name) => `CAST(NULL AS JSON) AS ${ident(name)}`).join(', ')} WHERE FALSE)`
        : `read_json(${str(file)}, format = 'newline_delimited', columns = ${jsonColumns})`;
    await wh.run(`CREATE OR REPLACE TEMP TABLE ${output} AS SELECT ${select.join(', ')} FROM ${source}`);
    steps.push({ name: 'pull values from the shards', ms: Date.now() - t });
    return { plan: { ...plan, output }, steps };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await Promise.all(
      nodes.map(async (n) => {
        for (const s of plan.statements)
          await n.exec(`DROP TABLE IF EXISTS ${ch.ident(s.table)}`).catch(() => {});
      }),
    );
  }
}
