/**
 * `tagverse explain ID <model>_score`: why an entity has its score. The model's features are
 * recomputed for that one entity as of the explained time, the model scores them, and each feature's
 * contribution to the margin (log-odds for binary models) is given:
 * - trees: exact TreeSHAP values (gbdt/treeshap.ts);
 * - linear models: coefficient x standardised value (linear/linear.ts).
 * Contributions add up, from the margin of the average training row, to the entity's margin.
 */
import { duckdbDialect } from '../compile/duckdb/dialect.js';
import { closure, ENTITY, planBuild } from '../compile/plan.js';
import type { ProjectConfig } from '../config/project.js';
import { isoFromMicros } from '../engine/as-of.js';
import type { Evidence } from '../engine/explain.js';
import type { TagIR, TagProgram } from '../lang/ir.js';
import type { SourceSchemas } from '../lang/schemas.js';
import { TagverseError } from '../util/problems.js';
import { ident, qualified } from '../warehouse/sql.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { scoreTable } from './build-hook.js';
import { modelPath, predictorOf, readModelFile } from './model-file.js';

export interface FeatureContribution {
  readonly feature: string;
  /** The feature's value as the model read it (days for times, the level for categories). */
  readonly value: number | string | null;
  /** Its contribution to the margin (log-odds for binary models). */
  readonly contribution: number;
}

export interface ModelExplanation {
  readonly model: string;
  readonly version: number;
  readonly algorithm: string;
  readonly method: 'treeshap' | 'coefficient_x_standardised_value';
  readonly objective: 'binary' | 'regression';
  /** Margin of the average training row, where contributions start. */
  readonly expected: number;
  /** The entity's margin: expected + sum of contributions. */
  readonly margin: number;
  /** Probability (binary) or value (regression); null when the model's filter leaves the entity out. */
  readonly score: number | null;
  readonly filtered: boolean;
  /** Every feature, largest absolute contribution first. */
  readonly contributions: readonly FeatureContribution[];
}

/**
 * Explain a model tag's value for one entity as of a time.
 * @example
 *   const x = await explainModel(wh, config, program, schemas, tag, "'C0000042'", asOf);
 *   x.contributions[0] // { feature: 'days_since_last_txn', value: 41.2, contribution: 1.73 }
 */
export async function explainModel(
  wh: Warehouse,
  config: ProjectConfig,
  program: TagProgram,
  schemas: SourceSchemas,
  tag: TagIR,
  idLiteral: string,
  asOfMicros: number,
): Promise<ModelExplanation | undefined> {
  const name = tag.model!.name;
  const model = readModelFile(modelPath(config, name));
  const plan = planBuild(program, closure(program, [`${name}_score`]), asOfMicros, {
    dialect: duckdbDialect,
    sourceTable: (s) => qualified('main', s),
    entityType: config.entity.idType === 'integer' ? 'BIGINT' : 'VARCHAR',
    prefix: '_tv_xm_',
    entity: idLiteral,
  });
  for (const s of plan.statements) await wh.run(`CREATE OR REPLACE TEMP TABLE ${s.table} AS ${s.select}`);
  const count = Number(await wh.scalar(`SELECT count(*) FROM ${plan.output}`));
  if (count === 0) return undefined;
  const scored = await scoreTable(wh, config, program, schemas, model, plan.output, asOfMicros, ENTITY);
  const x = scored.matrix;
  const p = predictorOf(model);
  const { contributions, expected } = p.contributions(x, 0);
  const margin = expected + contributions.reduce((a, b) => a + b, 0);
  const unscored = p.scores(x)[0]!;
  const filtered = Number.isNaN(scored.scores[0]!);
  for (const s of plan.statements) await wh.run(`DROP TABLE IF EXISTS ${s.table}`);
  return {
    model: name,
    version: model.version,
    algorithm: model.algorithm,
    method: model.gbdt ? 'treeshap' : 'coefficient_x_standardised_value',
    objective: model.objective,
    expected,
    margin,
    score: filtered ? null : unscored,
    filtered,
    contributions: model.features
      .map((f, j) => {
        const col = x.columns[j]!;
        const value =
          col.kind === 'numeric'
            ? Number.isNaN(col.values[0]!)
              ? null
              : col.values[0]!
            : col.codes[0]! < 0
              ? null
              : col.levels[col.codes[0]!]!;
        return { feature: f.name, value, contribution: contributions[j]! };
      })
      .sort(
        (a, b) => Math.abs(b.contribution) - Math.abs(a.contribution) || (a.feature < b.feature ? -1 : 1),
      ),
  };
}

/** The stored decile of an entity (deciles rank the whole population, so they are read, not recomputed). */
export async function storedValue(wh: Warehouse, column: string, idLiteral: string): Promise<unknown> {
  if (!(await wh.tableExists('tags', 'current'))) return null;
  const cols = await wh.columns('tags', 'current');
  if (!cols.some((c) => c.name === column)) return null;
  const rows = await wh.objects(
    `SELECT ${ident(column)} AS v FROM tags.current WHERE entity_id = ${idLiteral}`,
  );
  return rows[0]?.v ?? null;
}

/** One line: the score and the features that moved it most. */
export function explanationReason(x: ModelExplanation, top = 5): string {
  const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(3));
  const parts = x.contributions
    .slice(0, top)
    .map((c) => `${c.contribution >= 0 ? '+' : '-'} ${fmt(Math.abs(c.contribution))} ${c.feature}`);
  const unit = x.objective === 'binary' ? 'log-odds' : 'value';
  const score = x.score === null ? 'not scored (the filter leaves it out)' : `score ${fmt(x.score)}`;
  return `${score}: ${unit} ${fmt(x.margin)} = ${fmt(x.expected)} (average) ${parts.join(' ')}${
    x.contributions.length > top ? ' ...' : ''
  }`;
}

export function unknownEntity(config: ProjectConfig, id: string, asOf: string): TagverseError {
  return new TagverseError(
    'explain.unknown_entity',
    `no ${config.entity.name} '${id}' with data at or before ${asOf}`,
  );
}

/** The Evidence `tagverse explain` prints for a model tag. */
export async function explainModelEvidence(
  wh: Warehouse,
  config: ProjectConfig,
  program: TagProgram,
  schemas: SourceSchemas,
  tag: TagIR,
  entityId: string,
  idLiteral: string,
  asOfMicros: number,
): Promise<Evidence> {
  const asOf = isoFromMicros(asOfMicros);
  const x = await explainModel(wh, config, program, schemas, tag, idLiteral, asOfMicros);
  if (!x) throw unknownEntity(config, entityId, asOf);
  const value = tag.model!.output === 'score' ? x.score : await storedValue(wh, tag.name, idLiteral);
  const model = readModelFile(modelPath(config, x.model));
  const byName = new Map(model.features.map((f) => [f.name, f]));
  return {
    entityId,
    tag: {
      name: tag.name,
      title: tag.title,
      description: tag.description,
      category: tag.category,
      type: tag.type,
      kind: tag.kind,
    },
    asOf,
    value,
    reason:
      tag.model!.output === 'decile'
        ? `decile ${value ?? 'null'} (of the latest build) of ${explanationReason(x)}`
        : explanationReason(x),
    aggregates: [],
    inputs: x.contributions.map((c) => ({
      name: c.feature,
      kind: byName.get(c.feature)?.source.kind === 'profile' ? ('profile' as const) : ('tag' as const),
      value: c.value,
    })),
    model: x,
  };
}
