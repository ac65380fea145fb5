/**
 * Point-in-time training sets. For each cutoff T:
 * - the features (and the entity filter) are computed as of T by the tag engine itself (planBuild +
 *   runPlan into temp tables), so they only read events with time <= T;
 * - the label is computed as of T + horizon; its aggregates' default window is `last <horizon>`,
 *   exactly (T, T + horizon], so it only reads what happened after the cutoff;
 * - rows are the entities known at T that pass the filter and have a non-null label.
 * Rows of several cutoffs are stacked. Nothing is written to the project's tag tables.
 *
 * A static model (no cutoffs) reads features and label from one snapshot.
 */
import { duckdbDialect } from '../compile/duckdb/dialect.js';
import { closure, ENTITY, planBuild } from '../compile/plan.js';
import type { ProjectConfig } from '../config/project.js';
import { isoFromMicros } from '../engine/as-of.js';
import { runPlan } from '../engine/build.js';
import type { TagIR } from '../lang/ir.js';
import { ident, qualified } from '../warehouse/sql.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import {
  type ColumnKind,
  featureSql,
  isCategorical,
  profileJoins,
  profileSourcesOf,
  readColumns,
} from './features.js';
import type { PreparedModel } from './prepare.js';

export interface TrainingRows {
  readonly rows: number;
  readonly ids: readonly string[];
  /** Index into `cutoffs` of the cutoff each row was computed at. */
  readonly cutoffIndex: Int32Array;
  readonly label: Float64Array;
  /** Raw feature values: Float64Array for numeric features, text (null = missing) for categorical ones. */
  readonly raw: readonly (Float64Array | (string | null)[])[];
  /** Values of the model's baseline tags, as of each row's cutoff (booleans 1/0, null = NaN). */
  readonly baselines: readonly Float64Array[];
  readonly cutoffs: readonly number[];
  readonly byCutoff: readonly {
    readonly cutoff: number;
    readonly rows: number;
    readonly labelMean: number;
  }[];
  /** Entities that passed the filter but had a null label (left out). */
  readonly unlabelled: number;
}

export interface RowsOptions {
  /** Compute at these cutoffs instead of the model's (evaluate --cutoff). */
  readonly cutoffs?: readonly number[];
  readonly onProgress?: (step: string) => void;
}

const planOptions = (config: ProjectConfig, prefix: string) => ({
  dialect: duckdbDialect,
  sourceTable: (s: string) => qualified('main', s),
  entityType: config.entity.idType === 'integer' ? 'BIGINT' : 'VARCHAR',
  prefix,
});

/**
 * Compute the training rows of a prepared model.
 * @example
 *   const rows = await trainingRows(wh, config, prepared);
 *   rows.byCutoff // [{ cutoff, rows: 1834, labelMean: 0.21 }, ...]
 */
