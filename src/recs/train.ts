/**
 * Training a recommender: read its events from the warehouse, build the implicit-feedback matrix, fit
 * the algorithm, write a new versioned model file (model-file.ts). Also: finding a project's
 * recommender definitions and loading a trained one.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { type ProjectConfig, requireProject } from '../config/project.js';
import { didYouMeanSuffix } from '../util/did-you-mean.js';
import { ProjectError, TagverseError } from '../util/problems.js';
import { Warehouse } from '../warehouse/warehouse.js';
import { type Algorithm, fitModel } from './algorithms.js';
import { loadRecsDefinitions, type RecsDefinition } from './definition.js';
import { interactionMatrix, readInteractions } from './interactions.js';
import { nextRecsVersion, type RecsCard, readRecsFile, recsPath, writeRecsFile } from './model-file.js';
import { Recommender } from './recommend.js';

/** A recommender definition by name (the only one when `name` is omitted and there is one). */
export function requireRecsDefinition(config: ProjectConfig, name?: string): RecsDefinition {
  const { recs, problems } = loadRecsDefinitions(config.dir);
  const errors = problems.filter((p) => p.severity === 'error');
  if (name === undefined) {
    if (errors.length > 0) throw new ProjectError(errors);
    if (recs.length === 0)
      throw new TagverseError('recs.none', 'the project has no recommenders (recs/*.yaml)');
    if (recs.length > 1) {
      throw new TagverseError(
        'recs.ambiguous',
        `the project has several recommenders (${recs.map((r) => r.input.name).join(', ')}): name one`,
      );
    }
    return recs[0]!;
  }
  const def = recs.find((r) => r.input.name === name);
  if (!def) {
    const inFile = errors.filter((p) => p.file === `recs/${name}.yaml`);
    if (inFile.length > 0) throw new ProjectError(inFile);
    throw new TagverseError(
      'recs.not_found',
      `no recommender '${name}' in recs/*.yaml${didYouMeanSuffix(
        name,
        recs.map((r) => r.input.name),
      )}`,
    );
  }
  return def;
}

export function definitionHash(def: RecsDefinition): string {
  return createHash('sha256').update(JSON.stringify(def.input)).digest('hex').slice(0, 16);
}

export function openWarehouse(config: ProjectConfig, readOnly = true): Promise<Warehouse> {
  if (!existsSync(config.engine.path)) {
    throw new TagverseError('recs.no_data', 'the project has no warehouse yet: run tagverse ingest');
  }
  return Warehouse.open(config.engine.path, {
    readOnly,
    ...(config.engine.threads !== undefined ? { threads: config.engine.threads } : {}),
    ...(config.engine.memoryLimit !== undefined ? { memoryLimit: config.engine.memoryLimit } : {}),
  });
}

export interface TrainRecsOptions {
  /** Override the definition's algorithm. */
  readonly algorithm?: Algorithm;
  readonly onProgress?: (step: string) => void;
}

export interface TrainRecsResult {
  readonly card: RecsCard;
  readonly file: string;
}

/**
 * Train a recommender (recs/<name>.yaml) and write its model file.
 * @example
 *   const { card } = await trainRecommender('./world', 'merchants');
 *   console.log(card.version, card.trainSeconds);
 */
export async function trainRecommender(
  project: ProjectConfig | string,
  name?: string,
  opts: TrainRecsOptions = {},
): Promise<TrainRecsResult> {
  const config = typeof project === 'string' ? requireProject(project) : project;
  const def = requireRecsDefinition(config, name);
  const progress = opts.onProgress ?? (() => {});
  progress('reading events');
  const wh = await openWarehouse(config);
  const log = await readInteractions(wh, config, def).finally(() => wh.close());
  if (log.entity.length === 0) {
    throw new TagverseError(
      'recs.no_data',
      `recommender '${def.input.name}' has no events (check 'from' and 'where')`,
    );
  }
  const algorithm = opts.algorithm ?? def.algorithm;
  progress(`fitting ${algorithm}`);
  const started = performance.now();
  const x = interactionMatrix(log, def);
  const model = fitModel(algorithm, x, def.params);
  const trainSeconds = (performance.now() - started) / 1000;
  const card: RecsCard = {
    name: def.input.name,
    version: nextRecsVersion(config, def.input.name),
    algorithm,
    params: def.params,
    weighting: {
      weight: def.weight,
      scale: def.scale,
      ...(def.halfLifeSeconds !== undefined ? { halfLifeSeconds: def.halfLifeSeconds } : {}),
    },
    trainedAt: new Date().toISOString(),
    asOf: new Date(log.asOfMs).toISOString(),
    events: log.entity.length,
    entities: log.entities.length,
    items: log.items.length,
    modelledItems: model.algorithm === 'popularity' ? log.items.length : model.top.length,
    trainSeconds,
    definitionHash: definitionHash(def),
  };
  const file = writeRecsFile(config, { card, entities: log.entities, items: log.items, model, history: x });
  return { card, file };
}

/** A trained recommender ready to answer (its definition and its latest model file). */
export function loadRecommender(config: ProjectConfig, name?: string): Recommender {
  const def = requireRecsDefinition(config, name);
  const file = recsPath(config, def.input.name);
  if (!existsSync(file)) {
    throw new TagverseError(
      'recs.not_trained',
      `recommender '${def.input.name}' is not trained yet: run tagverse recs train ${def.input.name}`,
    );
  }
  return new Recommender(config, def, readRecsFile(file));
}
