/**
 * A model definition checked against its project: the label and filter checked as tags (with the
 * project's own tags, by the one checker), the feature list resolved to tags and profile attributes,
 * the cutoffs resolved to instants. Every problem is reported with its position in the model file.
 *
 * Leakage guard: profile attributes are a snapshot without history, so a feature that reads a profile
 * attribute the label reads (directly, or through the tags it depends on) would hand the model its
 * answer. Such features are left out, with a warning.
 */

import { closure } from '../compile/plan.js';
import type { ProjectConfig } from '../config/project.js';
import { resolveAsOf } from '../engine/as-of.js';
import { checkDefinitions } from '../lang/checker.js';
import type { TagDefinition } from '../lang/definitions.js';
import { type Expr, forEachNode, type TagIR, type TagProgram } from '../lang/ir.js';
import type { SourceSchemas } from '../lang/schemas.js';
import { didYouMeanSuffix } from '../util/did-you-mean.js';
import { type Problem, ProjectError } from '../util/problems.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { filterTagName, labelTagName, type ModelDefinition } from './definition.js';
import { encodingOf, type FeatureSpec } from './features.js';

export interface PreparedModel {
  readonly definition: ModelDefinition;
  readonly name: string;
  /** The project's tags plus the label (and filter) tags. */
  readonly program: TagProgram;
  readonly label: TagIR;
  readonly filter?: TagIR;
  readonly features: readonly FeatureSpec[];
  /** Tags measured next to the model on the validation rows (`baselines`), computed as of each cutoff. */
  readonly baselines: readonly TagIR[];
  /** Feature cutoffs (epoch µs, ascending); one entry (the snapshot time) for a static model. */
  readonly cutoffs: readonly number[];
  readonly static: boolean;
  readonly horizonSeconds: number;
  readonly objective: 'binary' | 'regression';
  readonly warnings: readonly string[];
}

/** Profile attributes an expression reads (`source.column`). */
function profileRefs(e: Expr | undefined, out: Set<string>): void {
  forEachNode(e, (x) => {
    if (x.kind === 'profile') out.add(`${x.source}.${x.column}`);
  });
}

/** Profile attributes a tag reads, directly or through the tags it depends on. */
function profileReadsOf(program: TagProgram, tag: string): Set<string> {
  const out = new Set<string>();
  for (const t of closure(program, [tag])) {
    profileRefs(t.value, out);
    for (const a of t.aggregates) {
      profileRefs(a.arg, out);
      profileRefs(a.filter, out);
      profileRefs(a.by?.arg, out);
    }
  }
  return out;
}

/**
 * Check a model definition against the project.
 * @example
 *   const prepared = await prepareModel(wh, config, schemas, loaded.definitions, definition);
 */
