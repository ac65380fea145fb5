/**
 * Tagverse as a library: every CLI verb is one of these typed functions first.
 * @example
 *   import { generateWorld, ingest } from 'tagverse';
 *   await generateWorld({ customers: 1000, months: 6, seed: 7, out: './world' });
 *   const result = await ingest('./world');
 */
export { createApp } from './api/app.js';
export {
  createApiKey,
  generateKey,
  hashKey,
  KeyRing,
  keysFromEnv,
  type Principal,
  revokeApiKey,
} from './api/keys.js';
export { ROLE_PERMISSIONS } from './api/roles.js';
export { type RunningServer, type ServeOptions, startServer } from './api/server.js';
export { type CheckResult, checkProject } from './config/check.js';
export { projectJsonSchema } from './config/json-schema.js';
export {
  CONFIG_FILE,
  type EventsSource,
  type LoadResult,
  type LookupSource,
  loadProject,
  type ProfileSource,
  type ProjectConfig,
  requireProject,
  type SourceConfig,
} from './config/project.js';
export { generateWorld } from './generate/index.js';
export {
  type IngestOptions,
  type IngestProgress,
  type IngestResult,
  type IngestSourceResult,
  ingest,
  RejectThresholdError,
} from './ingest/ingest.js';
export { type ModelDefinition, parseModelFile } from './models/definition.js';
export {
  type Backtest,
  type EvaluateOptions,
  type Evaluation,
  evaluateModel,
  listModels,
  type ModelSummary,
} from './models/evaluate.js';
export type { FeatureContribution, ModelExplanation } from './models/explain.js';
export { CompiledForest, scoringColumns } from './models/gbdt/forest.js';
export { DEFAULT_GBDT_PARAMS, type GbdtModel, type GbdtParams, trainGbdt } from './models/gbdt/train.js';
export { treeShap } from './models/gbdt/treeshap.js';
export {
  DEFAULT_LINEAR_PARAMS,
  type LinearModel,
  type LinearParams,
  trainLinear,
} from './models/linear/linear.js';
export type { FeatureColumn, FeatureMatrix } from './models/matrix.js';
export {
  auc,
  averagePrecision,
  brier,
  calibration,
  evaluatePredictions,
  gains,
  logLoss,
  type Metrics,
} from './models/metrics.js';
export { type ModelCard, type ModelFile, predictorOf, readModelFile } from './models/model-file.js';
export { type TrainOptions, type TrainResult, trainModel } from './models/train.js';
export {
  ActionService,
  type DecideContext,
  type DecidedOffer,
  type DecideRequest,
  type Decision,
  decide,
  parseOffersFile,
} from './offers/index.js';
export { listTags, type TagDetail, type TagSummary, tagDetail } from './online/catalog.js';
export { loadStore } from './online/load.js';
export { readSnapshot, snapshotPath, writeSnapshot } from './online/snapshot.js';
export { type StoreProfile, TagStore } from './online/store.js';
export { openStore, StoreHolder } from './online/store-holder.js';
export { datasetsDir, packNames } from './packs/index.js';
export { type DemoOptions, type DemoSummary, runDemo } from './project/demo.js';
export { type InitOptions, type InitResult, initProject, templateNames } from './project/init.js';
export {
  ALGORITHMS as RECS_ALGORITHMS,
  evaluateRecommender,
  parseRecsFile,
  type RecommendResult,
  type RecsCard,
  type RecsEvaluation,
  recommend,
  trainRecommender,
} from './recs/index.js';
export { evaluateSegment } from './segments/evaluate.js';
export { querySegment, type SegmentQueryResult } from './segments/query.js';
export {
  deleteSegment,
  getSavedSegment,
  listSavedSegments,
  type SavedSegment,
  saveSegment,
} from './segments/saved.js';
export { compileSegment, previewSegment, SegmentError, type SegmentPreview } from './segments/segment.js';
export { formatProblem, type Problem, ProjectError, TagverseError } from './util/problems.js';
export { VERSION } from './version.js';
export { Warehouse } from './warehouse/warehouse.js';
