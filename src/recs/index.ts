/**
 * Recommendations as a library: train, recommend, evaluate (see README.md in this folder).
 * @example
 *   import { trainRecommender, recommend, evaluateRecommender } from 'tagverse';
 *   await trainRecommender('./world', 'merchants');
 *   const r = await recommend('./world', 'C0000042', { k: 10 });
 */
import { type ProjectConfig, requireProject } from '../config/project.js';
import { openStore } from '../online/store-holder.js';
import type { RecommendResult } from './recommend.js';
import { loadRecommender } from './train.js';

export { ALGORITHMS, type Algorithm, type FitParams } from './algorithms.js';
export { parseRecsFile, type RecsDefinition } from './definition.js';
export {
  evaluateRecommender,
  type Holdout,
  type RecsEvaluation,
  type RecsEvaluationOptions,
} from './evaluate.js';
export type { RecsCard } from './model-file.js';
export type { RecommendedItem, RecommendResult } from './recommend.js';
export { type TrainRecsResult, trainRecommender } from './train.js';

/**
 * `tagverse recommend ID`: an entity's top items from a trained recommender (the project's only one
 * when `recommender` is not given), its filters applied (tags are loaded when they need them).
 */
export async function recommend(
  project: ProjectConfig | string,
  entityId: string,
  opts: { k?: number; recommender?: string } = {},
): Promise<RecommendResult> {
  const config = typeof project === 'string' ? requireProject(project) : project;
  const r = loadRecommender(config, opts.recommender);
  const store = r.needsStore ? (await openStore(config)).store : undefined;
  return r.recommend(entityId, {
    ...(opts.k !== undefined ? { k: opts.k } : {}),
    ...(store ? { store } : {}),
  });
}
