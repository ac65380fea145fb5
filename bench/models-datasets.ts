/**
 * The projects of the models benchmark: the synthetic card world (with its planted life events loaded
 * as an events source, for the condition model), and the packs over the real datasets.
 */
import { appendFileSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateWorld } from '../src/generate/index.js';
import { ingest } from '../src/ingest/ingest.js';
import { packDir } from '../src/packs/index.js';
import { initProject } from '../src/project/init.js';

/** The planted life events (truth/life_events.csv) as an events source: what the condition model learns. */
const LIFE_EVENTS_SOURCE = `
  life_events:
    kind: events
    description: The planted life events (ground truth), one row per event.
    files: truth/life_events.csv
    entity_key: customer_id
    timestamp: { column: date, format: '%Y-%m-%d' }
    columns:
      customer_id: { type: string }
      event: { type: string }
      details: { type: string }
`;

/**
 * Conditions as predictions: "had a baby in the last 365 days" learned from the planted truth for half
 * of the customers (all their rows at every cutoff) and predicted for the other half, from behaviour
 * tags only (the hand-written rules for the same condition are left out of the features; they are the
 * comparison).
 */
export const NEW_PARENT_MODEL = `name: new_parent_model
description: Probability that the customer had a baby in the last 365 days, learned from the planted life events.
category: condition
label:
  from: life_events
  where: event = 'new_baby'
  value: count() > 0
  window: last 365d
  horizon: 0d
features:
  approved: true
  exclude: [new_parent, became_parent, became_parent_since, became_parent_confidence, recent_life_change]
cutoffs: [2025-07-31, 2025-09-30, 2025-11-30]
validation: { holdout: 0.5 }
params: { trees: 500, learning_rate: 0.05, max_depth: 5, min_child_weight: 2, subsample: 0.8 }
seed: 7
`;

/** The rule tags the condition model is compared with. */
export const NEW_PARENT_RULES = ['new_parent', 'became_parent'];

export async function cardWorldProject(
  dir: string,
  customers: number,
  log: (m: string) => void,
): Promise<string> {
  log(`card world: generating ${customers} customers x 12 months`);
  await generateWorld({ customers, months: 12, seed: 21, out: dir });
  appendFileSync(path.join(dir, 'tagverse.yaml'), LIFE_EVENTS_SOURCE);
  mkdirSync(path.join(dir, 'models'), { recursive: true });
  cpSync(path.join(packDir('card'), 'models'), path.join(dir, 'models'), { recursive: true });
  writeFileSync(path.join(dir, 'models', 'new_parent_model.yaml'), NEW_PARENT_MODEL);
  log('card world: ingesting');
  await ingest(dir);
  return dir;
}

export async function packProject(dir: string, template: string, log: (m: string) => void): Promise<string> {
  log(`${template}: init and ingest`);
  initProject(dir, { template });
  await ingest(dir);
  return dir;
}
