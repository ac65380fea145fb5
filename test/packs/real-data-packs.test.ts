import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkProject } from '../../src/config/check.js';
import { ingest } from '../../src/ingest/ingest.js';
import { datasetsDir } from '../../src/packs/index.js';
import { initProject } from '../../src/project/init.js';
import { query, tempDir } from '../helpers.js';

const datasets = datasetsDir();
const why = datasets ? '' : ' (SKIPPED: ../shared/datasets not found; set TAGVERSE_DATASETS to run)';
if (!datasets) console.warn(`real-data pack tests skipped: ../shared/datasets not found${why}`);

async function packProject(template: string): Promise<{ dir: string; wh: string }> {
  const dir = path.join(tempDir(), template);
  initProject(dir, { template });
  const check = await checkProject(dir);
  expect(check.problems).toEqual([]);
  return { dir, wh: path.join(dir, '.tagverse/warehouse.duckdb') };
}

describe.skipIf(!datasets)(`real-data packs ingest with zero rejects${why}`, () => {
  it('grocery: The Complete Journey transactions, products, demographics, coupons', async () => {
    const { dir, wh } = await packProject('grocery');
    const r = await ingest(dir);
    expect(Object.fromEntries(r.sources.map((s) => [s.name, [s.rowsLoaded, s.rowsRejected]]))).toEqual({
      products: [92346, 0],
      campaign_descriptions: [27, 0],
      demographics: [801, 0],
      transactions: [75000, 0],
      coupon_redemptions: [2102, 0],
    });
    const [row] = await query(
      wh,
      `SELECT count(DISTINCT household_id)::INTEGER AS households,
              strftime(min(transaction_timestamp) AT TIME ZONE 'America/New_York', '%Y-%m-%d') AS first_day,
              count(*) FILTER (WHERE p.product_id IS NULL)::INTEGER AS without_product
       FROM main.transactions t LEFT JOIN raw.products p USING (product_id)`,
    );
    // 2,377 households in the sample; offsets like -0500 are honoured. One line's product (1093587) is
    // absent from products.csv: a defect of the data, kept (the line is valid) with empty product columns.
    expect(row).toEqual({ households: 2377, first_day: '2017-01-01', without_product: 1 });
  });

  it('telco: blank TotalCharges of the 11 unbilled subscribers are missing values, not rejects', async () => {
    const { dir, wh } = await packProject('telco');
    const r = await ingest(dir);
    expect([r.sources[0]!.rowsLoaded, r.sources[0]!.rowsRejected]).toEqual([7043, 0]);
    const [row] = await query(
      wh,
      `SELECT count(*) FILTER (WHERE total_charges IS NULL)::INTEGER AS unbilled,
              count(*) FILTER (WHERE total_charges IS NULL AND tenure = 0)::INTEGER AS unbilled_new,
              count(*) FILTER (WHERE churn = 'Yes')::INTEGER AS churned
       FROM main.subscribers`,
    );
    expect(row).toEqual({ unbilled: 11, unbilled_new: 11, churned: 1869 });
  });

  it('bank: BankChurners without the two leaking Naive_Bayes columns', async () => {
    const { dir, wh } = await packProject('bank');
    const r = await ingest(dir);
    expect([r.sources[0]!.rowsLoaded, r.sources[0]!.rowsRejected]).toEqual([10127, 0]);
    const cols = await query(
      wh,
      `SELECT column_name AS c FROM information_schema.columns WHERE table_name = 'clients'`,
    );
    const names = cols.map((c) => String(c.c));
    expect(names.some((n) => n.includes('naive_bayes'))).toBe(false);
    expect(names).toContain('customer_age');
    const [row] = await query(
      wh,
      `SELECT count(*) FILTER (WHERE attrition_flag = 'Attrited Customer')::INTEGER AS n FROM main.clients`,
    );
    expect(row).toEqual({ n: 1627 });
  });
});
