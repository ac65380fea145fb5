/**
 * The generated world as a contract: files, columns, types, ids, references, time bounds, and
 * planted truth that is visible in the transactions (and noise that stays noise).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import mcc from 'mcc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TempWorld, tempWorld, WorldDb } from './helpers.js';

const CUSTOMERS = 1500;
let world: TempWorld;
let db: WorldDb;

beforeAll(async () => {
  world = await tempWorld({ customers: CUSTOMERS, months: 12, seed: 7 });
  db = await WorldDb.open(world.dir);
});

afterAll(() => {
  db?.close();
  world?.remove();
});

const n = async (sql: string) => Number((await db.one(sql)).n);

describe('files and summary', () => {
  it('writes the documented layout and reports it', () => {
    const months = Array.from(
      { length: 12 },
      (_, i) => `data/transactions/2025-${String(i + 1).padStart(2, '0')}.parquet`,
    );
    expect(world.summary.files).toEqual(
      [
        'tagverse.yaml',
        'data/customers.parquet',
        'data/merchants.parquet',
        'data/mcc_codes.csv',
        ...months,
        'truth/customers.csv',
        'truth/preferences.csv',
        'truth/cycles.csv',
        'truth/life_events.csv',
        ...readdirSync(fileURLToPath(new URL('../../packs/card/tags', import.meta.url))).map(
          (f) => `tags/${f}`,
        ),
      ].sort(),
    );
    expect(world.summary.customers).toBe(CUSTOMERS);
    expect(world.summary.transactions).toBeGreaterThan(CUSTOMERS * 100);
    expect(world.summary.transactions).toBeLessThan(CUSTOMERS * 250);
  });

  it('summary counts match the files', async () => {
    expect(await n('SELECT count(*) AS n FROM tx')).toBe(world.summary.transactions);
    expect(await n('SELECT count(*) AS n FROM merchants')).toBe(world.summary.merchants);
    expect(await n('SELECT count(*) AS n FROM truth_preferences')).toBe(world.summary.truth.preferences);
    expect(await n('SELECT count(*) AS n FROM truth_cycles')).toBe(world.summary.truth.cycles);
    expect(await n('SELECT count(*) AS n FROM truth_life_events')).toBe(world.summary.truth.lifeEvents);
    expect(
      await n("SELECT count(*) AS n FROM truth_customers WHERE churn_date IS NOT NULL AND churn_date <> ''"),
    ).toBe(world.summary.truth.churned);
  });

  it('copies the card pack as tagverse.yaml (pointing editors at the schema) with its tag library', () => {
    const written = readFileSync(path.join(world.dir, 'tagverse.yaml'), 'utf8');
    const pack = readFileSync(
      fileURLToPath(new URL('../../packs/card/tagverse.yaml', import.meta.url)),
      'utf8',
    );
    const schema = fileURLToPath(new URL('../../schema/tagverse.schema.json', import.meta.url));
    expect(written).toBe(
      pack.replace(/^# yaml-language-server: \$schema=.*$/m, `# yaml-language-server: $schema=${schema}`),
    );
    const packTags = readdirSync(fileURLToPath(new URL('../../packs/card/tags', import.meta.url))).sort();
    expect(readdirSync(path.join(world.dir, 'tags')).sort()).toEqual(packTags);
  });
});

describe('schema', () => {
  it('transactions have exactly the contract columns and types', async () => {
    expect(await db.schema('tx')).toEqual({
      txn_id: 'VARCHAR',
      customer_id: 'VARCHAR',
      merchant_id: 'VARCHAR',
      mcc: 'VARCHAR',
      amount: 'DOUBLE',
      currency: 'VARCHAR',
      original_amount: 'DOUBLE',
      ts: 'TIMESTAMP WITH TIME ZONE',
      channel: 'VARCHAR',
      city: 'VARCHAR',
      country: 'VARCHAR',
    });
  });

  it('customers and merchants have exactly the contract columns and types', async () => {
    expect(await db.schema('customers')).toEqual({
      customer_id: 'VARCHAR',
      age_band: 'VARCHAR',
      gender: 'VARCHAR',
      region: 'VARCHAR',
      card_product: 'VARCHAR',
      signup_date: 'DATE',
    });
    expect(await db.schema('merchants')).toEqual({
      merchant_id: 'VARCHAR',
      merchant_name: 'VARCHAR',
      mcc: 'VARCHAR',
      category: 'VARCHAR',
      cuisine: 'VARCHAR',
      city: 'VARCHAR',
      country: 'VARCHAR',
      lat: 'DOUBLE',
      lon: 'DOUBLE',
    });
    expect(await db.schema('mcc_codes')).toEqual({ mcc: 'VARCHAR', mcc_description: 'VARCHAR' });
  });

  it('ids are unique and well formed', async () => {
    const r = await db.one(`SELECT count(*) AS rows, count(DISTINCT txn_id) AS ids,
      count(*) FILTER (WHERE NOT regexp_full_match(txn_id, 'T\\d{10}')) AS bad_txn,
      count(*) FILTER (WHERE NOT regexp_full_match(customer_id, 'C\\d{7}')) AS bad_customer,
      count(*) FILTER (WHERE NOT regexp_full_match(merchant_id, 'M\\d{6}')) AS bad_merchant FROM tx`);
    expect(r.ids).toBe(r.rows);
    expect([r.bad_txn, r.bad_customer, r.bad_merchant]).toEqual([0, 0, 0]);
    const c = await db.one(
      'SELECT count(*) AS rows, count(DISTINCT customer_id) AS ids, min(customer_id) AS lo, max(customer_id) AS hi FROM customers',
    );
    expect(c).toEqual({
      rows: CUSTOMERS,
      ids: CUSTOMERS,
      lo: 'C0000001',
      hi: `C${String(CUSTOMERS).padStart(7, '0')}`,
    });
    const m = await db.one('SELECT count(*) AS rows, count(DISTINCT merchant_id) AS ids FROM merchants');
    expect(m.ids).toBe(m.rows);
  });

  it('txn_ids are assigned in time order, and files are ordered by ts then txn_id', async () => {
    const r = await db.one(`SELECT count(*) AS n FROM (
        SELECT ts, txn_id, lag(ts) OVER w AS pts, lag(txn_id) OVER w AS pid
        FROM read_parquet('${world.dir}/data/transactions/*.parquet', file_row_number = true, filename = true)
        WINDOW w AS (PARTITION BY filename ORDER BY file_row_number))
      WHERE ts < pts OR (ts = pts AND txn_id <= pid)`);
    expect(r.n).toBe(0);
    const firstAndLast = await db.rows(`SELECT min(txn_id) AS lo, max(txn_id) AS hi FROM tx`);
    expect(firstAndLast[0]).toEqual({
      lo: 'T0000000001',
      hi: `T${String(world.summary.transactions).padStart(10, '0')}`,
    });
    // Ids continue across months: every txn of a later month has a larger id.
    const overlap = await n(`SELECT count(*) AS n FROM (
        SELECT filename, min(txn_id) lo, max(txn_id) hi FROM tx GROUP BY filename) a
      JOIN (SELECT filename, min(txn_id) lo, max(txn_id) hi FROM tx GROUP BY filename) b
        ON a.filename < b.filename AND a.hi >= b.lo`);
    expect(overlap).toBe(0);
  });

  it('every MCC is a real code of the mcc package, and lookups are complete', async () => {
    const known = new Set(mcc.all.map((e) => e.mcc));
    const used = await db.rows('SELECT DISTINCT mcc FROM merchants UNION SELECT DISTINCT mcc FROM tx');
    for (const r of used) expect(known.has(String(r.mcc))).toBe(true);
    expect(await n('SELECT count(*) AS n FROM mcc_codes')).toBe(known.size);
    expect(
      await n(
        "SELECT count(*) AS n FROM mcc_codes WHERE mcc = '0742' AND mcc_description = 'Veterinary Services'",
      ),
    ).toBe(1);
    // A transaction's MCC is its merchant's.
    expect(
      await n('SELECT count(*) AS n FROM tx JOIN merchants m USING (merchant_id) WHERE tx.mcc <> m.mcc'),
    ).toBe(0);
  });

  it('every transaction references an existing customer and merchant', async () => {
    expect(await n('SELECT count(*) AS n FROM tx ANTI JOIN customers USING (customer_id)')).toBe(0);
    expect(await n('SELECT count(*) AS n FROM tx ANTI JOIN merchants USING (merchant_id)')).toBe(0);
  });

  it('values stay in their documented domains', async () => {
    const r = await db.one(`SELECT
      count(*) FILTER (WHERE channel NOT IN ('online', 'offline')) AS bad_channel,
      count(*) FILTER (WHERE amount <= 0 OR amount <> round(amount)) AS bad_amount,
      count(*) FILTER (WHERE currency = 'KRW' AND original_amount <> amount) AS bad_krw,
      count(*) FILTER (WHERE country = 'KR' AND currency <> 'KRW' AND channel = 'offline') AS foreign_currency_at_home,
      count(DISTINCT currency) AS currencies
      FROM tx`);
    expect([r.bad_channel, r.bad_amount, r.bad_krw, r.foreign_currency_at_home]).toEqual([0, 0, 0, 0]);
    expect(r.currencies).toBeGreaterThan(5);
    const c = await db.one(`SELECT
      count(*) FILTER (WHERE age_band NOT IN ('20s','30s','40s','50s','60s','70s')) AS bad_age,
      count(*) FILTER (WHERE gender NOT IN ('F','M')) AS bad_gender,
      count(*) FILTER (WHERE card_product NOT IN ('Basic','Gold','Platinum','Black')) AS bad_product,
      count(DISTINCT region) AS regions FROM customers`);
    expect([c.bad_age, c.bad_gender, c.bad_product]).toEqual([0, 0, 0]);
    expect(c.regions).toBeGreaterThan(8);
  });

  it('places airports at their real coordinates and cities near their real centres', async () => {
    const icn = await db.one(
      "SELECT lat, lon FROM merchants WHERE merchant_name = 'Incheon International Airport'",
    );
    expect(Math.abs(Number(icn.lat) - 37.4602)).toBeLessThan(0.01);
    expect(Math.abs(Number(icn.lon) - 126.4407)).toBeLessThan(0.01);
    const cju = await db.one(
      "SELECT lat, lon FROM merchants WHERE merchant_name = 'Jeju International Airport'",
    );
    expect(Math.abs(Number(cju.lat) - 33.5104)).toBeLessThan(0.01);
    const seoul = await db.one(
      "SELECT avg(lat) AS lat, avg(lon) AS lon FROM merchants WHERE city = 'Seoul' AND category = 'convenience'",
    );
    expect(Math.abs(Number(seoul.lat) - 37.55)).toBeLessThan(0.1);
    expect(Math.abs(Number(seoul.lon) - 126.99)).toBeLessThan(0.15);
  });
});

describe('time bounds', () => {
  it('all transactions fall in [start, start + months) in Korean time, in the file of their month', async () => {
    const r = await db.one(`SELECT
      count(*) FILTER (WHERE ts < TIMESTAMPTZ '2025-01-01 00:00:00+09' OR ts >= TIMESTAMPTZ '2026-01-01 00:00:00+09') AS outside,
      count(*) FILTER (WHERE strftime(to_timestamp(epoch(ts) + 9 * 3600)::TIMESTAMP, '%Y-%m') <> regexp_extract(filename, '(\\d{4}-\\d{2})\\.parquet', 1)) AS wrong_file
      FROM tx`);
    expect(r).toEqual({ outside: 0, wrong_file: 0 });
  });

  it('no transaction before signup, none on or after the churn date', async () => {
    const r = await db.one(`SELECT
      count(*) FILTER (WHERE to_timestamp(epoch(t.ts) + 9 * 3600)::DATE < c.signup_date) AS before_signup,
      count(*) FILTER (WHERE tc.churn_date <> '' AND to_timestamp(epoch(t.ts) + 9 * 3600)::DATE >= tc.churn_date::DATE) AS after_churn
      FROM tx t JOIN customers c USING (customer_id) JOIN truth_customers tc USING (customer_id)`);
    expect(r).toEqual({ before_signup: 0, after_churn: 0 });
  });

  it('most customers signed up before the window, some during it', async () => {
    const r = await db.one(
      "SELECT count(*) FILTER (WHERE signup_date < DATE '2025-01-01') AS before, count(*) FILTER (WHERE signup_date >= DATE '2025-01-01') AS during FROM customers",
    );
    expect(Number(r.before)).toBeGreaterThan(CUSTOMERS * 0.8);
    expect(Number(r.during)).toBeGreaterThan(CUSTOMERS * 0.05);
  });

  it('churners fade out before their churn date', async () => {
    const r =
      await db.one(`WITH c AS (SELECT customer_id, churn_date::DATE AS d FROM truth_customers WHERE churn_date <> ''),
      t AS (SELECT customer_id, to_timestamp(epoch(ts) + 9 * 3600)::DATE AS day FROM tx)
      SELECT count(*) FILTER (WHERE day >= d - 30) / 30.0 AS last_month,
             count(*) FILTER (WHERE day >= d - 150 AND day < d - 120) / 30.0 AS earlier
      FROM t JOIN c USING (customer_id)`);
    expect(Number(r.last_month)).toBeLessThan(Number(r.earlier) * 0.75);
  });
});

describe('planted truth is visible in the transactions', () => {
  it('purchase cycles repeat at their period at one merchant', async () => {
    const rows = await db.rows(`WITH c AS (
        SELECT customer_id, item, merchant_id, period_days::INTEGER AS period, active_from::DATE AS f, active_to::DATE AS t
        FROM truth_cycles),
      p AS (SELECT c.customer_id, c.item, c.period, c.merchant_id, c.f, epoch(tx.ts) / 86400 AS day
        FROM c JOIN tx ON tx.customer_id = c.customer_id AND tx.merchant_id = c.merchant_id
        WHERE to_timestamp(epoch(tx.ts) + 9 * 3600)::DATE BETWEEN c.f AND c.t),
      g AS (SELECT customer_id, item, merchant_id, f, period, day - lag(day) OVER (PARTITION BY customer_id, item, merchant_id, f ORDER BY day) AS gap FROM p)
      SELECT item, period, median(gap) AS gap, count(*) AS k FROM g WHERE gap IS NOT NULL
      GROUP BY customer_id, item, merchant_id, f, period HAVING count(*) >= 3`);
    expect(rows.length).toBeGreaterThan(300);
    const close = rows.filter((r) => Math.abs(Number(r.gap) - Number(r.period)) <= 3).length;
    expect(close / rows.length).toBeGreaterThan(0.9);
    const items = new Set(rows.map((r) => r.item));
    for (const item of ['phone_bill', 'fuel', 'pet_food', 'streaming']) expect(items.has(item)).toBe(true);
  });

  it("a foodie's favourite cuisine is their top cuisine by restaurant spend", async () => {
    const rows =
      await db.rows(`WITH f AS (SELECT customer_id, value AS cuisine FROM truth_preferences WHERE preference = 'foodie'),
      s AS (SELECT customer_id, m.cuisine, sum(amount) AS spend FROM tx JOIN merchants m USING (merchant_id)
            WHERE m.category = 'restaurant' GROUP BY ALL),
      top AS (SELECT customer_id, arg_max(cuisine, spend) AS cuisine, sum(spend) AS total FROM s GROUP BY customer_id)
      SELECT f.customer_id, f.cuisine = top.cuisine AS hit FROM f JOIN top USING (customer_id)`);
    expect(rows.length).toBeGreaterThan(80);
    expect(rows.filter((r) => r.hit).length / rows.length).toBeGreaterThan(0.8);
    // And foodies eat their favourite far more often than everyone else does.
    const lift =
      await db.one(`WITH f AS (SELECT DISTINCT value AS cuisine FROM truth_preferences WHERE preference = 'foodie' AND value = 'japanese'),
      j AS (SELECT tx.customer_id, (m.cuisine = 'japanese')::INT AS jp FROM tx JOIN merchants m USING (merchant_id) WHERE m.category = 'restaurant' AND m.country = 'KR')
      SELECT avg(jp) FILTER (WHERE customer_id IN (SELECT customer_id FROM truth_preferences WHERE value = 'japanese')) AS fans,
             avg(jp) FILTER (WHERE customer_id NOT IN (SELECT customer_id FROM truth_preferences WHERE preference = 'foodie')) AS others
      FROM j`);
    expect(Number(lift.fans)).toBeGreaterThan(Number(lift.others) * 3);
  });

  it('new parents start buying baby goods at the birth, not before', async () => {
    const r =
      await db.one(`WITH e AS (SELECT customer_id, date::DATE AS d FROM truth_life_events WHERE event = 'new_baby'),
      b AS (SELECT tx.customer_id, to_timestamp(epoch(ts) + 9 * 3600)::DATE AS day FROM tx JOIN merchants m USING (merchant_id) WHERE m.category = 'baby')
      SELECT count(DISTINCT e.customer_id) AS parents,
        count(DISTINCT b.customer_id) FILTER (WHERE b.day >= e.d) AS after,
        count(DISTINCT b.customer_id) FILTER (WHERE b.day < e.d) AS before
      FROM e LEFT JOIN b USING (customer_id)`);
    expect(Number(r.parents)).toBeGreaterThan(25);
    expect(Number(r.after) / Number(r.parents)).toBeGreaterThan(0.9);
    expect(Number(r.before) / Number(r.parents)).toBeLessThan(0.05);
  });

  it("movers' offline spending moves to the new city", async () => {
    const rows =
      await db.rows(`WITH e AS (SELECT customer_id, date::DATE AS d, split_part(details, '->', 1) AS old_city, split_part(details, '->', 2) AS new_city
        FROM truth_life_events WHERE event = 'moved_city'),
      t AS (SELECT customer_id, city, to_timestamp(epoch(ts) + 9 * 3600)::DATE AS day FROM tx WHERE channel = 'offline')
      SELECT e.customer_id,
        mode(t.city) FILTER (WHERE t.day < e.d) AS before_city, any_value(old_city) AS old_city,
        mode(t.city) FILTER (WHERE t.day > e.d) AS after_city, any_value(new_city) AS new_city
      FROM e JOIN t USING (customer_id) GROUP BY e.customer_id`);
    expect(rows.length).toBeGreaterThan(40);
    const moved = rows.filter((r) => r.after_city === r.new_city).length;
    const stayedBefore = rows.filter((r) => r.before_city === r.old_city).length;
    expect(moved / rows.length).toBeGreaterThan(0.9);
    expect(stayedBefore / rows.length).toBeGreaterThan(0.9);
  });

  it('new car owners pay a dealer on the day, then fuel, parking and insurance; never before', async () => {
    const r =
      await db.one(`WITH e AS (SELECT customer_id, date::DATE AS d FROM truth_life_events WHERE event = 'new_car'),
      t AS (SELECT tx.customer_id, m.category, to_timestamp(epoch(ts) + 9 * 3600)::DATE AS day FROM tx JOIN merchants m USING (merchant_id))
      SELECT count(DISTINCT e.customer_id) AS buyers,
        count(DISTINCT e.customer_id) FILTER (WHERE category = 'car_dealer' AND day = d) AS dealer_on_day,
        count(DISTINCT e.customer_id) FILTER (WHERE category = 'fuel' AND day > d) AS fuel_after,
        count(DISTINCT e.customer_id) FILTER (WHERE category = 'auto_insurance' AND day >= d) AS insured,
        count(DISTINCT e.customer_id) FILTER (WHERE category IN ('fuel', 'parking', 'tolls', 'car_wash') AND day < d) AS car_spend_before
      FROM e JOIN t USING (customer_id)`);
    expect(Number(r.buyers)).toBeGreaterThan(25);
    expect(Number(r.dealer_on_day) / Number(r.buyers)).toBeGreaterThan(0.95);
    expect(Number(r.fuel_after) / Number(r.buyers)).toBeGreaterThan(0.9);
    expect(Number(r.insured) / Number(r.buyers)).toBeGreaterThan(0.95);
    expect(Number(r.car_spend_before)).toBe(0);
  });

  it('retirees stop tapping transit in the weekday commute hours', async () => {
    const r =
      await db.one(`WITH e AS (SELECT customer_id, date::DATE AS d FROM truth_life_events WHERE event = 'retirement'),
      t AS (SELECT tx.customer_id, to_timestamp(epoch(ts) + 9 * 3600)::TIMESTAMP AS local FROM tx JOIN merchants m USING (merchant_id)
            WHERE m.category = 'transit')
      SELECT count(*) FILTER (WHERE local::DATE < d AND hour(local) BETWEEN 6 AND 9 AND isodow(local) <= 5) / sum(DISTINCT (d - DATE '2025-01-01')) AS before_rate,
             count(*) FILTER (WHERE local::DATE > d AND hour(local) BETWEEN 6 AND 9 AND isodow(local) <= 5) / sum(DISTINCT (DATE '2026-01-01' - d)) AS after_rate,
             count(DISTINCT e.customer_id) AS retirees
      FROM e JOIN t USING (customer_id)`);
    expect(Number(r.retirees)).toBeGreaterThan(10);
    expect(Number(r.after_rate)).toBeLessThan(Number(r.before_rate) * 0.5);
  });

  it('golfers play far more golf than others; some non-golfers have a single round', async () => {
    const rows =
      await db.rows(`WITH g AS (SELECT customer_id FROM truth_preferences WHERE preference = 'golfer'),
      c AS (SELECT c.customer_id, count(tx.txn_id) FILTER (WHERE m.category = 'golf') AS golf
            FROM customers c LEFT JOIN tx USING (customer_id) LEFT JOIN merchants m USING (merchant_id) GROUP BY c.customer_id)
      SELECT c.customer_id IN (SELECT customer_id FROM g) AS golfer, avg(golf) AS mean,
             count(*) FILTER (WHERE golf = 1) AS single, count(*) FILTER (WHERE golf >= 4) AS regular, count(*) AS n
      FROM c GROUP BY ALL ORDER BY golfer`);
    const [others, golfers] = rows as [Record<string, unknown>, Record<string, unknown>];
    expect(golfers.golfer).toBe(true);
    expect(Number(golfers.mean)).toBeGreaterThan(Number(others.mean) * 20);
    expect(Number(golfers.regular) / Number(golfers.n)).toBeGreaterThan(0.8);
    expect(Number(others.single)).toBeGreaterThan(5);
    expect(Number(others.regular)).toBe(0);
  });

  it('frequent travellers pay abroad in foreign currency, at local time with DST', async () => {
    const r =
      await db.one(`WITH f AS (SELECT customer_id FROM truth_preferences WHERE preference = 'frequent_traveller')
      SELECT avg((country <> 'KR' AND channel = 'offline')::INT) FILTER (WHERE customer_id IN (SELECT customer_id FROM f)) AS travellers,
             avg((country <> 'KR' AND channel = 'offline')::INT) FILTER (WHERE customer_id NOT IN (SELECT customer_id FROM f)) AS others
      FROM tx`);
    expect(Number(r.travellers)).toBeGreaterThan(Number(r.others) * 3);
    // Paris restaurants: lunch and dinner in Paris time (UTC+1 winter, UTC+2 summer).
    const paris =
      await db.rows(`SELECT hour(ts AT TIME ZONE 'Europe/Paris') AS h, count(*)::INTEGER AS k FROM tx JOIN merchants m USING (merchant_id)
      WHERE tx.city = 'Paris' AND m.category = 'restaurant' GROUP BY 1`);
    const meals = paris
      .filter((x) => [11, 12, 13, 18, 19, 20].includes(Number(x.h)))
      .reduce((s, x) => s + Number(x.k), 0);
    const all = paris.reduce((s, x) => s + Number(x.k), 0);
    if (all > 20) expect(meals / all).toBeGreaterThan(0.6);
  });

  it('coffee lovers buy coffee on most working-day mornings', async () => {
    const r =
      await db.one(`WITH c AS (SELECT customer_id FROM truth_preferences WHERE preference = 'coffee_daily'),
      t AS (SELECT tx.customer_id, to_timestamp(epoch(ts) + 9 * 3600)::TIMESTAMP AS local FROM tx JOIN merchants m USING (merchant_id) WHERE m.category = 'cafe')
      SELECT count(*) FILTER (WHERE customer_id IN (SELECT customer_id FROM c) AND hour(local) BETWEEN 7 AND 9) / (SELECT count(*) FROM c) AS fans,
             count(*) FILTER (WHERE customer_id NOT IN (SELECT customer_id FROM c) AND hour(local) BETWEEN 7 AND 9) / (${CUSTOMERS} - (SELECT count(*) FROM c)) AS others
      FROM t`);
    expect(Number(r.fans)).toBeGreaterThan(100);
    expect(Number(r.fans)).toBeGreaterThan(Number(r.others) * 10);
  });
});
