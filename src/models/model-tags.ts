/**
 * Model tags: every trained model publishes two tags, `<model>_score` (probability, or predicted
 * value for regression) and `<model>_decile` (1 = the tenth of scored entities with the highest
 * scores ... 10 = the lowest). They are ordinary TagIR entries of kind 'model', added to the checked
 * program by `loadProgram`, so builds store them (current values, history, versions), and the
 * catalog, profiles, the online store, segments and explain see them like any tag.
 *
 * Their IR value is a typed null: the SQL plan computes the features they depend on (their
 * `dependsOn`), and `build` fills the values in by scoring (build-hook.ts) before storing.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ProjectConfig } from '../config/project.js';
import type { TagIR, TagName, TagProgram } from '../lang/ir.js';
import { freeze } from '../lang/ir.js';
import type { SourceSchemas } from '../lang/schemas.js';
import type { Problem } from '../util/problems.js';
import { MODELS_DIR } from './definition.js';
import { listModelFiles, type ModelFile, readModelFile } from './model-file.js';

export const SCORE_SUFFIX = 'score';
export const DECILE_SUFFIX = 'decile';

const problemAt = (file: string, message: string): Problem => ({
  file,
  line: 1,
  col: 1,
  message,
  severity: 'warning',
});

/** Why a trained model cannot publish tags in this program, or undefined when it can. */
function unusable(model: ModelFile, program: TagProgram, schemas: SourceSchemas): string | undefined {
  const byName = new Map(program.tags.map((t) => [t.name as string, t]));
  for (const f of model.features) {
    if (f.source.kind === 'tag') {
      const t = byName.get(f.source.tag);
      if (!t) return `it reads the tag '${f.source.tag}', which no longer exists`;
      if (f.tagType !== undefined && t.type !== f.tagType)
        return `the tag '${f.source.tag}' is now ${t.type} (it was ${f.tagType} when the model was trained)`;
    } else {
      const s = schemas.get(f.source.source);
      if (!s?.columns.has(f.source.column))
        return `it reads the profile attribute '${f.source.source}.${f.source.column}', which no longer exists`;
    }
  }
  for (const t of model.filter?.tags ?? [])
    if (!byName.has(t)) return `its filter reads the tag '${t}', which no longer exists`;
  for (const suffix of [SCORE_SUFFIX, DECILE_SUFFIX]) {
    if (byName.has(`${model.name}_${suffix}`)) return `a tag is already named '${model.name}_${suffix}'`;
  }
  return undefined;
}

/**
 * The program with the model tags of every trained model whose definition still exists, and a
 * warning for each trained model that cannot publish (a feature tag was removed...).
 */
export function withModelTags(
  config: ProjectConfig,
  program: TagProgram,
  schemas: SourceSchemas,
): { program: TagProgram; problems: Problem[] } {
  const files = listModelFiles(config);
  if (files.size === 0) return { program, problems: [] };
  const problems: Problem[] = [];
  const extra: TagIR[] = [];
  const categories = new Set(config.categories.map((c) => c.name));
  for (const [name, file] of files) {
    const yaml = [`${name}.yaml`, `${name}.yml`]
      .map((f) => path.join(config.dir, MODELS_DIR, f))
      .find(existsSync);
    if (!yaml) continue; // the definition was removed: its tags go with it
    const rel = path.relative(config.dir, yaml).split(path.sep).join('/');
    let model: ModelFile;
    try {
      model = readModelFile(file);
    } catch (e) {
      problems.push(problemAt(rel, `model '${name}' is not published: ${(e as Error).message}`));
      continue;
    }
    const why = unusable(model, program, schemas);
    if (why) {
      problems.push(
        problemAt(rel, `model '${name}' is not published: ${why}; retrain it with tagverse train ${name}`),
      );
      continue;
    }
    const deps = [
      ...new Set([
        ...model.features.flatMap((f) => (f.source.kind === 'tag' ? [f.source.tag] : [])),
        ...(model.filter?.tags ?? []),
      ]),
    ].sort() as TagName[];
    const category = categories.has(model.category)
      ? model.category
      : (config.categories[0]?.name ?? 'behavior');
    const common = {
      category,
      owner: model.owner,
      status: model.status,
      type: 'number' as const,
      kind: 'model' as const,
      aggregates: [],
      value: { kind: 'literal' as const, type: 'number' as const, value: null },
      file: rel,
      line: 1,
    };
    const scoreName = `${name}_${SCORE_SUFFIX}` as TagName;
    // The definition carries the model version, so every retraining is a new tag version in history.
    const definition = {
      model: name,
      version: model.version,
      trainedAt: model.trainedAt,
      algorithm: model.algorithm,
      features: model.features.map((f) => f.name),
      ...(model.filter ? { filter: model.filter.text } : {}),
    };
    extra.push(
      freeze({
        ...common,
        name: scoreName,
        title: `${model.title}: score`,
        description:
          model.objective === 'binary'
            ? `${model.description} Probability from 0 to 1 (model ${name} v${model.version}, ${model.algorithm}).`
            : `${model.description} Predicted value (model ${name} v${model.version}, ${model.algorithm}).`,
        dependsOn: deps,
        definition: { ...definition, output: SCORE_SUFFIX },
        model: { name, output: 'score' },
      } satisfies TagIR),
      freeze({
        ...common,
        name: `${name}_${DECILE_SUFFIX}` as TagName,
        title: `${model.title}: decile`,
        description: `Decile of ${scoreName} among the scored ${config.entity.name}s: 1 = the highest tenth, 10 = the lowest.`,
        dependsOn: [scoreName],
        companionOf: scoreName,
        definition: { ...definition, output: DECILE_SUFFIX },
        model: { name, output: 'decile' },
      } satisfies TagIR),
    );
  }
  if (extra.length === 0) return { program, problems };
  return { program: freeze({ ...program, tags: [...program.tags, ...extra] }), problems };
}
