/**
 * `tagverse build`: compute every tag for every entity as of T, then store, in one transaction,
 * - `tags.current`  one row per entity, one typed column per tag (the latest build of each tag),
 * - `tags.values`   the same values long: (entity_id, tag, value JSON), nulls left out,
 * - `tags.history`  (entity_id, tag, value, valid_from, valid_to): who entered/left a tag and when,
 * - `tags.builds`, `tags.coverage`  what was built, when, and how much of the population each tag covers.
 *
 * History only moves forward: a build at T appends changes for each tag whose history ends at or
 * before T (re-building at the same T replaces that step). Building at an earlier T still computes
 * and stores current values, but leaves history alone and says so.
 */

import { duckdbDialect } from '../compile/duckdb/dialect.js';
import { type BuildPlan, closure, ENTITY, planBuild } from '../compile/plan.js';
import { type ProjectConfig, requireProject } from '../config/project.js';
import type { TagIR, TagProgram } from '../lang/ir.js';
import { schemasFromWarehouse } from '../lang/schemas.js';
import { scoreModelTags } from '../models/build-hook.js';
import { didYouMeanSuffix } from '../util/did-you-mean.js';
import { TagverseError } from '../util/problems.js';
import { runPlanOnCluster } from '../warehouse/clickhouse-cluster.js';
import { ident, qualified, str } from '../warehouse/sql.js';
import { Warehouse } from '../warehouse/warehouse.js';
import { isoFromMicros, resolveAsOf } from './as-of.js';
import { deprecationWarnings, recordVersions } from './catalog.js';
import { requireProgram } from './program.js';

export const TAGS_SCHEMA = 'tags';
export const CURRENT = 'tags.current';
export const VALUES = 'tags.values';
export const HISTORY = 'tags.history';
export const BUILDS = 'tags.builds';
export const COVERAGE = 'tags.coverage';
/** Name of the entity column in the tag tables. */
export const ENTITY_ID = 'entity_id';

export interface BuildProgress {
  readonly step: string;
  readonly index: number;
  readonly total: number;
}

export interface BuildOptions {
  /** 'latest_event' | 'now' | ISO date or date-time; default: settings.as_of of the project. */
  readonly asOf?: string;
  /** Tags to build (with everything they depend on); default all. */
  readonly tags?: readonly string[];
  /** Leave tags.history untouched. */
  readonly skipHistory?: boolean;
  readonly onProgress?: (p: BuildProgress) => void;
  /** Clock for 'now' (tests inject one). */
  readonly now?: () => Date;
}

export interface TagCoverage {
  readonly name: string;
  readonly category: string;
  readonly type: string;
  /** Share of entities with a non-null value. */
  readonly nonNull: number;
  /** Booleans: share of entities where the tag is true. Lists: share with a non-empty list. */
  readonly trueShare?: number;
  /** Numbers: mean over non-null values. */
  readonly mean?: number;
  /** Categories: number of distinct values and the most common one. */
  readonly distinct?: number;
  readonly top?: string | null;
}

export interface BuildResult {
  readonly buildId: number;
  readonly asOf: string;
  readonly asOfMicros: number;
  readonly entities: number;
  readonly tags: readonly TagCoverage[];
  readonly durationMs: number;
  readonly steps: readonly { readonly name: string; readonly ms: number }[];
  readonly historyUpdated: readonly string[];
  readonly warnings: readonly string[];
}

async function ensureTagTables(wh: Warehouse): Promise<void> {
  await wh.run(`CREATE SCHEMA IF NOT EXISTS ${ident(TAGS_SCHEMA)}`);
  await wh.run(`CREATE TABLE IF NOT EXISTS ${HISTORY} (
    entity_id VARCHAR NOT NULL, tag VARCHAR NOT NULL, value JSON,
    valid_from TIMESTAMPTZ NOT NULL, valid_to TIMESTAMPTZ, version INTEGER NOT NULL)`);
  await wh.run(`CREATE TABLE IF NOT EXISTS ${BUILDS} (
    build_id BIGINT NOT NULL, as_of TIMESTAMPTZ NOT NULL, started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ NOT NULL,
    duration_ms BIGINT NOT NULL, tags VARCHAR[] NOT NULL, entities BIGINT NOT NULL)`);
  await wh.run(`CREATE TABLE IF NOT EXISTS ${COVERAGE} (
    build_id BIGINT NOT NULL, tag VARCHAR NOT NULL, category VARCHAR, type VARCHAR, entities BIGINT,
    non_null DOUBLE, true_share DOUBLE, mean DOUBLE, distinct_values BIGINT, top_value VARCHAR)`);
}

