/**
 * A small card world for the model tests: generated, with a compact tag library (a dozen tags, so
 * builds at several cutoffs stay fast) instead of the full card pack, and ingested.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { generateWorld } from '../../src/generate/index.js';
import { ingest } from '../../src/ingest/ingest.js';
import { tempDir, writeFiles } from '../helpers.js';

export const TAGS = `
- name: spend_30d
  description: Spend over 30 days.
  category: behavior
  status: approved
  from: transactions
  window: last 30d
  value: sum(amount)
- name: spend_90d
  description: Spend over 90 days.
  category: behavior
  status: approved
  from: transactions
  window: last 90d
  value: sum(amount)
- name: txn_count_90d
  description: Payments over 90 days.
  category: behavior
  status: approved
  from: transactions
  window: last 90d
  value: count()
- name: txn_count_30d
  description: Payments over 30 days.
  category: behavior
  status: approved
  from: transactions
  window: last 30d
  value: count()
- name: days_since_last_txn
  description: Days since the latest payment.
  category: behavior
  status: approved
  from: transactions
  value: days_since_last()
- name: last_txn_at
  description: Time of the latest payment (a date feature).
  category: behavior
  status: approved
  from: transactions
  value: last_time()
- name: online_share_90d
  description: Online share over 90 days.
  category: preference
  status: approved
  from: transactions
  window: last 90d
  value: share(channel = 'online')
- name: travel_count_180d
  description: Travel payments over 180 days.
  category: preference
  status: approved
  from: transactions
  where: category in ('airline', 'hotel', 'travel_agency', 'airport', 'duty_free')
  window: last 180d
  value: count()
- name: foreign_count_180d
  description: Payments abroad over 180 days.
  category: preference
  status: approved
  from: transactions
  window: last 180d
  value: count(where country <> 'KR')
- name: top_category_90d
  description: Category with the most spend over 90 days.
  category: preference
  status: approved
  from: transactions
  window: last 90d
  value: argmax(category, by sum(amount))
- name: active
  description: Paid at least once in 90 days.
  category: condition
  value: txn_count_90d > 0
`;

/** Generate and ingest a world of `customers` x `months`; returns the project folder. */
export async function cardWorld(customers: number, months: number, seed: number): Promise<string> {
  const dir = path.join(tempDir(), 'world');
  await generateWorld({ customers, months, seed, out: dir });
  rmSync(path.join(dir, 'tags'), { recursive: true, force: true });
  writeFiles(dir, { 'tags/test.yaml': TAGS });
  await ingest(dir);
  return dir;
}

export function writeModel(dir: string, name: string, yaml: string): void {
  writeFiles(dir, { [`models/${name}.yaml`]: yaml });
}
