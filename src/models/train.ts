/**
 * `tagverse train MODEL`: build the point-in-time training set, validate honestly, fit, write the
 * versioned model file with its card, and publish the scores as tags.
 *
 * Validation: with two or more cutoffs, the model is trained on the earlier cutoffs and measured on
 * the last one (time-based: it never sees the period it is judged on); otherwise a share of entities
 * is held out (all their rows). Gradient-boosted trees stop early on a further 15% of the training
 * entities, never on the validation rows. The published model is then refit on every row (same
 * number of trees) unless `refit: false`; the card's metrics are those of the model that did not see
 * the validation rows.
 */
import { existsSync } from 'node:fs';
import { type ProjectConfig, requireProject } from '../config/project.js';
import { isoFromMicros } from '../engine/as-of.js';
import { BUILDS, build } from '../engine/build.js';
import { loadProgram } from '../engine/program.js';
import { schemasFromWarehouse } from '../lang/schemas.js';
import { didYouMeanSuffix } from '../util/did-you-mean.js';
import { ProjectError, TagverseError } from '../util/problems.js';
import { Warehouse } from '../warehouse/warehouse.js';
import { firstEventTime, type TrainingRows, trainingRows } from './dataset.js';
import { definitionHash, loadModelDefinitions, type ModelDefinition } from './definition.js';
import { featureColumns } from './features.js';
import { CompiledForest, scoringColumns } from './gbdt/forest.js';
import { DEFAULT_GBDT_PARAMS, type GbdtParams, type GbdtTraining, trainGbdt } from './gbdt/train.js';
import { treeToJson } from './gbdt/tree.js';
import {
  DEFAULT_LINEAR_PARAMS,
  type LinearParams,
  type LinearTraining,
  linearMargins,
  trainLinear,
} from './linear/linear.js';
import { sigmoid } from './link.js';
import { type FeatureMatrix, takeRows, takeValues } from './matrix.js';
import { auc, compareScore, evaluatePredictions, logLoss, rmse, type ScoreComparison } from './metrics.js';
import {
  type FeatureImportance,
  MODEL_FORMAT,
  type ModelCard,
  type ModelFeature,
  type ModelFile,
  modelPath,
  readModelFile,
  writeModelFile,
} from './model-file.js';
import { type PreparedModel, prepareModel } from './prepare.js';
import { entityUniform, partitionRows } from './split.js';

export interface TrainOptions {
  readonly onProgress?: (step: string) => void;
  /** Publish <model>_score and <model>_decile by building them (default true). */
  readonly publish?: boolean;
}

export interface TrainResult {
  readonly card: ModelCard;
  readonly file: string;
  readonly published?: { readonly buildId: number; readonly asOf: string; readonly entities: number };
}

/** Share of training entities the trees stop early on. */
const EARLY_STOPPING_SHARE = 0.15;
const DEFAULT_HOLDOUT = 0.2;

/** The model definition named `name`, or an error naming the ones that exist. */
export function requireModelDefinition(config: ProjectConfig, name: string): ModelDefinition {
  const { models, problems } = loadModelDefinitions(config.dir);
  const def = models.find((m) => m.input.name === name);
  const own = problems.filter((p) => p.file === `models/${name}.yaml` || p.file === `models/${name}.yml`);
  if (own.some((p) => p.severity === 'error')) throw new ProjectError(own);
  if (!def) {
    const names = models.map((m) => m.input.name);
    throw new TagverseError(
      'model.unknown',
      names.length === 0
        ? `no model '${name}': define one in ${config.dir}/models/${name}.yaml`
        : `unknown model '${name}'${didYouMeanSuffix(name, names)} (models: ${names.join(', ')})`,
    );
  }
  return def;
}

/** Check a model against the project, in an open warehouse. */
export async function prepareInWarehouse(
  wh: Warehouse,
  config: ProjectConfig,
  def: ModelDefinition,
): Promise<PreparedModel> {
  const schemas = await schemasFromWarehouse(wh, config);
  const loaded = await loadProgram(config, schemas);
  const errors = loaded.problems.filter((p) => p.severity === 'error');
  if (errors.length > 0) throw new ProjectError(errors);
  return prepareModel(wh, config, schemas, loaded.definitions, def);
}

