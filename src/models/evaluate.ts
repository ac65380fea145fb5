/**
 * `tagverse evaluate MODEL`: the model card of the trained model (validation metrics measured at
 * training), and, with `--cutoff`, a backtest: the trained model scores entities as of other cutoffs
 * (typically later ones, whose horizon has since passed) and is measured on what then happened.
 *
 * `tagverse models`: every model of the project with its training state.
 */
import { existsSync } from 'node:fs';
import { type ProjectConfig, requireProject } from '../config/project.js';
import { isoFromMicros, resolveAsOf } from '../engine/as-of.js';
import { TagverseError } from '../util/problems.js';
import { Warehouse } from '../warehouse/warehouse.js';
import { trainingRows } from './dataset.js';
import { definitionHash, loadModelDefinitions } from './definition.js';
import { featureColumns } from './features.js';
import { evaluatePredictions, type Metrics } from './metrics.js';
import { type ModelCard, type ModelFile, modelPath, predictorOf, readModelFile } from './model-file.js';
import { prepareInWarehouse, requireModelDefinition } from './train.js';

export interface Backtest {
  readonly cutoffs: readonly string[];
  readonly rows: number;
  readonly byCutoff: readonly {
    readonly cutoff: string;
    readonly rows: number;
    readonly labelMean: number;
  }[];
  readonly metrics: Metrics;
}

export interface Evaluation {
  readonly card: ModelCard;
  /** The definition changed since the model was trained. */
  readonly stale: boolean;
  readonly backtest?: Backtest;
}

export interface EvaluateOptions {
  /** Backtest at these cutoffs (dates or date-times, as for build --as-of). */
  readonly cutoffs?: readonly string[];
  readonly onProgress?: (step: string) => void;
}

export function requireTrained(config: ProjectConfig, name: string): ModelFile {
  const file = modelPath(config, name);
  if (!existsSync(file)) {
    throw new TagverseError(
      'model.not_trained',
      `model '${name}' is not trained yet: run tagverse train ${name}`,
    );
  }
  return readModelFile(file);
}

/**
 * @example
 *   const { card, backtest } = await evaluateModel('./world', 'churn_60d', { cutoffs: ['2025-11-30'] });
 */
export async function evaluateModel(
  project: ProjectConfig | string,
  name: string,
  opts: EvaluateOptions = {},
): Promise<Evaluation> {
  const config = typeof project === 'string' ? requireProject(project) : project;
  const def = requireModelDefinition(config, name);
  const model = requireTrained(config, name);
  const stale = definitionHash(def) !== model.definitionHash;
  if (!opts.cutoffs || opts.cutoffs.length === 0) return { card: model.card, stale };
  const wh = await Warehouse.open(config.engine.path);
  try {
    const m = await prepareInWarehouse(wh, config, def);
    if (m.static) {
      throw new TagverseError(
        'model.static_backtest',
        `model '${name}' is static (no cutoffs): there is no other time to backtest it at; its card holds the holdout metrics`,
      );
    }
    const ctx = {
      timezone: config.timezone,
      eventSources: m.program.eventSources.map((s) => ({ source: s, timeColumn: m.program.timeColumns[s]! })),
      now: () => new Date(),
    };
    const latest = await resolveAsOf('latest_event', wh, ctx);
    const cutoffs: number[] = [];
    for (const c of opts.cutoffs) {
      const us = await resolveAsOf(c, wh, ctx);
      if (us + m.horizonSeconds * 1e6 > latest) {
        throw new TagverseError(
          'model.incomplete_horizon',
          `cutoff ${c} + ${def.input.label.horizon} ends after the latest event (${isoFromMicros(latest)}): what happened after it is not all in the data yet`,
        );
      }
      cutoffs.push(us);
    }
    // The features the model was trained on, read the way it reads them.
    const features = model.features.map((f) => ({ name: f.name, source: f.source, encoding: f.encoding }));
    const rows = await trainingRows(
      wh,
      config,
      { ...m, features },
      { cutoffs, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) },
    );
    const x = {
      rows: rows.rows,
      columns: featureColumns(
        features,
        rows.raw,
        model.features.map((f) => (f.levels ? [...f.levels] : null)),
      ),
    };
    const scores = predictorOf(model).scores(x);
    return {
      card: model.card,
      stale,
      backtest: {
        cutoffs: cutoffs.map(isoFromMicros),
        rows: rows.rows,
        byCutoff: rows.byCutoff.map((c) => ({
          cutoff: isoFromMicros(c.cutoff),
          rows: c.rows,
          labelMean: c.labelMean,
        })),
        metrics: evaluatePredictions(model.objective, scores, rows.label),
      },
    };
  } finally {
    wh.close();
  }
}

export interface ModelSummary {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly algorithm: string;
  readonly file: string;
  /** untrained; trained; stale (definition changed since training). */
  readonly state: 'untrained' | 'trained' | 'stale';
  readonly version?: number;
  readonly trainedAt?: string;
  readonly objective?: 'binary' | 'regression';
  /** Validation AUC (binary) or RMSE (regression). */
  readonly auc?: number;
  readonly prAuc?: number;
  readonly rmse?: number;
  readonly rows?: number;
  readonly features?: number;
  readonly tags: readonly string[];
}

/**
 * Every model defined in the project.
 * @example
 *   for (const m of listModels('./world')) console.log(m.name, m.state, m.auc);
 */
export function listModels(project: ProjectConfig | string): { models: ModelSummary[]; problems: string[] } {
  const config = typeof project === 'string' ? requireProject(project) : project;
  const { models, problems } = loadModelDefinitions(config.dir);
  return {
    problems: problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.message}`),
    models: models.map((def) => {
      const name = def.input.name;
      const base = {
        name,
        title: def.input.title ?? name,
        description: def.input.description,
        algorithm: def.algorithm,
        file: def.path,
        tags: [`${name}_score`, `${name}_decile`],
      };
      const file = modelPath(config, name);
      if (!existsSync(file)) return { ...base, state: 'untrained' as const };
      const m = readModelFile(file);
      const metrics = m.card.metrics;
      return {
        ...base,
        state: definitionHash(def) === m.definitionHash ? ('trained' as const) : ('stale' as const),
        version: m.version,
        trainedAt: m.trainedAt,
        objective: m.objective,
        ...(metrics.kind === 'binary' ? { auc: metrics.auc, prAuc: metrics.prAuc } : { rmse: metrics.rmse }),
        rows: m.card.rows.total,
        features: m.features.length,
      };
    }),
  };
}