/**
 * Build the project's tags as of a time.
 * @example
 *   const r = await build('./world', { asOf: '2025-06-30' });
 *   console.log(r.entities, r.tags.map((t) => `${t.name}: ${t.nonNull}`));
 */
export async function build(project: ProjectConfig | string, opts: BuildOptions = {}): Promise<BuildResult> {
  const config = typeof project === 'string' ? requireProject(project) : project;
  const started = Date.now();
  const wh = await Warehouse.open(config.engine.path, {
    ...(config.engine.threads !== undefined ? { threads: config.engine.threads } : {}),
    ...(config.engine.memoryLimit !== undefined ? { memoryLimit: config.engine.memoryLimit } : {}),
  });
  try {
    const schemas = await schemasFromWarehouse(wh, config);
    const { program } = await requireProgram(config, schemas);
    if (program.tags.length === 0) {
      throw new TagverseError(
        'build.no_tags',
        `no tags defined: add definitions under ${config.dir}/tags/*.yaml`,
      );
    }
    const selected = selectTags(program, opts.tags);
    const asOfMicros = await resolveAsOf(opts.asOf ?? config.settings.asOf, wh, {
      timezone: config.timezone,
      eventSources: program.eventSources.map((s) => ({ source: s, timeColumn: program.timeColumns[s]! })),
      now: opts.now ?? (() => new Date()),
    });
    // On ClickHouse every shard computes its own entities; the values come back as the plan's output.
    const { plan, steps } =
      config.engine.kind === 'clickhouse'
        ? await runPlanOnCluster(wh, config, program, selected, asOfMicros, opts.onProgress)
        : await runLocalPlan(wh, program, selected, asOfMicros, config, opts.onProgress);
    // Model tags (kind 'model') are null in the plan: score the trained models over the fresh features.
    steps.push(...(await scoreModelTags(wh, config, program, schemas, plan)));
    await ensureTagTables(wh);
    const warnings: string[] = [];
    const deprecated = deprecationWarnings(program);
    for (const t of selected)
      for (const w of deprecated.get(t.name) ?? []) warnings.push(`${w}; it still builds`);
    const buildId = Number((await wh.scalar<bigint | null>(`SELECT max(build_id) FROM ${BUILDS}`)) ?? 0) + 1;
    let historyUpdated: string[] = [];
    const tStore = Date.now();
    await wh.transaction(async () => {
      await storeCurrent(wh, program, plan);
      await storeLong(wh, program);
      const versions = await recordVersions(wh, selected, buildId);
      if (!opts.skipHistory) historyUpdated = await storeHistory(wh, plan, versions, warnings);
      await wh.run(
        `INSERT INTO ${BUILDS} VALUES (${buildId}, ${duckdbDialect.instant(asOfMicros)}, ${str(new Date(started).toISOString())},
          now(), ${Date.now() - started}, [${selected.map((t) => str(t.name)).join(', ')}]::VARCHAR[], (SELECT count(*) FROM ${CURRENT}))`,
      );
      await storeCoverage(wh, buildId, selected);
    });
    steps.push({ name: 'store current values, long values and history', ms: Date.now() - tStore });
    const coverage = await readCoverage(wh, buildId);
    const entities = Number(await wh.scalar(`SELECT count(*) FROM ${CURRENT}`));
    return {
      buildId,
      asOf: isoFromMicros(asOfMicros),
      asOfMicros,
      entities,
      tags: coverage,
      durationMs: Date.now() - started,
      steps,
      historyUpdated,
      warnings,
    };
  } finally {
    wh.close();
  }
}

export function selectTags(program: TagProgram, names: readonly string[] | undefined): TagIR[] {
  if (names && names.length > 0) {
    const known = program.tags.map((t) => t.name as string);
    for (const n of names) {
      if (!known.includes(n))
        throw new TagverseError('build.unknown_tag', `unknown tag '${n}'${didYouMeanSuffix(n, known)}`);
    }
  }
  return closure(program, names);
}