export async function trainingRows(
  wh: Warehouse,
  config: ProjectConfig,
  m: PreparedModel,
  opts: RowsOptions = {},
): Promise<TrainingRows> {
  const cutoffs = opts.cutoffs ?? m.cutoffs;
  const featureTags = [
    ...m.features.flatMap((f) => (f.source.kind === 'tag' ? [f.source.tag] : [])),
    ...(m.filter ? [m.filter.name] : []),
    ...m.baselines.map((t) => t.name),
  ];
  const kinds: ColumnKind[] = [
    'text',
    'number',
    ...m.features.map((f): ColumnKind => (isCategorical(f.encoding) ? 'text' : 'number')),
    ...m.baselines.map((): ColumnKind => 'number'),
  ];
  const ids: string[] = [];
  const cutoffIndex: number[] = [];
  const labels: Float64Array[] = [];
  const raw: (Float64Array[] | (string | null)[])[] = m.features.map(() => []);
  const baselineParts: Float64Array[][] = m.baselines.map(() => []);
  const byCutoff: { cutoff: number; rows: number; labelMean: number }[] = [];
  let unlabelled = 0;
  const temp: string[] = [];
  try {
    for (const [i, cutoff] of cutoffs.entries()) {
      opts.onProgress?.(`features as of ${isoFromMicros(cutoff)}`);
      const labelAt = cutoff + m.horizonSeconds * 1e6;
      const tags: TagIR[] = m.static
        ? closure(m.program, [...featureTags, m.label.name])
        : closure(m.program, featureTags);
      const fPlan = planBuild(m.program, tags, cutoff, planOptions(config, `_tv_m${i}f_`));
      await runPlan(wh, fPlan);
      temp.push(...fPlan.statements.map((s) => s.table));
      let labelTable = fPlan.output;
      if (!m.static) {
        opts.onProgress?.(`labels as of ${isoFromMicros(labelAt)}`);
        const lPlan = planBuild(
          m.program,
          closure(m.program, [m.label.name]),
          labelAt,
          planOptions(config, `_tv_m${i}l_`),
        );
        await runPlan(wh, lPlan);
        temp.push(...lPlan.statements.map((s) => s.table));
        labelTable = lPlan.output;
      }
      const e = ident(ENTITY);
      const from = `${fPlan.output} v JOIN ${labelTable} l ON l.${e} = v.${e} ${profileJoins(
        profileSourcesOf(m.features),
        m.program.entityKeys,
        'v',
        ENTITY,
      )}`;
      const keep = m.filter ? `v.${ident(m.filter.name)} IS TRUE` : 'TRUE';
      const labelCol = `l.${ident(m.label.name)}`;
      unlabelled += Number(
        await wh.scalar(`SELECT count(*) FROM ${from} WHERE ${keep} AND ${labelCol} IS NULL`),
      );
      const select = [
        `CAST(v.${e} AS VARCHAR)`,
        `CAST(${labelCol} AS DOUBLE)`,
        ...m.features.map((f) => featureSql(f, cutoff, 'v')),
        ...m.baselines.map((t) => `CAST(v.${ident(t.name)} AS DOUBLE)`),
      ];
      const r = await readColumns(
        wh,
        `SELECT ${select.join(', ')} FROM ${from} WHERE ${keep} AND ${labelCol} IS NOT NULL ORDER BY 1`,
        kinds,
      );
      const idCol = r.columns[0] as (string | null)[];
      for (const id of idCol) ids.push(id ?? '');
      for (let k = 0; k < r.rows; k++) cutoffIndex.push(i);
      const label = r.columns[1] as Float64Array;
      labels.push(label);
      m.features.forEach((_, j) => {
        const col = r.columns[j + 2]!;
        if (Array.isArray(col)) for (const v of col) (raw[j] as (string | null)[]).push(v);
        else (raw[j] as Float64Array[]).push(col);
      });
      m.baselines.forEach((_, j) => {
        baselineParts[j]!.push(r.columns[m.features.length + 2 + j] as Float64Array);
      });
      let sum = 0;
      for (let k = 0; k < label.length; k++) sum += label[k]!;
      byCutoff.push({ cutoff, rows: r.rows, labelMean: r.rows === 0 ? 0 : sum / r.rows });
    }
  } finally {
    for (const t of temp) await wh.run(`DROP TABLE IF EXISTS ${t}`).catch(() => undefined);
  }
  const rows = ids.length;
  const concat = (parts: Float64Array[]) => {
    const out = new Float64Array(parts.reduce((s, p) => s + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
  return {
    rows,
    ids,
    cutoffIndex: Int32Array.from(cutoffIndex),
    label: concat(labels),
    raw: raw.map((parts, j) =>
      isCategorical(m.features[j]!.encoding) ? (parts as (string | null)[]) : concat(parts as Float64Array[]),
    ),
    baselines: baselineParts.map(concat),
    cutoffs,
    byCutoff,
    unlabelled,
  };
}

/** First event time in the project (for the model card's data range); null without events. */
export async function firstEventTime(wh: Warehouse, m: PreparedModel): Promise<number | null> {
  let first: number | null = null;
  for (const s of m.program.eventSources) {
    if (!(await wh.tableExists('raw', s))) continue;
    const us = await wh.scalar<bigint | null>(
      `SELECT epoch_us(min(${ident(m.program.timeColumns[s]!)})) FROM ${qualified('main', s)}`,
    );
    if (us !== null && us !== undefined) first = first === null ? Number(us) : Math.min(first, Number(us));
  }
  return first;
}
