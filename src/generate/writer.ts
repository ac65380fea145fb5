/**
 * Writes the world's data files through an in-memory DuckDB.
 *
 * Transactions never exist as rows of JS objects. A table function per "lane" hands DuckDB one
 * month's rows (already in (ts, customer) order) as 2,048-row chunks filled straight from typed
 * arrays, in DuckDB's own vector layouts: ids as inlined strings (≤ 12 bytes), low-cardinality
 * strings (merchant id, MCC, currency, channel, city, country) as ENUM codes, instants as
 * microseconds. `COPY (SELECT ... FROM <lane function>())` then only encodes Parquet or CSV. The
 * scan is single-threaded and the query is projections only, so rows keep their order and the files
 * are byte-identical from run to run; two lanes write two months at once.
 */
import { createRequire } from 'node:module';
import {
  DOUBLE,
  type DuckDBConnection,
  DuckDBInstance,
  DuckDBTableFunction,
  type DuckDBType,
  ENUM,
  INTEGER,
  SMALLINT,
  TIMESTAMPTZ,
  VARCHAR,
} from '@duckdb/node-api';
import { dayIso } from './calendar.js';
import { CATEGORIES, CUISINES } from './categories.js';
import { type MonthBucket, STRIDE } from './event-buffer.js';
import { CITIES, CURRENCIES } from './geography.js';
import { MCC_CODES } from './mcc-codes.js';
import { AGE_BANDS, CARD_PRODUCTS, GENDERS } from './personas.js';
import type { Profiles } from './simulate.js';
import { offsetMinutesAt } from './timezones.js';
import { customerId, merchantId } from './truth.js';
import type { World } from './world.js';

export type OutputFormat = 'parquet' | 'csv';

/** Zstandard: about 40% smaller than DuckDB's default Snappy here, at about the same writing cost. */
const PARQUET = '(FORMAT parquet, COMPRESSION zstd)';

const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;
const CHUNK_ROWS = 2048;

/**
 * The three C-API calls that fill a table function's output vectors from typed arrays. The public
 * vector wrappers rebuild an ENUM's whole dictionary on every chunk (slow for thousands of merchant
 * ids) and write strings one call at a time, so we use the bindings that @duckdb/node-api itself
 * uses, resolved from its own location so it is exactly its copy.
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

/** A vector's data for one chunk: element width follows the DuckDB physical type. */
type Column = Int32Array | Int16Array | Uint8Array | Uint16Array | Uint32Array | Float64Array;

/** Typed array matching DuckDB's physical type for an ENUM of `values` members. */
function enumColumn(values: number): Column {
  return values < 256
    ? new Uint8Array(CHUNK_ROWS)
    : values < 65536
      ? new Uint16Array(CHUNK_ROWS)
      : new Uint32Array(CHUNK_ROWS);
}

/**
 * Writes `text` (ASCII, at most 12 bytes) as an inlined DuckDB string (`duckdb_string_t`: a 32-bit
 * length, then the bytes, zero-padded to 16) into four int32 words.
 */
function inlineString(text: string, out: Int32Array, at: number): void {
  const bytes = new Uint8Array(16);
  new DataView(bytes.buffer).setUint32(0, text.length, true);
  for (let i = 0; i < text.length; i++) bytes[4 + i] = text.charCodeAt(i);
  out.set(new Int32Array(bytes.buffer), at);
}

/** ASCII digits of n, zero-padded to the array's length. */
function setDigits(digits: Uint8Array, n: number): void {
  let x = n;
  for (let d = digits.length - 1; d >= 0; d--) {
    const q = Math.floor(x / 10);
    digits[d] = 48 + x - q * 10;
    x = q;
  }
}

/** Adds one to ASCII digits in place. */
function incrementDigits(digits: Uint8Array): void {
  for (let d = digits.length - 1; d >= 0; d--) {
    if (digits[d] !== 57) {
      digits[d] = (digits[d] as number) + 1;
      return;
    }
    digits[d] = 48;
  }
}

/** One month's rows in output order, read by a lane's table function. */
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

/** A connection with its own table function: months on different lanes are written concurrently. */
interface Lane {
  readonly con: DuckDBConnection;
  /** Table functions live in the database catalog, so each lane's has its own name. */
  readonly fn: string;
  source: MonthSource | undefined;
}

/**
 * Up to this many customers, customer ids travel as an ENUM (no per-row dictionary hashing in the
 * Parquet writer). Parquet then stores the whole id list in every row group, which is fine while it
 * is no bigger than a row group's own ids; above it they are inlined strings.
 */
const CUSTOMER_ENUM_MAX = 200_000;

