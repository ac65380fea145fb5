/**
 * Tag definition files: `tags/*.yaml` in a project. Each file holds a list of tags. This module reads
 * them, validates the fields, and keeps what the checker needs to point at problems in the file.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isScalar } from 'yaml';
import { z } from 'zod';
import { IDENTIFIER } from '../config/schema.js';
import type { Problem } from '../util/problems.js';
import { YamlFile } from '../util/yaml-locator.js';
import { scalarMapper, type TextPositionMapper } from '../util/yaml-text-position.js';
import { zodIssuesToProblems } from '../util/zod-problems.js';

export const TAGS_DIR = 'tags';

export const TAG_TYPES = ['boolean', 'number', 'category', 'list', 'date'] as const;
export const TAG_STATUSES = ['draft', 'approved', 'deprecated'] as const;
export const TAG_KINDS = ['aggregate', 'derived', 'affinity', 'recurrence', 'onset', 'shift'] as const;
export type TagDefinitionKind = (typeof TAG_KINDS)[number];

/** Fields of a definition written in the language (expressions, windows, durations). */
export const EXPRESSION_FIELDS = [
  'where',
  'window',
  'value',
  'dimension',
  'measure',
  'signal',
  'baseline',
  'detection',
  'min_history',
] as const;
export type ExpressionFieldName = (typeof EXPRESSION_FIELDS)[number];

// YAML reads `value: true` or `value: 3` as a boolean or number: both are fine expressions.
const expression = z
  .union([z.string().min(1, 'an expression cannot be empty'), z.number(), z.boolean()])
  .transform((v) => String(v));

export const TagDefinitionSchema = z
  .strictObject({
    name: z
      .string()
      .regex(IDENTIFIER, 'a tag name must be lower_snake_case (letters, digits, _), at most 63 characters'),
    title: z.string().optional().describe('Short human title (default: from the name).'),
    description: z.string().min(1).describe('What the tag means, in a sentence or two.'),
    category: z
      .string()
      .describe('Taxonomy category: behavior, preference, condition, or one from tagverse.yaml.'),
    owner: z.string().optional().describe('Team or person responsible.'),
    status: z.enum(TAG_STATUSES).optional().describe('draft (default), approved or deprecated.'),
    type: z.enum(TAG_TYPES).optional().describe('Declared type; inferred from the value when absent.'),
    kind: z
      .enum(TAG_KINDS)
      .optional()
      .describe('aggregate (with from) or derived (inferred), or affinity, recurrence, onset, shift.'),
    from: z.string().optional().describe('The events source an aggregate tag reads.'),
    where: expression.optional().describe('Row filter applied to every aggregate of the tag.'),
    window: z
      .string()
      .optional()
      .describe("Default window of the tag's aggregates: last 90d, between 180d and 90d ago, ever."),
    value: expression
      .optional()
      .describe(
        'The value: an expression over aggregates, tags and profile attributes (aggregate and derived tags).',
      ),
    // affinity
    dimension: expression
      .optional()
      .describe('affinity, shift: the column whose values are ranked or compared.'),
    measure: expression.optional().describe('affinity: count() (default), sum(x) or distinct_days().'),
    top: z
      .number()
      .int()
      .min(1)
      .max(100)
      .optional()
      .describe('affinity: how many values to keep (default 3).'),
    min_support: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe('affinity: events with a value needed before it can be ranked (default 2).'),
    prior: z
      .number()
      .min(0)
      .optional()
      .describe('affinity: shrinkage strength in events toward the population (default 5).'),
    min_score: z
      .number()
      .min(0)
      .optional()
      .describe('affinity: lowest shrunk lift a value needs to be kept (default 1.2).'),
    // onset
    signal: expression.optional().describe('onset: the row condition whose start or stop is detected.'),
    change: z.enum(['start', 'stop']).optional().describe('onset: detect a start (default) or a stop.'),
    baseline: z
      .string()
      .optional()
      .describe('onset, shift: the earlier window, e.g. between 365d and 90d ago.'),
    detection: z.string().optional().describe('onset, shift: the recent window, e.g. last 90d.'),
    min_signal: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe('onset: signal events needed in the window where it is present (default 2).'),
    max_absent: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('onset: signal events allowed in the window where it is absent (default 0).'),
    min_history: z
      .string()
      .optional()
      .describe(
        'onset, shift: how long before the as-of time the entity must have its first event (e.g. 180d).',
      ),
    // recurrence
    min_events: z
      .number()
      .int()
      .min(2)
      .optional()
      .describe(
        'recurrence: purchase days needed (default 4); shift: events needed in each window (default 5).',
      ),
    max_cv: z
      .number()
      .positive()
      .optional()
      .describe(
        'recurrence: largest coefficient of variation of the gaps that still counts as regular (default 0.35).',
      ),
    // shift
    min_share: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe("shift: the dominant value's share needed in each window (default 0.6)."),
  })
  .describe('A tag definition.');

