/**
 * Scoring inside `build`: after the plan has computed every tag (features included) into its output
 * table, the model tags in it are filled in before the values are stored, so scores are stored,
 * versioned and historised exactly like other tags.
 *
 * For each model: its features are read from the plan output (and the profile sources) in one query,
 * straight into typed columns; the compiled model scores them; deciles rank the entities that pass the
 * model's filter (others get null); the scores go back through a DuckDB appender and a positional
 * join (no per-row SQL).
 */
import { DOUBLE, DuckDBDataChunk } from '@duckdb/node-api';
import { duckdbDialect } from '../compile/duckdb/dialect.js';
import { compileExpr } from '../compile/expression.js';
import type { BuildPlan } from '../compile/plan.js';
import type { ProjectConfig } from '../config/project.js';
import { checkExpression } from '../lang/checker.js';
import { type Expr, forEachNode, type TagProgram } from '../lang/ir.js';
import type { SourceSchemas } from '../lang/schemas.js';
import { TagverseError } from '../util/problems.js';
import { ident } from '../warehouse/sql.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import {
  type ColumnKind,
  featureColumns,
  featureSql,
  isCategorical,
  profileAlias,
  profileJoins,
  profileSourcesOf,
  readColumns,
} from './features.js';
import type { FeatureMatrix } from './matrix.js';
import { type ModelFile, modelPath, predictorOf, readModelFile } from './model-file.js';

/** Decile of each score among the rows kept (1 = highest tenth); NaN for rows not kept. */
export function deciles(scores: Float64Array, keep: Uint8Array): Float64Array {
  const idx: number[] = [];
  for (let i = 0; i < scores.length; i++) if (keep[i] === 1 && !Number.isNaN(scores[i]!)) idx.push(i);
  idx.sort((a, b) => scores[b]! - scores[a]! || a - b);
  const out = new Float64Array(scores.length).fill(Number.NaN);
  const n = idx.length;
  let groupDecile = 1;
  for (let k = 0; k < n; k++) {
    // Equal scores share the decile of the first of them.
    if (k === 0 || scores[idx[k]!] !== scores[idx[k - 1]!]) groupDecile = Math.floor((k * 10) / n) + 1;
    out[idx[k]!] = groupDecile;
  }
  return out;
}

/** The SQL of a model's filter over the plan output (`v`) and its profile joins. */
function filterSql(expr: Expr, asOfMicros: number, timezone: string): string {
  return compileExpr(
    expr,
    duckdbDialect,
    {
      column: () => {
        throw new Error('a model filter cannot read event columns');
      },
      profile: (s, c) => `${profileAlias(s)}.${ident(c)}`,
      tag: (n) => `v.${ident(n)}`,
      agg: () => {
        throw new Error('a model filter cannot aggregate');
      },
      asOf: () => duckdbDialect.instant(asOfMicros),
    },
    timezone,
  );
}

export interface ScoredRows {
  readonly rows: number;
  /** Scores (NaN where the filter leaves the row out). */
  readonly scores: Float64Array;
  readonly deciles: Float64Array;
  /** Features as read, for explanations. */
  readonly matrix: FeatureMatrix;
}

/**
 * Score a model over a table of computed tag values (one row per entity, `_tv_entity` + tag columns),
 * in the table's row order.
 */
export async function scoreTable(
  wh: Warehouse,
  config: ProjectConfig,
  program: TagProgram,
  schemas: SourceSchemas,
  model: ModelFile,
  table: string,
  asOfMicros: number,
  entityColumn: string,
): Promise<ScoredRows> {
  let keepSql = 'TRUE';
  const sources = profileSourcesOf(model.features);
  if (model.filter) {
    const r = checkExpression(config, schemas, program, model.filter.text);
    if (!r.expr) {
      throw new TagverseError(
        'model.bad_filter',
        `the filter of model '${model.name}' no longer checks (${r.problems[0]?.message ?? 'unknown problem'}); retrain it`,
      );
    }
    keepSql = `(${filterSql(r.expr, asOfMicros, program.timezone)}) IS TRUE`;
    forEachNode(r.expr, (x) => {
      if (x.kind === 'profile') sources.push(x.source);
    });
  }
  const kinds: ColumnKind[] = [
    'number',
    'number',
    ...model.features.map((f): ColumnKind => (isCategorical(f.encoding) ? 'text' : 'number')),
  ];
  const select = [
    'v.rowid',
    `CASE WHEN ${keepSql} THEN 1.0 ELSE 0.0 END`,
    ...model.features.map((f) => featureSql(f, asOfMicros, 'v')),
  ];
  const read = await readColumns(
    wh,
    `SELECT ${select.join(', ')} FROM ${table} v ${profileJoins(sources, program.entityKeys, 'v', entityColumn)}`,
    kinds,
  );
  const n = read.rows;
  // Back into the table's row order.
  const rowid = read.columns[0] as Float64Array;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[rowid[i]!] = i;
  const keepRaw = read.columns[1] as Float64Array;
  const raw = read.columns.slice(2).map((col) => {
    if (Array.isArray(col)) return Array.from(order, (i) => col[i]!);
    const out = new Float64Array(n);
    for (let r = 0; r < n; r++) out[r] = col[order[r]!]!;
    return out;
  });
  const keep = new Uint8Array(n);
  for (let r = 0; r < n; r++) keep[r] = keepRaw[order[r]!] === 1 ? 1 : 0;
  const matrix: FeatureMatrix = {
    rows: n,
    columns: featureColumns(
      model.features,
      raw,
      model.features.map((f) => (f.levels ? [...f.levels] : null)),
    ),
  };
  const scores = predictorOf(model).scores(matrix);
  for (let r = 0; r < n; r++) if (keep[r] === 0) scores[r] = Number.NaN;
  return { rows: n, scores, deciles: deciles(scores, keep), matrix };
}