export function gbdtParams(def: ModelDefinition, objective: 'binary' | 'regression'): GbdtParams {
  const p = def.input.params ?? {};
  const d = DEFAULT_GBDT_PARAMS;
  return {
    objective,
    trees: p.trees ?? d.trees,
    learningRate: p.learning_rate ?? d.learningRate,
    maxDepth: p.max_depth ?? d.maxDepth,
    maxLeaves: p.max_leaves ?? d.maxLeaves,
    minChildWeight: p.min_child_weight ?? d.minChildWeight,
    lambda: p.lambda ?? d.lambda,
    gamma: p.gamma ?? d.gamma,
    subsample: p.subsample ?? d.subsample,
    colsampleByTree: p.colsample_bytree ?? d.colsampleByTree,
    maxBins: p.max_bins ?? d.maxBins,
    maxCatToOnehot: p.max_cat_to_onehot ?? d.maxCatToOnehot,
    maxCatThreshold: p.max_cat_threshold ?? d.maxCatThreshold,
    earlyStoppingRounds: p.early_stopping_rounds ?? d.earlyStoppingRounds,
    seed: def.input.seed ?? d.seed,
  };
}

export function linearParams(def: ModelDefinition, objective: 'binary' | 'regression'): LinearParams {
  const p = def.input.params ?? {};
  const d = DEFAULT_LINEAR_PARAMS;
  return {
    objective,
    c: p.c ?? d.c,
    maxLevels: p.max_levels ?? d.maxLevels,
    maxIterations: p.max_iterations ?? d.maxIterations,
  };
}

/** The effective parameters, as written in YAML (snake_case), for the card. */
function paramsRecord(def: ModelDefinition, g: GbdtParams, l: LinearParams): Record<string, number> {
  if (def.algorithm === 'gbdt') {
    return {
      trees: g.trees,
      learning_rate: g.learningRate,
      max_depth: g.maxDepth,
      max_leaves: g.maxLeaves,
      min_child_weight: g.minChildWeight,
      lambda: g.lambda,
      gamma: g.gamma,
      subsample: g.subsample,
      colsample_bytree: g.colsampleByTree,
      max_bins: g.maxBins,
      max_cat_to_onehot: g.maxCatToOnehot,
      max_cat_threshold: g.maxCatThreshold,
      early_stopping_rounds: g.earlyStoppingRounds,
      seed: g.seed,
    };
  }
  return { c: l.c, max_levels: l.maxLevels, max_iterations: l.maxIterations };
}

export interface RowSplit {
  /** Validation: the last cutoff's rows, or the held-out entities' rows. */
  readonly valid: Uint32Array;
  /** Everything else; split further into `fit` and `stop` (early stopping) by entity. */
  readonly train: Uint32Array;
  readonly fit: Uint32Array;
  readonly stop: Uint32Array;
  readonly timeBased: boolean;
  readonly holdout: number;
  readonly last: number;
}

/** How training rows are split for validation and early stopping (deterministic per seed). */
export function splitRows(m: PreparedModel, rows: TrainingRows): RowSplit {
  const def = m.definition;
  const seed = def.input.seed ?? 1;
  // Two or more cutoffs: validate on the last one, unless a holdout share is asked for.
  const timeBased = !m.static && m.cutoffs.length >= 2 && typeof def.input.validation !== 'object';
  const holdout = typeof def.input.validation === 'object' ? def.input.validation.holdout : DEFAULT_HOLDOUT;
  const last = m.cutoffs.length - 1;
  const split = timeBased
    ? partitionRows(rows.rows, (r) => rows.cutoffIndex[r] === last)
    : partitionRows(rows.rows, (r) => entityUniform(rows.ids[r]!, seed, 1) < holdout);
  const valid = split.yes;
  const train = split.no;
  if (valid.length === 0 || train.length === 0) {
    throw new TagverseError(
      'model.empty_split',
      `model '${m.name}': the ${valid.length === 0 ? 'validation' : 'training'} set is empty`,
    );
  }
  const es = partitionRows(
    train.length,
    (k) => entityUniform(rows.ids[train[k]!]!, seed, 2) < EARLY_STOPPING_SHARE,
  );
  const enough = es.yes.length >= 20 && es.no.length >= 20;
  return {
    valid,
    train,
    fit: enough ? Uint32Array.from(es.no, (k) => train[k]!) : train,
    stop: enough ? Uint32Array.from(es.yes, (k) => train[k]!) : new Uint32Array(0),
    timeBased,
    holdout,
    last,
  };
}

