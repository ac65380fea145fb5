/**
 * A small generated card world for the recommendation and offer tests: 1,000 customers x 8 months,
 * a compact tag set (cuisine affinity, a diaper cycle, dormancy, a spend score standing in for a
 * model score), a merchants recommender and a few offers, ingested and built.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { build } from '../../src/engine/build.js';
import { generateWorld } from '../../src/generate/index.js';
import { ingest } from '../../src/ingest/ingest.js';
import { tempDir, writeFiles } from '../helpers.js';

export const TAGS = `
- name: cuisine_affinity
  description: Cuisines preferred over everyone.
  category: preference
  kind: affinity
  from: transactions
  where: category = 'restaurant'
  dimension: cuisine
  window: last 365d
  top: 3
- name: diaper_cycle
  description: Regular baby-shop purchases.
  category: behavior
  kind: recurrence
  from: transactions
  where: category = 'baby'
  dimension: merchant_id
  window: last 365d
- name: days_since_last_txn
  description: Days since the latest payment.
  category: behavior
  from: transactions
  value: days_since_last()
- name: dormant_60d
  description: No payment for 60 days.
  category: condition
  value: days_since_last_txn > 60
- name: spend_score
  description: Spend over 90 days scaled to [0, 1] (stands in for a model score).
  category: behavior
  from: transactions
  window: last 90d
  value: least(1, sum(amount) / 5000000)
`;

export const RECS = `name: merchants
description: Offline merchants a customer may pay at next.
from: transactions
item: merchant_id
where: channel = 'offline'
half_life: 90d
algorithm: ease
params: { max_items: 400, lambda: 50 }
filters:
  repeat: [diaper_cycle]
  eligibility: not dormant_60d
`;

export async function actionWorld(): Promise<string> {
  const dir = path.join(tempDir(), 'world');
  await generateWorld({ customers: 1000, months: 8, seed: 7, out: dir });
  rmSync(path.join(dir, 'tags'), { recursive: true, force: true });
  writeFiles(dir, { 'tags/test.yaml': TAGS, 'recs/merchants.yaml': RECS });
  await ingest(dir);
  await build(dir);
  return dir;
}
