/**
 * Writes the world's data files through an in-memory DuckDB.
 *
 * Transactions never exist as rows of JS objects. A table function hands DuckDB one month's rows
 * (already in (ts, customer) order) as 2,048-row chunks of typed arrays, and a single
 * `COPY (SELECT ... FROM tagverse_month_rows_<lane>())` turns them into strings, instants and ids while
 * writing Parquet or CSV. Low-cardinality strings (merchant id, MCC, currency, channel, city,
 * country) travel as ENUM codes, so DuckDB neither formats nor hashes them per row; the written
 * columns are plain strings. The scan is single-threaded and the query is projections only, so rows
 * keep their order and the files are byte-identical from run to run.
 */
import { createRequire } from 'node:module';
import {
  type DuckDBConnection,
  DuckDBInstance,
  DuckDBTableFunction,
  type DuckDBType,
  ENUM,
  INTEGER,
  SMALLINT,
} from '@duckdb/node-api';
import { CATEGORIES, CUISINES } from './categories.js';
import { type MonthBucket, STRIDE } from './event-buffer.js';
import { CITIES, CURRENCIES } from './geography.js';
import { MCC_CODES } from './mcc-codes.js';
import { offsetMinutesAt } from './timezones.js';
import { customerId, merchantId } from './truth.js';
import { AGE_BANDS, CARD_PRODUCTS, GENDERS } from './personas.js';
import type { Profiles } from './simulate.js';
import { dayIso } from './calendar.js';
import type { World } from './world.js';

export type OutputFormat = 'parquet' | 'csv';


const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;

/**
 * The three C-API calls that fill a table function's output vectors straight from typed arrays.
 * The public vector wrappers rebuild an ENUM's full dictionary on every chunk (slow for thousands
 * of merchant ids), so we go one level down, to the bindings that @duckdb/node-api itself uses,
 * resolved from its own location so we use exactly its copy.
 */
interface RawBindings {
  data_chunk_set_size(chunk: unknown, size: number): void;
  data_chunk_get_vector(chunk: unknown, column: number): unknown;
  copy_data_to_vector(
    vector: unknown,
    targetByteOffset: number,
    source: ArrayBufferLike,
    sourceByteOffset: number,
    byteCount: number,
  ): void;
}

function rawBindings(): RawBindings {
  const fromApi = createRequire(createRequire(import.meta.url).resolve('@duckdb/node-api'));
  const b = fromApi('@duckdb/node-bindings') as Partial<RawBindings>;
  if (
    typeof b.data_chunk_set_size !== 'function' ||
    typeof b.data_chunk_get_vector !== 'function' ||
    typeof b.copy_data_to_vector !== 'function'
  ) {
    throw new Error('@duckdb/node-bindings lacks the data-chunk functions the world writer needs');
  }
  return b as RawBindings;
}

type Column = Int32Array | Int16Array | Uint8Array | Uint16Array | Uint32Array;

/** Typed array matching DuckDB's physical type for an ENUM of n values. */
function enumArray(values: number): Column {
  return values < 256 ? new Uint8Array(2048) : values < 65536 ? new Uint16Array(2048) : new Uint32Array(2048);
}

/** One month's rows in output order, read by the table function. */
interface MonthSource {
  readonly bucket: MonthBucket;
  readonly perm: Int32Array;
  readonly firstNumber: number;
  pos: number;
}

export interface MonthJob {
  readonly bucket: MonthBucket;
  /** t of the month's first second. */
  readonly monthStartT: number;
  /** Sequence number of the month's first txn_id. */
  readonly firstNumber: number;
  readonly path: string;
}

/** A connection with its own month-rows table function: months on different lanes are written concurrently. */
interface Lane {
  readonly con: DuckDBConnection;
  /** Table functions live in the database catalog, so each lane's has its own name. */
  readonly fn: string;
  source: MonthSource | undefined;
}

/**
 * Up to this many customers, customer ids travel as an ENUM too. Parquet then stores the whole id
 * dictionary in every row group, which is fine while it is no bigger than a row group's own ids.
 */
const CUSTOMER_ENUM_MAX = 200_000;