/** The matrix of some rows, with categorical levels fitted on `fitRows` (training rows only). */
export function matrixOf(
  m: PreparedModel,
  rows: TrainingRows,
  fitRows: Uint32Array,
): { levels: (string[] | null)[]; all: FeatureMatrix } {
  const fitRaw = rows.raw.map((col) =>
    Array.isArray(col) ? Array.from(fitRows, (r) => col[r]!) : takeValues(col, fitRows),
  );
  const fitted = featureColumns(m.features, fitRaw);
  const levels = fitted.map((c) => (c.kind === 'categorical' ? [...c.levels] : null));
  return { levels, all: { rows: rows.rows, columns: featureColumns(m.features, rows.raw, levels) } };
}

interface Fitted {
  readonly margins: (x: FeatureMatrix) => Float64Array;
  readonly gbdt?: GbdtTraining;
  readonly linear?: LinearTraining;
  readonly seconds: number;
}

function fitModel(
  def: ModelDefinition,
  train: { x: FeatureMatrix; y: Float64Array },
  stop: { x: FeatureMatrix; y: Float64Array } | undefined,
  g: GbdtParams,
  l: LinearParams,
): Fitted {
  const t0 = performance.now();
  if (def.algorithm === 'gbdt') {
    const r = trainGbdt(train, stop, g);
    const forest = CompiledForest.compile(r.model);
    return {
      margins: (x) => forest.predictMargins(scoringColumns(x), x.rows),
      gbdt: r,
      seconds: (performance.now() - t0) / 1000,
    };
  }
  const r = trainLinear(train, l);
  return { margins: (x) => linearMargins(r.model, x), linear: r, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Train a model defined in `models/<name>.yaml`.
 * @example
 *   const { card } = await trainModel('./world', 'churn_60d');
 *   console.log(card.metrics.kind === 'binary' ? card.metrics.auc : card.metrics.rmse);
 */
export async function trainModel(
  project: ProjectConfig | string,
  name: string,
  opts: TrainOptions = {},
): Promise<TrainResult> {
  const config = typeof project === 'string' ? requireProject(project) : project;
  const def = requireModelDefinition(config, name);
  const progress = opts.onProgress ?? (() => {});
  const wh = await Warehouse.open(config.engine.path, {
    ...(config.engine.threads !== undefined ? { threads: config.engine.threads } : {}),
    ...(config.engine.memoryLimit !== undefined ? { memoryLimit: config.engine.memoryLimit } : {}),
  });
  let file: ModelFile;
  let publishAsOf: string | undefined;
  try {
    progress('checking the model');
    const m = await prepareInWarehouse(wh, config, def);
    const rows = await trainingRows(wh, config, m, { onProgress: progress });
    if (rows.rows < 20) {
      throw new TagverseError(
        'model.too_few_rows',
        `model '${name}' has ${rows.rows} training rows; it needs at least 20`,
      );
    }
    const split = splitRows(m, rows);
    const { timeBased, holdout, last } = split;
    const validIdx = split.valid;
    const trainIdx = split.train;
    const g = gbdtParams(def, m.objective);
    const l = linearParams(def, m.objective);

    // 1. The evaluated model: trained without the validation rows.
    progress('training (validation)');
    const evalData = matrixOf(m, rows, trainIdx);
    const useStop = def.algorithm === 'gbdt' && g.earlyStoppingRounds > 0 && split.stop.length >= 20;
    const fitIdx = useStop ? split.fit : trainIdx;
    const stopIdx = useStop ? split.stop : undefined;
    const evaluated = fitModel(
      def,
      { x: takeRows(evalData.all, fitIdx), y: takeValues(rows.label, fitIdx) },
      stopIdx ? { x: takeRows(evalData.all, stopIdx), y: takeValues(rows.label, stopIdx) } : undefined,
      g,
      l,
    );
    const validX = takeRows(evalData.all, validIdx);
    const validY = takeValues(rows.label, validIdx);
    const toScore = (margins: Float64Array) => (m.objective === 'binary' ? margins.map(sigmoid) : margins);
    const validPred = toScore(evaluated.margins(validX));
    const metrics = evaluatePredictions(m.objective, validPred, validY);
    const trainPred = toScore(evaluated.margins(takeRows(evalData.all, fitIdx)));
    const trainY = takeValues(rows.label, fitIdx);
    const trainMetrics =
      m.objective === 'binary'
        ? { auc: auc(trainPred, trainY), logLoss: logLoss(trainPred, trainY) }
        : { rmse: rmse(trainPred, trainY) };

    // Baselines (e.g. the rule tags of a condition): the same validation rows, F1 thresholds chosen
    // on training rows (the model's on its early-stopping rows when it has them: they are unseen).
    let comparison: ScoreComparison[] | undefined;
    if (m.baselines.length > 0 && m.objective === 'binary') {
      const pickIdx = stopIdx ?? fitIdx;
      const pickPred =
        pickIdx === fitIdx ? trainPred : toScore(evaluated.margins(takeRows(evalData.all, pickIdx)));
      comparison = [
        compareScore(name, pickPred, takeValues(rows.label, pickIdx), validPred, validY),
        ...m.baselines.map((t, j) =>
          compareScore(
            t.name,
            takeValues(rows.baselines[j]!, trainIdx),
            takeValues(rows.label, trainIdx),
            takeValues(rows.baselines[j]!, validIdx),
            validY,
          ),
        ),
      ];
    }

    // 2. The published model: refit on every row with the same number of trees.
    const refit = def.input.refit !== false;
    let published = evaluated;
    let publishedData = evalData;
    if (refit) {
      progress('training (all rows)');
      const all = Uint32Array.from({ length: rows.rows }, (_, i) => i);
      publishedData = matrixOf(m, rows, all);
      const rounds = evaluated.gbdt ? Math.max(1, evaluated.gbdt.bestRounds) : 0;
      published = fitModel(
        def,
        { x: publishedData.all, y: rows.label },
        undefined,
        { ...g, trees: rounds || g.trees, earlyStoppingRounds: 0 },
        l,
      );
    }

    // Importance: total split gain (trees), mean |coefficient x standardised value| (linear).
    const importance = new Float64Array(m.features.length);
    if (published.gbdt) importance.set(published.gbdt.featureGain);
    else if (published.linear) {
      const lm = published.linear.model;
      const x = publishedData.all;
      lm.columns.forEach((c, j) => {
        const col = x.columns[c.feature]!;
        let s = 0;
        for (let r = 0; r < x.rows; r++) {
          const v =
            col.kind === 'numeric'
              ? c.kind === 'missing'
                ? Number.isNaN(col.values[r]!)
                  ? 1
                  : 0
                : Number.isNaN(col.values[r]!)
                  ? c.mean
                  : col.values[r]!
              : col.codes[r] === c.level
                ? 1
                : 0;
          s += Math.abs((lm.weights[j]! * (v - c.mean)) / c.scale);
        }
        importance[c.feature]! += s / Math.max(1, x.rows);
      });
    }
    const totalImportance = importance.reduce((a, b) => a + b, 0);
    const topFeatures: FeatureImportance[] = m.features
      .map((f, j) => ({
        name: f.name,
        importance: importance[j]!,
        share: totalImportance > 0 ? importance[j]! / totalImportance : 0,
      }))
      .sort((a, b) => b.importance - a.importance || (a.name < b.name ? -1 : 1));

    const previous = existsSync(modelPath(config, name)) ? readModelFile(modelPath(config, name)) : undefined;
    const version = (previous?.version ?? 0) + 1;
    const trainedAt = new Date().toISOString();
    const first = await firstEventTime(wh, m);
    const lastLabel = m.cutoffs[m.cutoffs.length - 1]! + m.horizonSeconds * 1e6;
    const input = def.input;
    const card: ModelCard = {
      name,
      version,
      trainedAt,
      algorithm: def.algorithm,
      objective: m.objective,
      mode: m.static ? 'static' : 'point_in_time',
      label: {
        text: input.label.value,
        ...(input.label.from ? { from: input.label.from } : {}),
        ...(input.label.where ? { where: input.label.where } : {}),
        ...(input.label.horizon ? { horizon: input.label.horizon } : {}),
      },
      filter: input.filter ?? null,
      cutoffs: m.cutoffs.map(isoFromMicros),
      dataRange: {
        from: first === null ? null : isoFromMicros(first),
        to: m.program.eventSources.length > 0 ? isoFromMicros(lastLabel) : null,
      },
      rows: {
        total: rows.rows,
        train: trainIdx.length,
        validation: validIdx.length,
        byCutoff: rows.byCutoff.map((c) => ({
          cutoff: isoFromMicros(c.cutoff),
          rows: c.rows,
          labelMean: c.labelMean,
        })),
        unlabelled: rows.unlabelled,
      },
      validation: timeBased
        ? { method: 'last_cutoff', cutoff: isoFromMicros(m.cutoffs[last]!) }
        : { method: 'holdout', holdout },
      metrics,
      trainMetrics,
      ...(comparison ? { comparison } : {}),
      features: m.features.map((f) => f.name),
      topFeatures,
      params: paramsRecord(def, g, l),
      training: {
        seconds: evaluated.seconds + (refit ? published.seconds : 0),
        ...(evaluated.gbdt
          ? { rounds: evaluated.gbdt.roundsTrained, bestRounds: evaluated.gbdt.bestRounds }
          : {}),
        refit,
        refitRows: refit ? rows.rows : 0,
      },
      warnings: [
        ...m.warnings,
        ...(evaluated.linear && !evaluated.linear.converged
          ? ['logistic regression did not fully converge; raise max_iterations']
          : []),
      ],
    };
    const tagTypes = new Map(m.program.tags.map((t) => [t.name as string, t.type]));
    const features: ModelFeature[] = m.features.map((f, j) => ({
      ...f,
      ...(publishedData.levels[j] ? { levels: publishedData.levels[j]! } : {}),
      ...(f.source.kind === 'tag' ? { tagType: tagTypes.get(f.source.tag) } : {}),
    }));
    file = {
      format: MODEL_FORMAT,
      name,
      version,
      trainedAt,
      definitionHash: definitionHash(def),
      title: input.title ?? name.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase()),
      description: input.description,
      category: input.category ?? 'behavior',
      owner: input.owner ?? '',
      status: input.status ?? 'draft',
      algorithm: def.algorithm,
      objective: m.objective,
      features,
      filter: m.filter ? { text: input.filter!, tags: [...m.filter.dependsOn] } : null,
      ...(published.gbdt
        ? {
            gbdt: {
              baseMargin: published.gbdt.model.baseMargin,
              trees: published.gbdt.model.trees.map(treeToJson),
            },
          }
        : {}),
      ...(published.linear
        ? {
            linear: {
              intercept: published.linear.model.intercept,
              columns: published.linear.model.columns,
              weights: [...published.linear.model.weights],
            },
          }
        : {}),
      card: { ...card, training: { ...card.training } },
    };
    // Publish as of the latest build (tags.current stays one point in time); a project without events
    // (profile snapshots only) has no latest event to default to: its scores hold as of now.
    if (await wh.tableExists('tags', 'builds')) {
      const us = await wh.scalar<bigint | null>(
        `SELECT epoch_us(as_of) FROM ${BUILDS} ORDER BY build_id DESC LIMIT 1`,
      );
      if (us !== null && us !== undefined) publishAsOf = isoFromMicros(Number(us));
    }
    if (publishAsOf === undefined && m.program.eventSources.length === 0) publishAsOf = 'now';
  } finally {
    wh.close();
  }
  const path = writeModelFile(config, file);
  if (opts.publish === false) return { card: file.card, file: path };
  progress('publishing scores');
  const r = await build(config, {
    tags: [`${name}_score`, `${name}_decile`],
    ...(publishAsOf ? { asOf: publishAsOf } : {}),
  });
  return {
    card: file.card,
    file: path,
    published: { buildId: r.buildId, asOf: r.asOf, entities: r.entities },
  };
}
