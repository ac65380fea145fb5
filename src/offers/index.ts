/**
 * Offers and decisions as a library (see README.md in this folder).
 * @example
 *   import { decide } from 'tagverse';
 *   const d = await decide('./world', { entityId: 'C0000042', context: { channel: 'app', location: { city: 'Busan' } } });
 */
import { type ProjectConfig, requireProject } from '../config/project.js';
import { openStore } from '../online/store-holder.js';
import type { DecideRequest, Decision } from './decide.js';
import { ActionService } from './service.js';

export type { DecideContext, DecidedOffer, DecideRequest, Decision } from './decide.js';
export { type Offer, parseOffersFile } from './definition.js';
export { ActionService } from './service.js';

/**
 * `tagverse decide ID`: rank the project's offers for an entity in a context. A dry run unless
 * `grant` is true (a running server owns the ledger: grant through POST /v1/decide instead).
 */
export async function decide(
  project: ProjectConfig | string,
  req: DecideRequest,
  opts: { grant?: boolean } = {},
): Promise<Decision> {
  const config = typeof project === 'string' ? requireProject(project) : project;
  const service = new ActionService(config);
  const engine = await service.offers();
  const { store } = await openStore(config);
  return engine.decide(store, { ...req, dryRun: !opts.grant });
}