export class WorldWriter {
  private readonly lanes: Lane[] = [];

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly con: DuckDBConnection,
    private readonly world: World,
    private readonly format: OutputFormat,
  ) {}

  /** `lanes`: how many months are written at once (each is one single-threaded DuckDB pipeline). */
  static async open(world: World, format: OutputFormat, lanes = 2): Promise<WorldWriter> {
    // One DuckDB thread: each COPY then runs entirely on the thread that started it, so lanes run in
    // parallel without idle DuckDB workers spinning while a pipeline waits for the JS table function.
    const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
    const con = await instance.connect();
    const w = new WorldWriter(instance, con, world, format);
    const shared = w.sharedColumns();
    for (let i = 0; i < lanes; i++) {
      const lane: Lane = { con: await instance.connect(), fn: `tagverse_month_rows_${i}`, source: undefined };
      w.registerMonthRows(lane, shared);
      w.lanes.push(lane);
    }
    return w;
  }

  /** Column types and lookup tables, built once: ENUM types with thousands of members are not free. */
  private sharedColumns() {
    const { catalog } = this.world;
    const customers = this.world.customers;
    const countries = [...new Set(CITIES.map((c) => c.country))];
    const customerEnum = customers <= CUSTOMER_ENUM_MAX;
    // Inlined "C0000001" strings, four int32 words per customer, when ids are not an ENUM.
    const customerWords = new Int32Array(customerEnum ? 0 : customers * 4);
    if (!customerEnum) for (let c = 0; c < customers; c++) inlineString(customerId(c), customerWords, c * 4);
    return {
      customerEnum,
      customerWords,
      customerType: customerEnum ? ENUM(Array.from({ length: customers }, (_, c) => customerId(c))) : VARCHAR,
      merchantType: ENUM(Array.from({ length: catalog.count }, (_, m) => merchantId(m))),
      mccType: ENUM(MCC_CODES.map((m) => m.mcc)),
      currencyType: ENUM(CURRENCIES.map((c) => c.code)),
      channelType: ENUM(['offline', 'online']),
      cityType: ENUM(CITIES.map((c) => c.name)),
      countryType: ENUM(countries),
      countryOfCity: Uint8Array.from(CITIES.map((c) => countries.indexOf(c.country))),
      divisor: Float64Array.from(CURRENCIES.map((c) => 10 ** c.decimals)),
    };
  }

  private registerMonthRows(lane: Lane, shared: ReturnType<WorldWriter['sharedColumns']>): void {
    const { catalog, cal } = this.world;
    const bindings = rawBindings();
    const csv = this.format === 'csv';
    const zones = CITIES.map((c) => c.zone);
    const fixedOffset = Int16Array.from(
      CITIES.map((c) => (c.zone.dst === 'none' ? c.zone.stdMinutes : -32768)),
    );
    const { customerEnum, customerWords, countryOfCity, divisor } = shared;

    const txn = new Int32Array(CHUNK_ROWS * 4);
    // The 12 inlined bytes of the current txn_id ("T" + ten digits + a zero pad), as three words.
    const idWords = new Int32Array(3);
    const idBytes = new Uint8Array(idWords.buffer);
    idBytes[0] = 84;
    const digits = idBytes.subarray(1, 11);
    const cust = customerEnum ? enumColumn(this.world.customers) : new Int32Array(CHUNK_ROWS * 4);
    const merch = enumColumn(catalog.count);
    const mcc = enumColumn(MCC_CODES.length);
    const amount = new Float64Array(CHUNK_ROWS);
    const cur = enumColumn(CURRENCIES.length);
    const orig = new Float64Array(CHUNK_ROWS);
    const ts = new Int32Array(CHUNK_ROWS * 2); // int64 microseconds, little-endian halves
    const local = new Int32Array(CHUNK_ROWS);
    const off = new Int16Array(CHUNK_ROWS);
    const channel = enumColumn(2);
    const city = enumColumn(CITIES.length);
    const country = enumColumn(countryOfCity.length);
    const columns: [string, DuckDBType, Column][] = [
      ['txn_id', VARCHAR, txn],
      ['customer_id', shared.customerType, cust],
      ['merchant_id', shared.merchantType, merch],
      ['mcc', shared.mccType, mcc],
      ['amount', DOUBLE, amount],
      ['currency', shared.currencyType, cur],
      ['original_amount', DOUBLE, orig],
      ...(csv
        ? ([
            ['local_t', INTEGER, local],
            ['off', SMALLINT, off],
          ] as [string, DuckDBType, Column][])
        : ([['ts', TIMESTAMPTZ, ts]] as [string, DuckDBType, Column][])),
      ['channel', shared.channelType, channel],
      ['city', shared.cityType, city],
      ['country', shared.countryType, country],
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
        const rows = src ? Math.min(CHUNK_ROWS, src.perm.length - src.pos) : 0;
        bindings.data_chunk_set_size(out.chunk, rows);
        if (!src || rows === 0) return;
        const chunks = src.bucket.chunks;
        for (let i = 0; i < rows; i++) {
          const row = src.perm[src.pos + i] as number;
          const chunk = chunks[row >>> 16] as Int32Array;
          const o = (row & 0xffff) * STRIDE;
          const customer = chunk[o] as number;
          const m = chunk[o + 1] as number;
          const time = chunk[o + 2] as number;
          const c = catalog.city[m] as number;
          const k = catalog.currency[m] as number;
          // txn_id: "T" and ten digits, inlined; consecutive numbers, so digits are carried like an odometer.
          if (i === 0) setDigits(digits, src.firstNumber + src.pos);
          else incrementDigits(digits);
          txn[i * 4] = 11;
          txn[i * 4 + 1] = idWords[0] as number;
          txn[i * 4 + 2] = idWords[1] as number;
          txn[i * 4 + 3] = idWords[2] as number;
          if (customerEnum) cust[i] = customer;
          else {
            const w = customer * 4;
            cust[i * 4] = customerWords[w] as number;
            cust[i * 4 + 1] = customerWords[w + 1] as number;
            cust[i * 4 + 2] = customerWords[w + 2] as number;
            cust[i * 4 + 3] = customerWords[w + 3] as number;
          }
          merch[i] = m;
          mcc[i] = catalog.mcc[m] as number;
          amount[i] = chunk[o + 3] as number;
          cur[i] = k;
          orig[i] = (chunk[o + 4] as number) / (divisor[k] as number);
          if (csv) {
            // CSV shows the merchant's wall clock and UTC offset; most cities have a fixed offset.
            const fixed = fixedOffset[c] as number;
            const minutes = fixed !== -32768 ? fixed : offsetMinutesAt(zones[c]!, cal.startUtc + time);
            off[i] = minutes;
            local[i] = time + minutes * 60;
          } else {
            const micros = (cal.startUtc + time) * 1e6;
            const hi = Math.floor(micros / 4294967296);
            ts[i * 2] = (micros - hi * 4294967296) | 0;
            ts[i * 2 + 1] = hi;
          }
          channel[i] = catalog.online[m] as number;
          city[i] = c;
          country[i] = countryOfCity[c] as number;
        }
        for (let k = 0; k < columns.length; k++) {
          const a = columns[k]![2];
          const bytesPerRow = a.byteLength / CHUNK_ROWS;
          bindings.copy_data_to_vector(
            bindings.data_chunk_get_vector(out.chunk, k),
            0,
            a.buffer,
            a.byteOffset,
            rows * bytesPerRow,
          );
        }
        src.pos += rows;
      },
    });
    lane.con.registerTableFunction(fn);
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
    lane.source = { bucket, perm: bucket.order(monthStartT), firstNumber, pos: 0 };
    const select =
      this.format === 'parquet'
        ? '*'
        : `txn_id, customer_id, merchant_id, mcc, amount, currency, original_amount,
           strftime(make_timestamp((${this.world.cal.startUtc} + local_t)::BIGINT * 1000000), '%Y-%m-%d %H:%M:%S') ||
             printf('%s%02d:%02d', CASE WHEN off < 0 THEN '-' ELSE '+' END, abs(off) // 60, abs(off) % 60) AS ts,
           channel, city, country`;
    try {
      await lane.con.run(
        `COPY (SELECT ${select} FROM ${lane.fn}()) TO ${sqlString(path)} ${this.copyOptions()}`,
      );
    } finally {
      lane.source = undefined;
    }
  }

  private copyOptions(): string {
    return this.format === 'parquet' ? PARQUET : '(FORMAT csv, HEADER)';
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
    await this.con.run(
      `COPY (SELECT * FROM merchants ORDER BY merchant_id) TO ${sqlString(path)} ${this.copyOptions()}`,
    );
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
    const options = this.format === 'parquet' ? PARQUET : '(FORMAT csv, HEADER)';
    const startDate = dayIso(this.world.cal, 0);
    await this.con.run(`COPY (
      SELECT customer_id, age_band, gender, region, card_product, DATE '${startDate}' + signup_day AS signup_date
      FROM customers ORDER BY customer_id
    ) TO ${sqlString(path)} ${options}`);
    await this.con.run('DROP TABLE customers');
  }

  /** All MCCs of the `mcc` package; always CSV (codes such as 0742 make readers keep the column as text). */
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
      `COPY (SELECT * FROM mcc_codes ORDER BY mcc) TO ${sqlString(path)} (FORMAT csv, HEADER)`,
    );
  }

  close(): void {
    for (const lane of this.lanes) lane.con.closeSync();
    this.con.closeSync();
    this.instance.closeSync();
  }
}
