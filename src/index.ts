/**
 * Tagverse as a library: every CLI verb is one of these typed functions first.
 * @example
 *   import { generateWorld, ingest } from 'tagverse';
 *   await generateWorld({ customers: 1000, months: 6, seed: 7, out: './world' });
 *   const result = await ingest('./world');
 */
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
export { datasetsDir, packNames } from './packs/index.js';
export { type DemoOptions, type DemoSummary, runDemo } from './project/demo.js';
export { type InitOptions, type InitResult, initProject, templateNames } from './project/init.js';
export { formatProblem, type Problem, ProjectError, TagverseError } from './util/problems.js';
export { VERSION } from './version.js';
export { Warehouse } from './warehouse/warehouse.js';