export async function prepareModel(
  wh: Warehouse,
  config: ProjectConfig,
  schemas: SourceSchemas,
  tagDefinitions: readonly TagDefinition[],
  def: ModelDefinition,
): Promise<PreparedModel> {
  const input = def.input;
  const file = def.file;
  const problems: Problem[] = [];
  const warnings: string[] = [];
  const category = config.categories[0]?.name ?? 'behavior';
  const hidden = [def.labelDefinition, ...(def.filterDefinition ? [def.filterDefinition] : [])].map((d) => ({
    ...d,
    input: { ...d.input, category },
  }));
  for (const h of hidden) {
    if (tagDefinitions.some((d) => d.input.name === h.input.name)) {
      problems.push(
        file.problem(
          ['name'],
          `a tag is named '${h.input.name}', which model '${input.name}' needs for itself`,
        ),
      );
    }
  }
  if (input.category !== undefined && !config.categories.some((c) => c.name === input.category)) {
    problems.push(
      file.problem(
        ['category'],
        `unknown category '${input.category}'${didYouMeanSuffix(
          input.category,
          config.categories.map((c) => c.name),
        )}`,
      ),
    );
  }
  const checked = checkDefinitions(config, schemas, [...tagDefinitions, ...hidden]);
  problems.push(...checked.problems.filter((p) => p.severity === 'error'));
  const program = checked.program;
  if (!program || problems.length > 0) throw new ProjectError(problems);

  const label = program.tags.find((t) => t.name === labelTagName(input.name))!;
  const filter = def.filterDefinition
    ? program.tags.find((t) => t.name === filterTagName(input.name))
    : undefined;
  if (label.type !== 'boolean' && label.type !== 'number') {
    problems.push(
      file.problem(
        ['label', 'value'],
        `the label must be a boolean (yes/no) or a number; it is ${label.type}`,
      ),
    );
  }
  const objective = label.type === 'boolean' ? 'binary' : 'regression';
  if (def.algorithm === 'logistic' && objective !== 'binary') {
    problems.push(
      file.problem(
        ['algorithm'],
        'logistic regression needs a boolean label; use linear or gbdt for a number',
      ),
    );
  }
  if (def.algorithm === 'linear' && objective !== 'regression') {
    problems.push(
      file.problem(
        ['algorithm'],
        'linear (ridge) regression needs a numeric label; use logistic or gbdt for a boolean',
      ),
    );
  }

  // Features.
  const userTags = program.tags.filter((t) => t.name !== label.name && t.name !== filter?.name);
  const tagByName = new Map(userTags.map((t) => [t.name as string, t]));
  const profileColumns = new Map<string, { source: string; column: string; type: string }[]>();
  const allProfile: { source: string; column: string; type: string }[] = [];
  for (const s of schemas.values()) {
    if (s.kind !== 'profile') continue;
    for (const [column, type] of s.columns) {
      if (column === s.entityKey) continue;
      const entry = { source: s.name, column, type };
      allProfile.push(entry);
      profileColumns.set(column, [...(profileColumns.get(column) ?? []), entry]);
      profileColumns.set(`${s.name}.${column}`, [entry]);
    }
  }
  const spec = input.features;
  const obj = Array.isArray(spec) ? { include: spec } : spec;
  const base: (string | number)[] = Array.isArray(spec) ? ['features'] : ['features', 'include'];
  const chosen: FeatureSpec[] = [];
  const seen = new Set<string>();
  const add = (f: FeatureSpec) => {
    if (seen.has(f.name)) return;
    seen.add(f.name);
    chosen.push(f);
  };
  const addTag = (t: TagIR, at?: (string | number)[]) => {
    const encoding = encodingOf(t.type);
    if (!encoding) {
      if (at)
        problems.push(file.problem(at, `tag '${t.name}' is of type ${t.type}, which a model cannot read`));
      return;
    }
    add({ name: t.name, source: { kind: 'tag', tag: t.name }, encoding });
  };
  const addProfile = (p: { source: string; column: string; type: string }, at?: (string | number)[]) => {
    const encoding = encodingOf(p.type as 'number');
    if (!encoding) {
      if (at)
        problems.push(
          file.problem(at, `'${p.source}.${p.column}' holds values a model cannot read (${p.type})`),
        );
      return;
    }
    add({
      name: `${p.source}.${p.column}`,
      source: { kind: 'profile', source: p.source, column: p.column },
      encoding,
    });
  };
  for (const [i, name] of (obj.include ?? []).entries()) {
    const at = [...base, i];
    const t = tagByName.get(name);
    if (t) {
      addTag(t, at);
      continue;
    }
    const p = profileColumns.get(name);
    if (p && p.length === 1) {
      addProfile(p[0]!, at);
      continue;
    }
    if (p && p.length > 1) {
      problems.push(
        file.problem(
          at,
          `'${name}' is a column of several profile sources: write ${p.map((x) => `${x.source}.${name}`).join(' or ')}`,
        ),
      );
      continue;
    }
    problems.push(
      file.problem(
        at,
        `unknown feature '${name}': not a tag or profile attribute${didYouMeanSuffix(name, [...tagByName.keys(), ...profileColumns.keys()])}`,
      ),
    );
  }
  if (!Array.isArray(spec)) {
    (spec.categories ?? []).forEach((c, i) => {
      if (!config.categories.some((x) => x.name === c)) {
        problems.push(
          file.problem(
            ['features', 'categories', i],
            `unknown category '${c}'${didYouMeanSuffix(
              c,
              config.categories.map((x) => x.name),
            )}`,
          ),
        );
      }
      for (const t of userTags) if (t.category === c) addTag(t);
    });
    if (spec.approved) for (const t of userTags) if (t.status === 'approved') addTag(t);
    if (spec.profile === true) for (const p of allProfile) addProfile(p);
    else if (Array.isArray(spec.profile)) {
      spec.profile.forEach((name, i) => {
        const p = profileColumns.get(name);
        if (p && p.length === 1) addProfile(p[0]!, ['features', 'profile', i]);
        else
          problems.push(
            file.problem(
              ['features', 'profile', i],
              p
                ? `'${name}' is a column of several profile sources: qualify it`
                : `unknown profile attribute '${name}'${didYouMeanSuffix(name, [...profileColumns.keys()])}`,
            ),
          );
      });
    }
    (spec.exclude ?? []).forEach((name, i) => {
      const at = chosen.findIndex(
        (f) => f.name === name || (f.source.kind === 'profile' && f.source.column === name),
      );
      if (at < 0) {
        problems.push(
          file.problem(
            ['features', 'exclude', i],
            `'${name}' is not among the features${didYouMeanSuffix(
              name,
              chosen.map((f) => f.name),
            )}`,
            {
              severity: 'warning',
            },
          ),
        );
        return;
      }
      seen.delete(chosen[at]!.name);
      chosen.splice(at, 1);
    });
  }
  // Leakage guard: nothing the label reads from profiles may be a feature.
  const labelReads = profileReadsOf(program, label.name);
  const features = chosen.filter((f) => {
    const reads =
      f.source.kind === 'profile'
        ? new Set([`${f.source.source}.${f.source.column}`])
        : profileReadsOf(program, f.source.tag);
    const shared = [...reads].filter((r) => labelReads.has(r));
    if (shared.length === 0) return true;
    warnings.push(
      `feature '${f.name}' reads ${shared.join(', ')}, which the label reads: left out (profile attributes have no history, so it would leak the label)`,
    );
    return false;
  });
  if (features.length === 0 && problems.length === 0) {
    problems.push(
      file.problem(['features'], 'the model has no features: name tags or profile attributes to learn from'),
    );
  }

  // Baselines: boolean or number tags, scored on the same rows as the model.
  const baselines: TagIR[] = [];
  (input.baselines ?? []).forEach((name, i) => {
    const t = tagByName.get(name);
    if (!t) {
      problems.push(
        file.problem(
          ['baselines', i],
          `unknown tag '${name}'${didYouMeanSuffix(name, [...tagByName.keys()])}`,
        ),
      );
      return;
    }
    if (t.type !== 'boolean' && t.type !== 'number') {
      problems.push(
        file.problem(['baselines', i], `a baseline is a boolean or number tag; '${name}' is ${t.type}`),
      );
      return;
    }
    if (features.some((f) => f.name === name))
      warnings.push(`baseline '${name}' is also a feature: the model sees the rule it is compared with`);
    baselines.push(t);
  });

  // Cutoffs.
  const ctx = {
    timezone: config.timezone,
    eventSources: program.eventSources.map((s) => ({ source: s, timeColumn: program.timeColumns[s]! })),
    now: () => new Date(),
  };
  const latest =
    program.eventSources.length > 0
      ? await resolveAsOf('latest_event', wh, ctx).catch(() => undefined)
      : undefined;
  const cutoffs: number[] = [];
  if (input.cutoffs) {
    for (const [i, c] of input.cutoffs.entries()) {
      let us: number;
      try {
        us = await resolveAsOf(c, wh, ctx);
      } catch (e) {
        problems.push(file.problem(['cutoffs', i], (e as Error).message));
        continue;
      }
      if (cutoffs.includes(us)) problems.push(file.problem(['cutoffs', i], `cutoff ${c} is listed twice`));
      if (latest !== undefined && us + def.horizonSeconds * 1e6 > latest) {
        problems.push(
          file.problem(
            ['cutoffs', i],
            `cutoff ${c} + ${input.label.horizon} ends after the latest event (${new Date(latest / 1000).toISOString()}): its labels would be incomplete`,
          ),
        );
      }
      cutoffs.push(us);
    }
    cutoffs.sort((a, b) => a - b);
  } else {
    // A static model: one snapshot, as of the project's default time (now when there are no events).
    const spec2 = program.eventSources.length > 0 ? config.settings.asOf : 'now';
    cutoffs.push(await resolveAsOf(spec2, wh, ctx));
    if (program.eventSources.length > 0 && chosen.some((f) => f.source.kind === 'tag')) {
      warnings.push(
        'a static model reads tags as of one time; with events over time, cutoffs and a horizon give leak-free labels',
      );
    }
  }
  const profileFeatures = features.filter((f) => f.source.kind === 'profile').map((f) => f.name);
  if (input.cutoffs && profileFeatures.length > 0) {
    warnings.push(
      `profile attributes are read as they are now, not as of each cutoff: ${profileFeatures.join(', ')} (fine for attributes that do not change, like a signup date)`,
    );
  }
  if (problems.some((p) => p.severity === 'error')) throw new ProjectError(problems);
  for (const p of problems) warnings.push(p.message);
  return {
    definition: def,
    name: input.name,
    program,
    label,
    ...(filter ? { filter } : {}),
    features,
    baselines,
    cutoffs,
    static: !input.cutoffs,
    horizonSeconds: def.horizonSeconds,
    objective,
    warnings,
  };
}
