/**
 * A project's tags, checked: tag files + source schemas -> TagProgram (or every problem found).
 * Shared by check, build, profile, explain and the server.
 */
import type { ProjectConfig } from '../config/project.js';
import { checkDefinitions } from '../lang/checker.js';
import { loadTagDefinitions, type TagDefinition } from '../lang/definitions.js';
import type { TagProgram } from '../lang/ir.js';
import { loadSchemas, type SourceSchemas } from '../lang/schemas.js';
import { withModelTags } from '../models/model-tags.js';
import { type Problem, ProjectError, sortProblems } from '../util/problems.js';
import { deprecationWarnings } from './catalog.js';

export interface LoadedProgram {
  readonly program?: TagProgram;
  readonly problems: readonly Problem[];
  readonly definitions: readonly TagDefinition[];
  readonly schemas: SourceSchemas;
  readonly files: readonly string[];
}

/** Reserved names a tag cannot take (they are columns of the output tables or language words). */
export const RESERVED_TAG_NAMES = new Set(['entity_id', 'as_of']);

export async function loadProgram(config: ProjectConfig, schemas?: SourceSchemas): Promise<LoadedProgram> {
  const loaded = loadTagDefinitions(config.dir);
  const sch = schemas ?? (await loadSchemas(config));
  const problems: Problem[] = [...loaded.problems];
  const definitions = loaded.definitions.filter((d) => {
    if (!RESERVED_TAG_NAMES.has(d.input.name)) return true;
    problems.push(
      d.file.problem([...d.path, 'name'], `'${d.input.name}' is a reserved name; choose another tag name`),
    );
    return false;
  });
  const r = checkDefinitions(config, sch, definitions);
  problems.push(...r.problems);
  if (r.program) {
    // Deprecated tags still build, but they and the tags that read them are flagged.
    const byName = new Map(definitions.map((d) => [d.input.name, d]));
    for (const [name, warnings] of deprecationWarnings(r.program)) {
      const def = byName.get(name);
      if (!def) continue;
      for (const w of warnings) {
        const key = w.includes('reads the deprecated') ? 'value' : 'status';
        problems.push(def.file.problem([...def.path, key], `${w}`, { severity: 'warning' }));
      }
    }
  }
  const hasErrors = problems.some((p) => p.severity === 'error');
  // Trained models publish <model>_score and <model>_decile as tags of kind 'model' (src/models).
  let program = r.program && !hasErrors ? r.program : undefined;
  if (program) {
    const models = withModelTags(config, program, sch);
    program = models.program;
    problems.push(...models.problems);
  }
  return {
    ...(program ? { program } : {}),
    problems: sortProblems(problems),
    definitions,
    schemas: sch,
    files: loaded.files,
  };
}

/** Like loadProgram, but throws a ProjectError listing every problem. */
export async function requireProgram(
  config: ProjectConfig,
  schemas?: SourceSchemas,
): Promise<LoadedProgram & { program: TagProgram }> {
  const r = await loadProgram(config, schemas);
  if (!r.program) throw new ProjectError(r.problems);
  return r as LoadedProgram & { program: TagProgram };
}