async function runLocalPlan(
  wh: Warehouse,
  program: TagProgram,
  selected: readonly TagIR[],
  asOfMicros: number,
  config: ProjectConfig,
  onProgress?: (p: BuildProgress) => void,
): Promise<{ plan: BuildPlan; steps: { name: string; ms: number }[] }> {
  const plan = planBuild(program, selected, asOfMicros, {
    dialect: duckdbDialect,
    sourceTable: (s) => qualified('main', s),
    entityType: config.entity.idType === 'integer' ? 'BIGINT' : 'VARCHAR',
  });
  return { plan, steps: await runPlan(wh, plan, onProgress) };
}

/** Run the plan's statements as temp tables; returns the time of each. */
export async function runPlan(
  wh: Warehouse,
  plan: BuildPlan,
  onProgress?: (p: BuildProgress) => void,
): Promise<{ name: string; ms: number }[]> {
  const steps: { name: string; ms: number }[] = [];
  for (const [i, s] of plan.statements.entries()) {
    onProgress?.({ step: s.name, index: i, total: plan.statements.length });
    const t = Date.now();
    try {
      await wh.run(`CREATE OR REPLACE TEMP TABLE ${s.table} AS ${s.select}`);
    } catch (e) {
      const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
      throw new TagverseError('build.sql_failed', `computing ${s.name} failed: ${msg}`);
    }
    steps.push({ name: s.name, ms: Date.now() - t });
  }
  onProgress?.({ step: 'done', index: plan.statements.length, total: plan.statements.length });
  return steps;
}

/** Merge the new values into tags.current: built tags replaced, other tags kept, removed tags dropped. */
async function storeCurrent(wh: Warehouse, program: TagProgram, plan: BuildPlan): Promise<void> {
  const built = new Set(plan.tags.map((t) => t.name as string));
  const exists = await wh.tableExists(TAGS_SCHEMA, 'current');
  const oldCols = exists
    ? new Set((await wh.columns(TAGS_SCHEMA, 'current')).map((c) => c.name))
    : new Set<string>();
  const cols = program.tags.map((t) => {
    const q = ident(t.name);
    if (built.has(t.name)) return `n.${q}`;
    if (oldCols.has(t.name)) return `o.${q}`;
    return `${duckdbDialect.nullOf(t.value.type)} AS ${q}`;
  });
  const from = exists
    ? `${plan.output} n FULL OUTER JOIN ${CURRENT} o ON o.${ident(ENTITY_ID)} = n.${ident(ENTITY)}`
    : `${plan.output} n`;
  const entity = exists ? `COALESCE(n.${ident(ENTITY)}, o.${ident(ENTITY_ID)})` : `n.${ident(ENTITY)}`;
  await wh.run(
    `CREATE OR REPLACE TABLE ${CURRENT} AS SELECT ${entity} AS ${ident(ENTITY_ID)}, ${cols.join(', ')} FROM ${from} ORDER BY 1`,
  );
}

/** The long form of tags.current (nulls left out). */
async function storeLong(wh: Warehouse, program: TagProgram): Promise<void> {
  const parts = program.tags.map(
    (t) =>
      `SELECT CAST(${ident(ENTITY_ID)} AS VARCHAR) AS ${ident(ENTITY_ID)}, ${str(t.name)} AS tag, to_json(${ident(t.name)}) AS value FROM ${CURRENT} WHERE ${ident(t.name)} IS NOT NULL`,
  );
  await wh.run(`CREATE OR REPLACE TABLE ${VALUES} AS ${parts.join(' UNION ALL ')}`);
}