export type TagDefinitionInput = z.infer<typeof TagDefinitionSchema>;

/** An expression field of a definition, with the mapping from its text to file positions. */
export interface ExpressionField {
  readonly text: string;
  readonly at: TextPositionMapper;
}

export interface TagDefinition {
  readonly input: TagDefinitionInput;
  readonly file: YamlFile;
  /** Path of the tag inside its file (index in the list). */
  readonly path: readonly (string | number)[];
  readonly fields: Readonly<Partial<Record<ExpressionFieldName, ExpressionField>>>;
}

export interface LoadedDefinitions {
  readonly definitions: readonly TagDefinition[];
  readonly problems: readonly Problem[];
  readonly files: readonly string[];
}

/** Read every `tags/**.yaml` of a project (sorted by path). */
export function loadTagDefinitions(projectDir: string): LoadedDefinitions {
  const dir = path.join(projectDir, TAGS_DIR);
  if (!existsSync(dir)) return { definitions: [], problems: [], files: [] };
  const files = listYaml(dir).map((f) => path.relative(projectDir, f).split(path.sep).join('/'));
  const definitions: TagDefinition[] = [];
  const problems: Problem[] = [];
  for (const rel of files) {
    const r = parseTagFile(rel, readFileSync(path.join(projectDir, rel), 'utf8'));
    definitions.push(...r.definitions);
    problems.push(...r.problems);
  }
  return { definitions, problems, files };
}

function listYaml(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listYaml(p));
    else if (/\.ya?ml$/i.test(e.name)) out.push(p);
  }
  return out.sort();
}

/** Parse one tag file's text: a YAML list of tag definitions. */
export function parseTagFile(
  displayName: string,
  text: string,
): { definitions: TagDefinition[]; problems: Problem[] } {
  const file = new YamlFile(displayName, text);
  const problems: Problem[] = [...file.parseProblems];
  if (problems.some((p) => p.severity === 'error')) return { definitions: [], problems };
  const data = file.toJS();
  if (data === undefined || data === null) return { definitions: [], problems };
  if (!Array.isArray(data)) {
    problems.push(
      file.problem([], 'a tag file holds a list of tags (each item starting with "- name: ...")'),
    );
    return { definitions: [], problems };
  }
  const definitions: TagDefinition[] = [];
  data.forEach((item, i) => {
    const parsed = TagDefinitionSchema.safeParse(item);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((iss) => ({ ...iss, path: [i, ...iss.path] }));
      problems.push(
        ...zodIssuesToProblems(
          issues as typeof parsed.error.issues,
          file,
          z.array(TagDefinitionSchema),
          data,
        ),
      );
      return;
    }
    const fields: Partial<Record<ExpressionFieldName, ExpressionField>> = {};
    for (const key of EXPRESSION_FIELDS) {
      const v = parsed.data[key];
      if (v === undefined) continue;
      const node = file.nodeAt([i, key]);
      const range = node?.range;
      if (node && isScalar(node) && range) {
        fields[key] = { text: v, at: scalarMapper(file, v, range[0], range[1]) };
      } else {
        fields[key] = { text: v, at: () => file.position([i, key]) };
      }
    }
    definitions.push({ input: parsed.data, file, path: [i], fields });
  });
  return { definitions, problems };
}
