/**
 * Trained model files: versioned JSON under `.tagverse/models/<name>.json` (next to the warehouse),
 * previous versions kept in `.tagverse/models/history/<name>.v<N>.json`. A file holds everything
 * needed to score without the training data or Python: the features (what they read, how they are
 * encoded, categorical levels), the entity filter, the trees or coefficients, and the model card.
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { ProjectConfig } from '../config/project.js';
import { TagverseError } from '../util/problems.js';
import type { FeatureSpec } from './features.js';
import { CompiledForest, scoringColumns } from './gbdt/forest.js';
import type { GbdtModel } from './gbdt/train.js';
import { type Tree, type TreeJson, treeFromJson } from './gbdt/tree.js';
import { treeShap } from './gbdt/treeshap.js';
import { type DesignColumn, type LinearModel, linearContributions, linearMargins } from './linear/linear.js';
import { sigmoid } from './link.js';
import type { FeatureMatrix } from './matrix.js';
import type { Metrics, ScoreComparison } from './metrics.js';

export const MODEL_FORMAT = 'tagverse.model/1';

export interface FeatureImportance {
  readonly name: string;
  /** Total split gain (trees) or mean |coefficient x standardised value| (linear). */
  readonly importance: number;
  /** Share of the total importance. */
  readonly share: number;
}

export interface CutoffRows {
  readonly cutoff: string;
  readonly rows: number;
  /** Positive rate (binary) or mean label (regression). */
  readonly labelMean: number;
}

/** What a model is, how it was trained and how well it did: stored in the model file, printed by evaluate. */
export interface ModelCard {
  readonly name: string;
  readonly version: number;
  readonly trainedAt: string;
  readonly algorithm: string;
  readonly objective: 'binary' | 'regression';
  /** point_in_time: features as of each cutoff, labels after it; static: one profile snapshot. */
  readonly mode: 'point_in_time' | 'static';
  readonly label: {
    readonly text: string;
    readonly from?: string;
    readonly where?: string;
    readonly horizon?: string;
  };
  readonly filter: string | null;
  readonly cutoffs: readonly string[];
  /** Events read: from the first event to the last label time. */
  readonly dataRange: { readonly from: string | null; readonly to: string | null };
  readonly rows: {
    readonly total: number;
    readonly train: number;
    readonly validation: number;
    readonly byCutoff: readonly CutoffRows[];
    /** Entities skipped because their label was null. */
    readonly unlabelled: number;
  };
  readonly validation: {
    readonly method: 'last_cutoff' | 'holdout';
    readonly cutoff?: string;
    readonly holdout?: number;
  };
  /** Metrics on the validation rows of the model trained without them. */
  readonly metrics: Metrics;
  readonly trainMetrics: { readonly auc?: number; readonly logLoss?: number; readonly rmse?: number };
  /**
   * With `baselines` (binary models): the model and each baseline tag on the validation rows, F1
   * thresholds chosen on the training rows.
   */
  readonly comparison?: readonly ScoreComparison[];
  readonly features: readonly string[];
  readonly topFeatures: readonly FeatureImportance[];
  readonly params: Readonly<Record<string, number>>;
  readonly training: {
    readonly seconds: number;
    readonly rounds?: number;
    readonly bestRounds?: number;
    readonly refit: boolean;
    readonly refitRows: number;
  };
  readonly warnings: readonly string[];
}

export interface ModelFeature extends FeatureSpec {
  /** Categorical levels (codes index them). */
  readonly levels?: readonly string[];
  /** For tag features: the tag type and definition hash at training (to flag stale models). */
  readonly tagType?: string;
  readonly tagHash?: string;
}

export interface ModelFile {
  readonly format: typeof MODEL_FORMAT;
  readonly name: string;
  readonly version: number;
  readonly trainedAt: string;
  /** Hash of the model definition (YAML) it was trained from. */
  readonly definitionHash: string;
  readonly title: string;
  readonly description: string;
  readonly category: string;
  readonly owner: string;
  readonly status: 'draft' | 'approved' | 'deprecated';
  readonly algorithm: 'gbdt' | 'logistic' | 'linear';
  readonly objective: 'binary' | 'regression';
  readonly features: readonly ModelFeature[];
  readonly filter: { readonly text: string; readonly tags: readonly string[] } | null;
  readonly gbdt?: { readonly baseMargin: number; readonly trees: readonly TreeJson[] };
  readonly linear?: {
    readonly intercept: number;
    readonly columns: readonly DesignColumn[];
    readonly weights: readonly number[];
  };
  readonly card: ModelCard;
}