/** Append value changes at T to history, for the tags just built whose history does not go past T. */
async function storeHistory(
  wh: Warehouse,
  plan: BuildPlan,
  versions: ReadonlyMap<string, number>,
  warnings: string[],
): Promise<string[]> {
  const T = duckdbDialect.instant(plan.asOfMicros);
  const last = new Map(
    (
      await wh.objects<{ tag: string; last: number }>(
        `SELECT tag, epoch_us(max(valid_from)) AS last FROM ${HISTORY} GROUP BY tag`,
      )
    ).map((r) => [r.tag, Number(r.last)]),
  );
  const eligible: string[] = [];
  const ahead: string[] = [];
  for (const t of plan.tags) {
    const l = last.get(t.name);
    if (l !== undefined && l > plan.asOfMicros) ahead.push(t.name);
    else eligible.push(t.name);
  }
  if (ahead.length > 0) {
    const shown =
      ahead.length > 5 ? `${ahead.slice(0, 5).join(', ')} and ${ahead.length - 5} more` : ahead.join(', ');
    warnings.push(
      `the history of ${ahead.length} tag(s) (${shown}) already goes past this build's as-of ${isoFromMicros(plan.asOfMicros)}; their history was left unchanged`,
    );
  }
  if (eligible.length === 0) return [];
  const tagList = eligible.map(str).join(', ');
  // Re-building at the same T replaces that step: drop rows opened at T, reopen rows closed at T.
  await wh.run(`DELETE FROM ${HISTORY} WHERE valid_from = ${T} AND tag IN (${tagList})`);
  await wh.run(`UPDATE ${HISTORY} SET valid_to = NULL WHERE valid_to = ${T} AND tag IN (${tagList})`);
  const fresh = eligible
    .map(
      (name) =>
        `SELECT CAST(${ident(ENTITY)} AS VARCHAR) AS entity_id, ${str(name)} AS tag, to_json(${ident(name)}) AS value, ${versions.get(name) ?? 1} AS version FROM ${plan.output}`,
    )
    .join(' UNION ALL ');
  // A value changes history when it differs, or when a new definition version produced it.
  await wh.run(`CREATE OR REPLACE TEMP TABLE _tv_changes AS
    SELECT n.entity_id, n.tag, n.value, n.version FROM (${fresh}) n
    LEFT JOIN ${HISTORY} h ON h.entity_id = n.entity_id AND h.tag = n.tag AND h.valid_to IS NULL
    WHERE h.tag IS NULL OR CAST(h.value AS VARCHAR) IS DISTINCT FROM CAST(n.value AS VARCHAR) OR h.version <> n.version`);
  await wh.run(`UPDATE ${HISTORY} AS h SET valid_to = ${T} FROM _tv_changes c
    WHERE h.entity_id = c.entity_id AND h.tag = c.tag AND h.valid_to IS NULL`);
  await wh.run(`INSERT INTO ${HISTORY} SELECT entity_id, tag, value, ${T}, NULL, version FROM _tv_changes`);
  await wh.run('DROP TABLE _tv_changes');
  return eligible;
}

async function storeCoverage(wh: Warehouse, buildId: number, tags: readonly TagIR[]): Promise<void> {
  for (const t of tags) {
    const c = ident(t.name);
    const stats =
      t.type === 'boolean'
        ? `avg(CASE WHEN ${c} THEN 1.0 ELSE 0.0 END), NULL, NULL, NULL`
        : t.type === 'number'
          ? `NULL, avg(${c}), NULL, NULL`
          : t.type === 'category'
            ? `NULL, NULL, count(DISTINCT ${c}), mode(${c})`
            : t.type === 'list'
              ? `avg(CASE WHEN len(${c}) > 0 THEN 1.0 ELSE 0.0 END), NULL, NULL, NULL`
              : 'NULL, NULL, NULL, NULL';
    await wh.run(
      `INSERT INTO ${COVERAGE} SELECT ${buildId}, ${str(t.name)}, ${str(t.category)}, ${str(t.type)}, count(*),
        avg(CASE WHEN ${c} IS NOT NULL THEN 1.0 ELSE 0.0 END), ${stats} FROM ${CURRENT}`,
    );
  }
}

/** Coverage of each tag in one build, or (without `buildId`) the newest coverage row of each tag. */
export async function readCoverage(wh: Warehouse, buildId?: number): Promise<TagCoverage[]> {
  if (buildId === undefined && !(await wh.tableExists('tags', 'coverage'))) return [];
  const rows = await wh.objects<{
    tag: string;
    category: string;
    type: string;
    non_null: number;
    true_share: number | null;
    mean: number | null;
    distinct_values: number | null;
    top_value: string | null;
  }>(
    buildId !== undefined
      ? `SELECT * FROM ${COVERAGE} WHERE build_id = ${buildId}`
      : `SELECT * FROM ${COVERAGE} QUALIFY row_number() OVER (PARTITION BY tag ORDER BY build_id DESC) = 1 ORDER BY tag`,
  );
  return rows.map((r) => ({
    name: r.tag,
    category: r.category,
    type: r.type,
    nonNull: r.non_null,
    ...(r.true_share !== null ? { trueShare: r.true_share } : {}),
    ...(r.mean !== null ? { mean: r.mean } : {}),
    ...(r.distinct_values !== null ? { distinct: r.distinct_values } : {}),
    ...(r.type === 'category' ? { top: r.top_value } : {}),
  }));
}
