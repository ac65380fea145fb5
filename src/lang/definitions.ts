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
    kind: z.enum(['aggregate', 'derived']).optional().describe('aggregate (with from) or derived; inferred.'),
    from: z.string().optional().describe('The events source an aggregate tag reads.'),
    where: expression.optional().describe('Row filter applied to every aggregate of the tag.'),
    window: z
      .string()
      .optional()
      .describe("Default window of the tag's aggregates: last 90d, between 180d and 90d ago, ever."),
    value: expression.describe('The value: an expression over aggregates, tags and profile attributes.'),
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
  readonly fields: Readonly<Partial<Record<'where' | 'window' | 'value', ExpressionField>>>;
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
    const fields: Partial<Record<'where' | 'window' | 'value', ExpressionField>> = {};
    for (const key of ['where', 'window', 'value'] as const) {
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