export class WorldWriter {
  private readonly lanes: Lane[] = [];
  private readonly customerEnum: boolean;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly con: DuckDBConnection,
    private readonly world: World,
    private readonly format: OutputFormat,
  ) {
    this.customerEnum = world.customers <= CUSTOMER_ENUM_MAX;
  }

  /** `lanes`: how many months are written at once (each is one single-threaded DuckDB pipeline). */
  static async open(world: World, format: OutputFormat, lanes = 2): Promise<WorldWriter> {
    const instance = await DuckDBInstance.create(':memory:', { threads: String(Math.max(2, lanes)) });
    const con = await instance.connect();
    const w = new WorldWriter(instance, con, world, format);
    for (let i = 0; i < lanes; i++) {
      const lane: Lane = { con: await instance.connect(), fn: `tagverse_month_rows_${i}`, source: undefined };
      w.registerMonthRows(lane);
      w.lanes.push(lane);
    }
    return w;
  }

  private registerMonthRows(lane: Lane): void {
    const { catalog, cal } = this.world;
    const bindings = rawBindings();
    const countries = [...new Set(CITIES.map((c) => c.country))];
    const countryOfCity = Uint8Array.from(CITIES.map((c) => countries.indexOf(c.country)));
    const zones = CITIES.map((c) => c.zone);
    const fixedOffset = Int16Array.from(CITIES.map((c) => (c.zone.dst === 'none' ? c.zone.stdMinutes : -32768)));
    const csv = this.format === 'csv';
    const merchantIds = Array.from({ length: catalog.count }, (_, m) => merchantId(m));
    const customerIds = this.customerEnum ? Array.from({ length: this.world.customers }, (_, c) => customerId(c)) : [];
    const columns: [string, DuckDBType, Column][] = [
      ['n', INTEGER, new Int32Array(2048)],
      this.customerEnum
        ? ['cust', ENUM(customerIds), enumArray(customerIds.length)]
        : ['cust', INTEGER, new Int32Array(2048)],
      ['merchant_id', ENUM(merchantIds), enumArray(merchantIds.length)],
      ['mcc', ENUM(MCC_CODES.map((m) => m.mcc)), enumArray(MCC_CODES.length)],
      ['t', INTEGER, new Int32Array(2048)],
      ['amount', INTEGER, new Int32Array(2048)],
      ['orig', INTEGER, new Int32Array(2048)],
      ['currency', ENUM(CURRENCIES.map((c) => c.code)), enumArray(CURRENCIES.length)],
      ['channel', ENUM(['offline', 'online']), enumArray(2)],
      ['city', ENUM(CITIES.map((c) => c.name)), enumArray(CITIES.length)],
      ['country', ENUM(countries), enumArray(countries.length)],
      ['off', SMALLINT, new Int16Array(2048)],
    ];
    const [n, cust, merch, mcc, t, amount, orig, cur, channel, city, country, off] = columns.map((c) => c[2]) as [
      Column,
      Column,
      Column,
      Column,
      Column,
      Column,
      Column,
      Column,
      Column,
      Column,
      Column,
      Column,
    ];
    const fn = DuckDBTableFunction.create({
      name: lane.fn,
      bindFunction: (bind) => {
        for (const [name, type] of columns) bind.addResultColumn(name, type);
      },
      // One thread: the scan hands out rows in order, and order is part of the output contract.
      initFunction: (init) => init.setMaxThreads(1),
      mainFunction: (_info, out) => {
        const src = lane.source;
        const rows = src ? Math.min(2048, src.perm.length - src.pos) : 0;
        bindings.data_chunk_set_size(out.chunk, rows);
        if (!src || rows === 0) return;
        const chunks = src.bucket.chunks;
        for (let i = 0; i < rows; i++) {
          const row = src.perm[src.pos + i] as number;
          const chunk = chunks[row >>> 16] as Int32Array;
          const o = (row & 0xffff) * STRIDE;
          const m = chunk[o + 1] as number;
          const time = chunk[o + 2] as number;
          const c = catalog.city[m] as number;
          n[i] = src.firstNumber + src.pos + i;
          cust[i] = chunk[o] as number;
          merch[i] = m;
          mcc[i] = catalog.mcc[m] as number;
          t[i] = time;
          amount[i] = chunk[o + 3] as number;
          orig[i] = chunk[o + 4] as number;
          cur[i] = catalog.currency[m] as number;
          channel[i] = catalog.online[m] as number;
          city[i] = c;
          country[i] = countryOfCity[c] as number;
          // Only CSV shows local offsets; most cities have a fixed one.
          if (csv) {
            const fixed = fixedOffset[c] as number;
            off[i] = fixed !== -32768 ? fixed : offsetMinutesAt(zones[c]!, cal.startUtc + time);
          }
        }
        for (let k = 0; k < columns.length; k++) {
          const a = columns[k]![2];
          bindings.copy_data_to_vector(
            bindings.data_chunk_get_vector(out.chunk, k),
            0,
            a.buffer,
            a.byteOffset,
            rows * a.BYTES_PER_ELEMENT,
          );
        }
        src.pos += rows;
      },
    });
    lane.con.registerTableFunction(fn);
  }

  private copyOptions(): string {
    return this.format === 'parquet' ? '(FORMAT parquet)' : '(FORMAT csv, HEADER, FORCE_QUOTE (mcc))';
  }

  /**
   * Writes the months, as many at once as there are lanes; `done` runs after each file (in
   * completion order). Each file's bytes do not depend on which lane wrote it or when.
   */
  async writeMonths(jobs: readonly MonthJob[], done: (job: MonthJob) => void): Promise<void> {
    let next = 0;
    const run = async (lane: Lane) => {
      while (next < jobs.length) {
        const job = jobs[next++] as MonthJob;
        await this.writeMonth(lane, job);
        done(job);
      }
    };
    await Promise.all(this.lanes.map(run));
  }

  private async writeMonth(lane: Lane, job: MonthJob): Promise<void> {
    const { bucket, monthStartT, firstNumber, path } = job;
    const perm = bucket.order(monthStartT);
    lane.source = { bucket, perm, firstNumber, pos: 0 };
    const start = this.world.cal.startUtc;
    const divisors = `[${CURRENCIES.map((c) => `${10 ** c.decimals}.0`).join(', ')}]`;
    // Parquet stores the instant (UTC); CSV shows the merchant's local time and offset.
    const ts =
      this.format === 'parquet'
        ? `to_timestamp(${start} + t) AS ts`
        : `strftime(make_timestamp((${start} + t + off * 60)::BIGINT * 1000000), '%Y-%m-%d %H:%M:%S') ||
           printf('%s%02d:%02d', CASE WHEN off < 0 THEN '-' ELSE '+' END, abs(off) // 60, abs(off) % 60) AS ts`;
    try {
      await lane.con.run(`COPY (
        SELECT
          printf('T%010d', n) AS txn_id,
          ${this.customerEnum ? 'cust' : "printf('C%07d', cust + 1)"} AS customer_id,
          merchant_id,
          mcc,
          amount::DOUBLE AS amount,
          currency,
          orig / ${divisors}[enum_code(currency) + 1] AS original_amount,
          ${ts},
          channel,
          city,
          country
        FROM ${lane.fn}()
      ) TO ${sqlString(path)} ${this.copyOptions()}`);
    } finally {
      lane.source = undefined;
    }
  }

  async writeMerchants(path: string): Promise<void> {
    const c = this.world.catalog;
    await this.con.run(`CREATE OR REPLACE TABLE merchants (
      merchant_id VARCHAR, merchant_name VARCHAR, mcc VARCHAR, category VARCHAR, cuisine VARCHAR,
      city VARCHAR, country VARCHAR, lat DOUBLE, lon DOUBLE)`);
    const app = await this.con.createAppender('merchants');
    for (let m = 0; m < c.count; m++) {
      const city = CITIES[c.city[m] as number]!;
      const cuisine = c.cuisine[m] as number;
      app.appendVarchar(merchantId(m));
      app.appendVarchar(c.name[m] as string);
      app.appendVarchar(MCC_CODES[c.mcc[m] as number]!.mcc);
      app.appendVarchar(CATEGORIES[c.category[m] as number]!.key);
      if (cuisine >= 0) app.appendVarchar(CUISINES[cuisine] as string);
      else app.appendNull();
      app.appendVarchar(city.name);
      app.appendVarchar(city.country);
      app.appendDouble(c.lat[m] as number);
      app.appendDouble(c.lon[m] as number);
      app.endRow();
    }
    app.closeSync();
    await this.con.run(`COPY (SELECT * FROM merchants ORDER BY merchant_id) TO ${sqlString(path)} ${this.copyOptions()}`);
  }

  /** The customers profile file, from the profile columns of each simulated range (in customer order). */
  async writeCustomers(ranges: readonly Profiles[], path: string): Promise<void> {
    await this.con.run(`CREATE OR REPLACE TABLE customers (
      customer_id VARCHAR, age_band VARCHAR, gender VARCHAR, region VARCHAR, card_product VARCHAR, signup_day INTEGER)`);
    const app = await this.con.createAppender('customers');
    let index = 0;
    for (const p of ranges) {
      for (let k = 0; k < p.ageBand.length; k++, index++) {
        app.appendVarchar(customerId(index));
        app.appendVarchar(AGE_BANDS[p.ageBand[k] as number] as string);
        app.appendVarchar(GENDERS[p.gender[k] as number] as string);
        app.appendVarchar(CITIES[p.homeCity[k] as number]!.name);
        app.appendVarchar(CARD_PRODUCTS[p.product[k] as number] as string);
        app.appendInteger(p.signupDay[k] as number);
        app.endRow();
      }
    }
    app.closeSync();
    const options = this.format === 'parquet' ? '(FORMAT parquet)' : '(FORMAT csv, HEADER)';
    const startDate = dayIso(this.world.cal, 0);
    await this.con.run(`COPY (
      SELECT customer_id, age_band, gender, region, card_product, DATE '${startDate}' + signup_day AS signup_date
      FROM customers ORDER BY customer_id
    ) TO ${sqlString(path)} ${options}`);
    await this.con.run('DROP TABLE customers');
  }

  /** All MCCs of the `mcc` package; always CSV, the code quoted so it reads back as text. */
  async writeMccCodes(path: string): Promise<void> {
    await this.con.run('CREATE OR REPLACE TABLE mcc_codes (mcc VARCHAR, mcc_description VARCHAR)');
    const app = await this.con.createAppender('mcc_codes');
    for (const m of MCC_CODES) {
      app.appendVarchar(m.mcc);
      app.appendVarchar(m.description);
      app.endRow();
    }
    app.closeSync();
    await this.con.run(
      `COPY (SELECT * FROM mcc_codes ORDER BY mcc) TO ${sqlString(path)} (FORMAT csv, HEADER, FORCE_QUOTE (mcc))`,
    );
  }

  close(): void {
    for (const lane of this.lanes) lane.con.closeSync();
    this.con.closeSync();
    this.instance.closeSync();
  }
}
