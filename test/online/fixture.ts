/**
 * A small, fixed serving project for the online store, segment and API tests: 400 customers (some
 * without any payment, some with missing profile values), card payments over six months, and tags of
 * every type: booleans that can be null, numbers, categories, a list, a time.
 * Built with the real ingest and build, so the store is loaded exactly as `tagverse serve` loads it.
 */
import { build } from '../../src/engine/build.js';
import { ingest } from '../../src/ingest/ingest.js';
import { tempDir, writeFiles } from '../helpers.js';

const TAGS = `
- name: spend_90d
  description: Spend over 90 days.
  category: behavior
  from: transactions
  window: last 90d
  value: sum(amount)
- name: txn_count
  description: Payments ever.
  category: behavior
  from: transactions
  value: count()
- name: avg_ticket
  description: Mean payment (null without payments).
  category: behavior
  from: transactions
  value: avg(amount)
- name: online_share
  description: Share of online payments (null without payments).
  category: preference
  from: transactions
  value: share(channel = 'online')
- name: big_spender
  description: Over 500 in 90 days.
  category: behavior
  from: transactions
  value: sum(amount, last 90d) > 500
- name: online_lover
  description: Mostly online (null without payments).
  category: preference
  from: transactions
  value: share(channel = 'online') > 0.5
- name: favourite_category
  description: Category with the most spend.
  category: preference
  from: transactions
  value: argmax(category, by sum(amount))
- name: top_categories
  description: Two most frequent categories.
  category: preference
  from: transactions
  value: top(category, 2, by count())
- name: last_seen
  description: Time of the last payment.
  category: behavior
  from: transactions
  value: last_time()
- name: dormant
  description: No payment for 30 days (null without payments).
  category: condition
  from: transactions
  value: days_since_last() > 30
- name: vip_big
  description: VIP customers who spend big.
  category: condition
  value: big_spender and vip
`;

const CONFIG = `
name: serving_fixture
timezone: UTC
entity:
  name: customer
sources:
  transactions:
    kind: events
    files: data/transactions.csv
    entity_key: customer_id
    event_id: txn_id
    timestamp: ts
    columns:
      amount: { type: double }
      customer_id: { type: string }
  customers:
    kind: profile
    files: data/customers.csv
    entity_key: customer_id
    columns:
      customer_id: { type: string }
      age: { type: integer }
      vip: { type: boolean }
      region: { type: string }
      signup: { type: date }
`;

export const REGIONS = ['Seoul', 'Busan', 'Incheon', 'Daegu'];
export const CATEGORIES = ['grocery', 'travel', 'dining', 'fuel', 'golf'];
export const CUSTOMERS = 400;

/** Deterministic pseudo-random numbers (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function fixtureFiles(seed = 11): Record<string, string> {
  const rnd = prng(seed);
  const customers = ['customer_id,age,vip,region,signup'];
  const txns = ['txn_id,customer_id,ts,amount,category,channel'];
  let txn = 0;
  const start = Date.parse('2025-01-01T00:00:00Z');
  for (let i = 1; i <= CUSTOMERS; i++) {
    const id = `C${String(i).padStart(4, '0')}`;
    const age = rnd() < 0.1 ? '' : String(18 + Math.floor(rnd() * 60));
    const vip = rnd() < 0.1 ? '' : rnd() < 0.3 ? 'true' : 'false';
    const region = rnd() < 0.05 ? '' : REGIONS[Math.floor(rnd() * REGIONS.length)]!;
    const signup = new Date(start - Math.floor(rnd() * 700) * 86_400_000).toISOString().slice(0, 10);
    customers.push(`${id},${age},${vip},${region},${signup}`);
    const n = rnd() < 0.15 ? 0 : Math.floor(rnd() * 30);
    const recentOnly = rnd() < 0.3;
    for (let k = 0; k < n; k++) {
      const day = recentOnly ? 120 + rnd() * 60 : rnd() * 180;
      const ts = new Date(start + Math.floor(day * 86_400_000)).toISOString();
      const amount = (Math.floor(rnd() * 20_000) / 100).toFixed(2);
      const cat = CATEGORIES[Math.floor(rnd() * rnd() * CATEGORIES.length)]!;
      const channel = rnd() < 0.4 ? 'online' : 'store';
      txns.push(`T${++txn},${id},${ts},${amount},${cat},${channel}`);
    }
  }
  return {
    'tagverse.yaml': CONFIG,
    'tags/fixture.yaml': TAGS,
    'data/customers.csv': `${customers.join('\n')}\n`,
    'data/transactions.csv': `${txns.join('\n')}\n`,
  };
}

/** A built fixture project (ingested, built as of 2025-06-30). */
export async function builtFixture(seed = 11): Promise<string> {
  const dir = tempDir();
  writeFiles(dir, fixtureFiles(seed));
  await ingest(dir);
  await build(dir, { asOf: '2025-06-30' });
  return dir;
}
