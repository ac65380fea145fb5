/** The published JSON Schema of tagverse.yaml, generated from the zod schema (never edited by hand). */
import { z } from 'zod';
import { ProjectConfigSchema } from './schema.js';

export function projectJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(ProjectConfigSchema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return {
    ...schema,
    $id: 'https://tagverse.dev/schema/tagverse.schema.json',
    title: 'Tagverse project (tagverse.yaml)',
  };
}

export function projectJsonSchemaText(): string {
  return `${JSON.stringify(projectJsonSchema(), null, 2)}\n`;
}
