/**
 * Recommender definitions: `recs/*.yaml` in a project, one recommender per file. A definition says
 * which events link an entity to an item (`from`, `item`, `where`), how events weigh (implicit
 * feedback: binary, count or amount, optionally recency-weighted), which algorithm and parameters,
 * and which filters apply when recommending. See docs/recommendations.md.
 *
 * `item`, `where` and `amount` are tag-language row expressions: they are checked by the one tag
 * checker (as hidden tags over the source), so names, types and did-you-mean work as in tags/*.yaml
 * and every problem points at its file, line and column.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isScalar } from 'yaml';
import { z } from 'zod';
import { IDENTIFIER } from '../config/schema.js';
import type { ExpressionField, ExpressionFieldName, TagDefinition } from '../lang/definitions.js';
import { durationSeconds } from '../lang/parser.js';
import type { Problem } from '../util/problems.js';
import { YamlFile, type YamlPath } from '../util/yaml-locator.js';
import { scalarMapper, type TextPositionMapper } from '../util/yaml-text-position.js';
import { zodIssuesToProblems } from '../util/zod-problems.js';
import { ALGORITHMS, type Algorithm, DEFAULT_FIT_PARAMS, type FitParams } from './algorithms.js';

export const RECS_DIR = 'recs';

const expression = z
  .union([z.string().min(1, 'an expression cannot be empty'), z.number()])
  .transform((v) => String(v));
const duration = z.string().regex(/^\d+(\.\d+)?[smhdw]$/, 'a duration like 30d, 12h or 2w');

export const RecsDefinitionSchema = z
  .strictObject({
    name: z
      .string()
      .regex(
        IDENTIFIER,
        'a recommender name must be lower_snake_case (letters, digits, _), at most 63 characters',
      ),
    title: z.string().optional(),
    description: z.string().min(1).describe('What is recommended, in a sentence.'),
    from: z.string().describe('The events source linking entities to items.'),
    item: expression.describe(
      'The item of an event: a column or row expression (merchant_id, product_category).',
    ),
    where: expression.optional().describe('Events that count (row expression).'),
    weight: z
      .enum(['binary', 'count', 'amount'])
      .optional()
      .describe(
        'Implicit feedback per (entity, item): binary (1), count of events, or sum of `amount` (default count).',
      ),
    amount: expression.optional().describe("The amount of an event, for weight 'amount' (row expression)."),
    scale: z
      .enum(['log', 'raw'])
      .optional()
      .describe('log: a cell is log(1 + summed weight) (default); raw: the summed weight.'),
    half_life: duration.optional().describe('Recency weighting: an event counts 0.5^(age / half_life).'),
    algorithm: z.enum(ALGORITHMS).optional().describe('popularity, item_knn or ease (default ease).'),
    params: z
      .strictObject({
        max_items: z.number().int().min(1).max(20_000).optional(),
        lambda: z.number().min(0).optional(),
        neighbours: z.number().int().min(1).max(1000).optional(),
        shrink: z.number().min(0).optional(),
      })
      .optional()
      .describe(
        'max_items (item-kNN/EASE catalogue, default 1000), lambda (EASE, 200), neighbours (kNN, 100), shrink (kNN, 10).',
      ),
    filters: z
      .strictObject({
        exclude_bought: z
          .boolean()
          .optional()
          .describe('Leave out items the entity already has (default true).'),
        repeat: z
          .array(z.string())
          .optional()
          .describe('Recurrence tags with a dimension: their item is recommended again when due.'),
        repeat_within: duration.optional().describe('How soon a due date counts as due (default 7d).'),
        eligibility: expression
          .optional()
          .describe('Segment expression: entities outside it get no recommendations.'),
        exclude: z
          .array(z.union([z.string(), z.number()]).transform(String))
          .optional()
          .describe('Items never recommended.'),
        min_support: z
          .number()
          .int()
          .min(0)
          .optional()
          .describe('Items with fewer entities than this are never recommended (default 0).'),
      })
      .optional(),
  })
  .describe('A recommender definition.');

export type RecsDefinitionInput = z.infer<typeof RecsDefinitionSchema>;

export interface RecsFilters {
  readonly excludeBought: boolean;
  readonly repeat: readonly string[];
  readonly repeatWithinSeconds: number;
  readonly eligibility?: string;
  readonly exclude: readonly string[];
  readonly minSupport: number;
}

export interface RecsDefinition {
  readonly input: RecsDefinitionInput;
  readonly file: YamlFile;
  readonly path: string;
  readonly algorithm: Algorithm;
  readonly params: FitParams;
  readonly weight: 'binary' | 'count' | 'amount';
  readonly scale: 'log' | 'raw';
  readonly halfLifeSeconds?: number;
  readonly filters: RecsFilters;
  /** Hidden tag definitions whose checking checks `item` (with `where`) and `amount`. */
  readonly itemDefinition: TagDefinition;
  readonly amountDefinition?: TagDefinition;
}

/** Names of the hidden tags the item and amount expressions are checked as. */
export const ITEM_TAG = 'recs__item';
export const AMOUNT_TAG = 'recs__amount';

