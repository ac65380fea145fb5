/**
 * Model definitions: `models/*.yaml` in a project, one model per file. A definition says what to
 * predict (a label written in the tag language, over a horizon after each cutoff), from what
 * (features: tags and profile attributes), for whom (an entity filter), how (algorithm and
 * parameters) and on which cutoff dates. See docs/models.md.
 *
 * This module reads and validates the YAML (positions kept for every problem) and turns the label and
 * the filter into tag definitions, so the one tag checker checks them (no second language).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isScalar } from 'yaml';
import { z } from 'zod';
import { IDENTIFIER } from '../config/schema.js';
import type { ExpressionField, ExpressionFieldName, TagDefinition } from '../lang/definitions.js';
import { durationSeconds } from '../lang/parser.js';
import { didYouMeanSuffix } from '../util/did-you-mean.js';
import type { Problem } from '../util/problems.js';
import { YamlFile, type YamlPath } from '../util/yaml-locator.js';
import { scalarMapper } from '../util/yaml-text-position.js';
import { zodIssuesToProblems } from '../util/zod-problems.js';

export const MODELS_DIR = 'models';
export const ALGORITHMS = ['gbdt', 'logistic', 'linear'] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

const expression = z
  .union([z.string().min(1, 'an expression cannot be empty'), z.number(), z.boolean()])
  .transform((v) => String(v));
const DURATION = /^\d+(\.\d+)?[smhdw]$/;
const duration = z.string().regex(DURATION, 'a duration like 30d, 12h or 2w');
const DATE = /^\d{4}-\d{2}-\d{2}([T ].*)?$/;

/** Hyperparameters by algorithm (snake_case as written; see docs/models.md for meanings and defaults). */
export const PARAMS_BY_ALGORITHM: Record<Algorithm, readonly string[]> = {
  gbdt: [
    'trees',
    'learning_rate',
    'max_depth',
    'max_leaves',
    'min_child_weight',
    'lambda',
    'gamma',
    'subsample',
    'colsample_bytree',
    'max_bins',
    'max_cat_to_onehot',
    'max_cat_threshold',
    'early_stopping_rounds',
  ],
  logistic: ['c', 'max_levels', 'max_iterations'],
  linear: ['c', 'max_levels', 'max_iterations'],
};

export const ModelDefinitionSchema = z
  .strictObject({
    name: z
      .string()
      .regex(IDENTIFIER, 'a model name must be lower_snake_case (letters, digits, _), at most 63 characters'),
    title: z.string().optional(),
    description: z.string().min(1).describe('What the model predicts, in a sentence or two.'),
    category: z
      .string()
      .optional()
      .describe('Category of the published tags <name>_score and <name>_decile.'),
    owner: z.string().optional(),
    status: z.enum(['draft', 'approved', 'deprecated']).optional(),
    label: z
      .strictObject({
        from: z
          .string()
          .optional()
          .describe('The events source the label aggregates (omit for a derived label).'),
        where: expression.optional().describe('Row filter of the label aggregates.'),
        value: expression.describe('The label: a boolean (classification) or a number (regression).'),
        horizon: duration
          .optional()
          .describe('How far after the cutoff the label looks: computed as of cutoff + horizon.'),
        window: z
          .string()
          .optional()
          .describe(
            "Window of the label's aggregates (default: last <horizon>, i.e. (cutoff, cutoff + horizon]).",
          ),
      })
      .describe('What to predict, in the tag language.'),
    features: z
      .union([
        z.array(z.string()),
        z.strictObject({
          include: z
            .array(z.string())
            .optional()
            .describe('Tag names and profile attributes (source.column).'),
          categories: z.array(z.string()).optional().describe('Every tag of these categories.'),
          approved: z.boolean().optional().describe('Every approved tag.'),
          profile: z
            .union([z.boolean(), z.array(z.string())])
            .optional()
            .describe('Profile attributes: true for all of them, or a list.'),
          exclude: z.array(z.string()).optional(),
        }),
      ])
      .describe('What the model reads.'),
    filter: expression
      .optional()
      .describe('Entities to train on and score: an expression over tags and profile attributes.'),
    cutoffs: z
      .array(z.string().regex(DATE, 'a date like 2025-06-30'))
      .min(1)
      .optional()
      .describe('Dates the features are computed as of; omit for a static (profile snapshot) model.'),
    validation: z
      .union([
        z.literal('last_cutoff'),
        z.strictObject({ holdout: z.number().gt(0).lt(1).describe('Share of entities held out.') }),
      ])
      .optional(),
    baselines: z
      .array(z.string())
      .optional()
      .describe(
        'Tags (boolean or number) measured on the same validation rows as the model, e.g. the rule tags of the condition it learns.',
      ),
    algorithm: z.enum(ALGORITHMS).optional(),
    params: z.record(z.string(), z.number()).optional(),
    refit: z
      .boolean()
      .optional()
      .describe('Refit on all rows (training and validation) after evaluation (default true).'),
    seed: z.number().int().min(0).optional(),
  })
  .describe('A model definition.');

export type ModelDefinitionInput = z.infer<typeof ModelDefinitionSchema>;

export interface ModelDefinition {
  readonly input: ModelDefinitionInput;
  readonly file: YamlFile;
  /** Relative path of the file in the project. */
  readonly path: string;
  readonly algorithm: Algorithm;
  readonly horizonSeconds: number;
  /** Tag definitions standing for the label (and the filter), checked with the project's tags. */
  readonly labelDefinition: TagDefinition;
  readonly filterDefinition?: TagDefinition;
}

/** Name of the hidden tag a model's label is checked as. */
export const labelTagName = (model: string) => `${model}__label`;
export const filterTagName = (model: string) => `${model}__filter`;