/**
 * Write scores (and deciles) into columns of `table`, row i of the scores into row i of the table:
 * the scores go in through a DuckDB appender, then a positional join replaces the columns.
 */
export async function writeScores(
  wh: Warehouse,
  table: string,
  scored: ScoredRows,
  columns: { readonly score?: string; readonly decile?: string },
): Promise<void> {
  const scoresTable = '_tv_model_scores';
  await wh.run(`CREATE OR REPLACE TEMP TABLE ${scoresTable} (score DOUBLE, decile DOUBLE)`);
  const appender = await wh.connection.createAppender(scoresTable, 'main', 'temp');
  try {
    const CHUNK = 2048;
    for (let b = 0; b < scored.rows; b += CHUNK) {
      const m = Math.min(CHUNK, scored.rows - b);
      const chunk = DuckDBDataChunk.create([DOUBLE, DOUBLE], m);
      const s: (number | null)[] = new Array(m);
      const d: (number | null)[] = new Array(m);
      for (let i = 0; i < m; i++) {
        const x = scored.scores[b + i]!;
        s[i] = Number.isNaN(x) ? null : x;
        const y = scored.deciles[b + i]!;
        d[i] = Number.isNaN(y) ? null : y;
      }
      chunk.setColumnValues(0, s);
      chunk.setColumnValues(1, d);
      appender.appendDataChunk(chunk);
    }
  } finally {
    appender.closeSync();
  }
  const replaced = [
    ...(columns.score ? [`s.score AS ${ident(columns.score)}`] : []),
    ...(columns.decile ? [`s.decile AS ${ident(columns.decile)}`] : []),
  ];
  if (replaced.length > 0) {
    await wh.run(
      `CREATE OR REPLACE TEMP TABLE _tv_model_output AS SELECT v.* REPLACE (${replaced.join(', ')}) FROM ${table} v POSITIONAL JOIN ${scoresTable} s`,
    );
    await wh.run(`DROP TABLE ${table}`);
    await wh.run(`ALTER TABLE _tv_model_output RENAME TO ${table}`);
  }
  await wh.run(`DROP TABLE ${scoresTable}`);
}

/**
 * Fill the model tags of a build plan's output with scores. Returns the time each model took.
 * Called by `build` between computing and storing (see src/engine/build.ts).
 */
export async function scoreModelTags(
  wh: Warehouse,
  config: ProjectConfig,
  program: TagProgram,
  schemas: SourceSchemas,
  plan: BuildPlan,
): Promise<{ name: string; ms: number }[]> {
  const models = new Map<string, Set<string>>();
  for (const t of plan.tags) {
    if (t.kind !== 'model' || !t.model) continue;
    models.set(t.model.name, (models.get(t.model.name) ?? new Set()).add(t.name));
  }
  const steps: { name: string; ms: number }[] = [];
  for (const [name, columns] of models) {
    const t0 = Date.now();
    const model = readModelFile(modelPath(config, name));
    const scored = await scoreTable(
      wh,
      config,
      program,
      schemas,
      model,
      plan.output,
      plan.asOfMicros,
      '_tv_entity',
    );
    await writeScores(wh, plan.output, scored, {
      ...(columns.has(`${name}_score`) ? { score: `${name}_score` } : {}),
      ...(columns.has(`${name}_decile`) ? { decile: `${name}_decile` } : {}),
    });
    steps.push({ name: `score model ${name} (${scored.rows} ${config.entity.name}s)`, ms: Date.now() - t0 });
  }
  return steps;
}