function mapperAt(file: YamlFile, at: YamlPath, text: string): TextPositionMapper {
  const node = file.nodeAt(at);
  const range = node?.range;
  if (node && isScalar(node) && range) return scalarMapper(file, text, range[0], range[1]);
  return () => file.position(at);
}

/** `fn(<expr>)` as a hidden tag value, positions mapped back into the field the expression came from. */
function wrapped(fn: string, file: YamlFile, at: YamlPath, text: string): ExpressionField {
  const inner = mapperAt(file, at, text);
  const prefix = fn.length + 1;
  return { text: `${fn}(${text})`, at: (o) => inner(Math.max(0, Math.min(text.length, o - prefix))) };
}

/** Parse one recommender file. */
export function parseRecsFile(
  displayName: string,
  text: string,
): { recs?: RecsDefinition; problems: Problem[] } {
  const file = new YamlFile(displayName, text);
  const problems: Problem[] = [...file.parseProblems];
  if (problems.some((p) => p.severity === 'error')) return { problems };
  const data = file.toJS();
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    problems.push(
      file.problem([], 'a recommender file holds one recommender: a mapping starting with "name: ..."'),
    );
    return { problems };
  }
  const parsed = RecsDefinitionSchema.safeParse(data);
  if (!parsed.success) {
    problems.push(...zodIssuesToProblems(parsed.error.issues, file, RecsDefinitionSchema, data));
    return { problems };
  }
  const input = parsed.data;
  const stem = path.basename(displayName).replace(/\.ya?ml$/i, '');
  if (stem !== input.name) {
    problems.push(
      file.problem(['name'], `the recommender '${input.name}' must be in a file named ${input.name}.yaml`, {
        severity: 'warning',
      }),
    );
  }
  const weight = input.weight ?? 'count';
  if (weight === 'amount' && input.amount === undefined) {
    problems.push(
      file.problem(['weight'], "weight 'amount' needs 'amount': the row expression to sum (e.g. amount)"),
    );
  }
  if (weight !== 'amount' && input.amount !== undefined) {
    problems.push(
      file.problem(['amount'], "'amount' is only read with weight: amount", { severity: 'warning' }),
    );
  }
  const hidden = (name: string, value: ExpressionField): TagDefinition => {
    const fields: Partial<Record<ExpressionFieldName, ExpressionField>> = { value };
    if (input.where !== undefined) {
      fields.where = { text: input.where, at: mapperAt(file, ['where'], input.where) };
    }
    return {
      input: {
        name,
        description: `Events of recommender ${input.name}`,
        category: 'behavior',
        from: input.from,
        ...(input.where !== undefined ? { where: input.where } : {}),
        value: value.text,
      },
      file,
      path: [],
      fields,
    };
  };
  const itemDefinition = hidden(ITEM_TAG, wrapped('distinct_count', file, ['item'], input.item));
  const amountDefinition =
    weight === 'amount' && input.amount !== undefined
      ? hidden(AMOUNT_TAG, wrapped('sum', file, ['amount'], input.amount))
      : undefined;
  if (problems.some((p) => p.severity === 'error')) return { problems };
  const f = input.filters ?? {};
  const p = input.params ?? {};
  return {
    recs: {
      input,
      file,
      path: displayName,
      algorithm: input.algorithm ?? 'ease',
      params: {
        maxItems: p.max_items ?? DEFAULT_FIT_PARAMS.maxItems,
        lambda: p.lambda ?? DEFAULT_FIT_PARAMS.lambda,
        neighbours: p.neighbours ?? DEFAULT_FIT_PARAMS.neighbours,
        shrink: p.shrink ?? DEFAULT_FIT_PARAMS.shrink,
      },
      weight,
      scale: input.scale ?? 'log',
      ...(input.half_life !== undefined ? { halfLifeSeconds: durationSeconds(input.half_life) } : {}),
      filters: {
        excludeBought: f.exclude_bought ?? true,
        repeat: f.repeat ?? [],
        repeatWithinSeconds: durationSeconds(f.repeat_within ?? '7d'),
        ...(f.eligibility !== undefined ? { eligibility: f.eligibility } : {}),
        exclude: f.exclude ?? [],
        minSupport: f.min_support ?? 0,
      },
      itemDefinition,
      ...(amountDefinition ? { amountDefinition } : {}),
    },
    problems,
  };
}

/** Every `recs/*.yaml` of a project (sorted), parsed. */
export function loadRecsDefinitions(projectDir: string): { recs: RecsDefinition[]; problems: Problem[] } {
  const dir = path.join(projectDir, RECS_DIR);
  if (!existsSync(dir)) return { recs: [], problems: [] };
  const recs: RecsDefinition[] = [];
  const problems: Problem[] = [];
  for (const f of readdirSync(dir)
    .filter((x) => /\.ya?ml$/i.test(x))
    .sort()) {
    const r = parseRecsFile(`${RECS_DIR}/${f}`, readFileSync(path.join(dir, f), 'utf8'));
    problems.push(...r.problems);
    if (!r.recs) continue;
    const prev = recs.find((x) => x.input.name === r.recs!.input.name);
    if (prev) {
      problems.push(
        r.recs.file.problem(
          ['name'],
          `recommender '${r.recs.input.name}' is already defined in ${prev.path}`,
        ),
      );
      continue;
    }
    recs.push(r.recs);
  }
  return { recs, problems };
}