function fieldAt(file: YamlFile, at: YamlPath, text: string): ExpressionField {
  const node = file.nodeAt(at);
  const range = node?.range;
  if (node && isScalar(node) && range) return { text, at: scalarMapper(file, text, range[0], range[1]) };
  return { text, at: () => file.position(at) };
}

/** Parse one model file. */
export function parseModelFile(
  displayName: string,
  text: string,
): { model?: ModelDefinition; problems: Problem[] } {
  const file = new YamlFile(displayName, text);
  const problems: Problem[] = [...file.parseProblems];
  if (problems.some((p) => p.severity === 'error')) return { problems };
  const data = file.toJS();
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    problems.push(file.problem([], 'a model file holds one model: a mapping starting with "name: ..."'));
    return { problems };
  }
  const parsed = ModelDefinitionSchema.safeParse(data);
  if (!parsed.success) {
    problems.push(...zodIssuesToProblems(parsed.error.issues, file, ModelDefinitionSchema, data));
    return { problems };
  }
  const input = parsed.data;
  const algorithm = input.algorithm ?? 'gbdt';
  for (const key of Object.keys(input.params ?? {})) {
    const allowed = PARAMS_BY_ALGORITHM[algorithm];
    if (!allowed.includes(key)) {
      problems.push(
        file.problem(
          ['params', key],
          `'${key}' is not a parameter of ${algorithm}${didYouMeanSuffix(key, allowed)} (parameters: ${allowed.join(', ')})`,
          { key: true },
        ),
      );
    }
  }
  const stem = path.basename(displayName).replace(/\.ya?ml$/i, '');
  if (stem !== input.name) {
    problems.push(
      file.problem(['name'], `the model '${input.name}' must be in a file named ${input.name}.yaml`, {
        severity: 'warning',
      }),
    );
  }
  const label = input.label;
  const horizonSeconds = label.horizon ? durationSeconds(label.horizon) : 0;
  if (input.cutoffs && !label.horizon) {
    problems.push(
      file.problem(
        ['label'],
        "a model with cutoffs needs 'horizon' in its label: how far after each cutoff it looks",
      ),
    );
  }
  if (!input.cutoffs && label.horizon) {
    problems.push(
      file.problem(['label', 'horizon'], "'horizon' needs 'cutoffs': the dates the label looks ahead from"),
    );
  }
  if (!input.cutoffs && label.from) {
    problems.push(
      file.problem(
        ['label', 'from'],
        "a label over events needs 'cutoffs' and a 'horizon' (a static model's label reads profile attributes)",
      ),
    );
  }
  if (input.validation === 'last_cutoff' && (input.cutoffs?.length ?? 0) < 2) {
    problems.push(
      file.problem(
        ['validation'],
        "'last_cutoff' validation needs at least two cutoffs (train on the earlier ones)",
      ),
    );
  }
  const fields: Partial<Record<ExpressionFieldName, ExpressionField>> = {
    value: fieldAt(file, ['label', 'value'], label.value),
  };
  if (label.where !== undefined) fields.where = fieldAt(file, ['label', 'where'], label.where);
  const window = label.window ?? (label.from && label.horizon ? `last ${label.horizon}` : undefined);
  if (label.window !== undefined) fields.window = fieldAt(file, ['label', 'window'], label.window);
  else if (window !== undefined)
    fields.window = { text: window, at: () => file.position(['label', 'horizon']) };
  const labelDefinition: TagDefinition = {
    input: {
      name: labelTagName(input.name),
      description: `Label of model ${input.name}`,
      category: '',
      ...(label.from !== undefined ? { from: label.from } : {}),
      ...(label.where !== undefined ? { where: label.where } : {}),
      ...(window !== undefined && label.from !== undefined ? { window } : {}),
      value: label.value,
    },
    file,
    path: ['label'],
    fields,
  };
  const filterDefinition: TagDefinition | undefined =
    input.filter === undefined
      ? undefined
      : {
          input: {
            name: filterTagName(input.name),
            description: `Entity filter of model ${input.name}`,
            category: '',
            type: 'boolean',
            value: input.filter,
          },
          file,
          path: [],
          fields: { value: fieldAt(file, ['filter'], input.filter) },
        };
  if (problems.some((p) => p.severity === 'error')) return { problems };
  return {
    model: {
      input,
      file,
      path: displayName,
      algorithm,
      horizonSeconds,
      labelDefinition,
      ...(filterDefinition ? { filterDefinition } : {}),
    },
    problems,
  };
}

/** Every `models/*.yaml` of a project (sorted), parsed. */
export function loadModelDefinitions(projectDir: string): { models: ModelDefinition[]; problems: Problem[] } {
  const dir = path.join(projectDir, MODELS_DIR);
  if (!existsSync(dir)) return { models: [], problems: [] };
  const models: ModelDefinition[] = [];
  const problems: Problem[] = [];
  const files = readdirSync(dir)
    .filter((f) => /\.ya?ml$/i.test(f))
    .sort();
  for (const f of files) {
    const rel = `${MODELS_DIR}/${f}`;
    const r = parseModelFile(rel, readFileSync(path.join(dir, f), 'utf8'));
    problems.push(...r.problems);
    if (!r.model) continue;
    const prev = models.find((m) => m.input.name === r.model!.input.name);
    if (prev) {
      problems.push(
        r.model.file.problem(['name'], `model '${r.model.input.name}' is already defined in ${prev.path}`),
      );
      continue;
    }
    models.push(r.model);
  }
  return { models, problems };
}

/** What identifies a definition's content (key order and formatting do not count). */
export function definitionHash(def: ModelDefinition): string {
  const canonical = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canonical)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
          )
        : v;
  return createHash('sha256')
    .update(JSON.stringify(canonical(def.input)))
    .digest('hex')
    .slice(0, 16);
}