const num = z.number();
const TreeJsonSchema = z.object({
  feature: z.array(num),
  threshold: z.array(num.nullable()),
  left: z.array(num),
  right: z.array(num),
  missing_left: z.array(num),
  categories: z.array(z.array(num).nullable()),
  value: z.array(num),
  cover: z.array(num),
  gain: z.array(num),
});
const FeatureSchema = z.object({
  name: z.string(),
  source: z.union([
    z.object({ kind: z.literal('tag'), tag: z.string() }),
    z.object({ kind: z.literal('profile'), source: z.string(), column: z.string() }),
  ]),
  encoding: z.enum(['number', 'boolean', 'days_before', 'category', 'top_value']),
  levels: z.array(z.string()).optional(),
  tagType: z.string().optional(),
  tagHash: z.string().optional(),
});
/** The parts of a model file scoring depends on are validated; the card is informational. */
const ModelFileSchema = z.looseObject({
  format: z.literal(MODEL_FORMAT),
  name: z.string(),
  version: z.number().int().min(1),
  trainedAt: z.string(),
  definitionHash: z.string(),
  algorithm: z.enum(['gbdt', 'logistic', 'linear']),
  objective: z.enum(['binary', 'regression']),
  features: z.array(FeatureSchema),
  filter: z.object({ text: z.string(), tags: z.array(z.string()) }).nullable(),
  gbdt: z.object({ baseMargin: num, trees: z.array(TreeJsonSchema) }).optional(),
  linear: z
    .object({
      intercept: num,
      columns: z.array(
        z.object({
          feature: num,
          kind: z.enum(['value', 'missing', 'level']),
          level: num.optional(),
          mean: num,
          scale: num,
        }),
      ),
      weights: z.array(num),
    })
    .optional(),
  card: z.looseObject({}),
});

/** Folder of trained models of a project. */
export function modelsDir(config: ProjectConfig): string {
  return path.join(path.dirname(config.engine.path), 'models');
}

export function modelPath(config: ProjectConfig, name: string): string {
  return path.join(modelsDir(config), `${name}.json`);
}

/** Write a trained model; the previous version moves to history/. */
export function writeModelFile(config: ProjectConfig, file: ModelFile): string {
  const dir = modelsDir(config);
  mkdirSync(path.join(dir, 'history'), { recursive: true });
  const target = modelPath(config, file.name);
  if (existsSync(target)) {
    try {
      const prev = JSON.parse(readFileSync(target, 'utf8')) as { version?: number };
      renameSync(target, path.join(dir, 'history', `${file.name}.v${prev.version ?? 0}.json`));
    } catch {
      // An unreadable previous file is simply replaced.
    }
  }
  const tmp = `${target}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(file)}\n`);
  renameSync(tmp, target);
  return target;
}

const cache = new Map<string, { mtimeMs: number; size: number; model: ModelFile }>();

/** Read and validate a model file (cached by path, size and modification time). */
export function readModelFile(file: string): ModelFile {
  const st = statSync(file);
  const hit = cache.get(file);
  if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit.model;
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new TagverseError('model.unreadable', `cannot read model file ${file}: ${(e as Error).message}`);
  }
  const parsed = ModelFileSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new TagverseError(
      'model.invalid_file',
      `${file} is not a ${MODEL_FORMAT} model file (${issue.path.join('.') || 'top level'}: ${issue.message}); retrain it with tagverse train`,
    );
  }
  const model = parsed.data as unknown as ModelFile;
  cache.set(file, { mtimeMs: st.mtimeMs, size: st.size, model });
  return model;
}

/** Trained model files of a project, by model name. */
export function listModelFiles(config: ProjectConfig): Map<string, string> {
  const dir = modelsDir(config);
  const out = new Map<string, string>();
  if (!existsSync(dir)) return out;
  for (const f of readdirSync(dir).sort()) {
    if (f.endsWith('.json')) out.set(f.slice(0, -5), path.join(dir, f));
  }
  return out;
}

/** Scoring and explaining with a model file's model. */
export interface Predictor {
  readonly objective: 'binary' | 'regression';
  /** Margins (log-odds or values) of every row. */
  margins(m: FeatureMatrix): Float64Array;
  /** Scores: probabilities for binary models, predicted values for regression. */
  scores(m: FeatureMatrix): Float64Array;
  /** Per-feature contributions to one row's margin, and the margin they start from. */
  contributions(m: FeatureMatrix, row: number): { contributions: Float64Array; expected: number };
}

const predictors = new WeakMap<ModelFile, Predictor>();

export function gbdtOf(file: ModelFile): GbdtModel {
  const g = file.gbdt!;
  const trees: Tree[] = g.trees.map(treeFromJson);
  return { objective: file.objective, baseMargin: g.baseMargin, trees, featureCount: file.features.length };
}

export function linearOf(file: ModelFile): LinearModel {
  const l = file.linear!;
  return {
    objective: file.objective,
    intercept: l.intercept,
    columns: l.columns,
    weights: Float64Array.from(l.weights),
    featureCount: file.features.length,
  };
}

export function predictorOf(file: ModelFile): Predictor {
  const hit = predictors.get(file);
  if (hit) return hit;
  const link = (margins: Float64Array) => {
    if (file.objective === 'binary')
      for (let i = 0; i < margins.length; i++) margins[i] = sigmoid(margins[i]!);
    return margins;
  };
  let p: Predictor;
  if (file.gbdt) {
    const model = gbdtOf(file);
    const forest = CompiledForest.compile(model);
    p = {
      objective: file.objective,
      margins: (m) => forest.predictMargins(scoringColumns(m), m.rows),
      scores: (m) => link(forest.predictMargins(scoringColumns(m), m.rows)),
      contributions: (m, row) => treeShap(model, m, row),
    };
  } else if (file.linear) {
    const model = linearOf(file);
    p = {
      objective: file.objective,
      margins: (m) => linearMargins(model, m),
      scores: (m) => link(linearMargins(model, m)),
      contributions: (m, row) => linearContributions(model, m, row),
    };
  } else {
    throw new TagverseError(
      'model.invalid_file',
      `model file of '${file.name}' has neither trees nor coefficients`,
    );
  }
  predictors.set(file, p);
  return p;
}
