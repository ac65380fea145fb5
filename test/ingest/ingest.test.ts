import { copyFileSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { requireProject } from '../../src/config/project.js';
import { ingest, RejectThresholdError } from '../../src/ingest/ingest.js';
import { query, tempDir, warehouseDigest, writeFiles } from '../helpers.js';

const WAREHOUSE = '.tagverse/warehouse.duckdb';

const baseConfig = (extra = '') => `name: shop
timezone: Asia/Seoul
entity: { name: customer }
settings: { max_reject_ratio: 0.5 }
sources:
  tx:
    kind: events
    files: data/tx*.csv
    entity_key: customer_id
    event_id: id
    timestamp: ts
    columns:
      amount: { type: double }
      mcc: { type: string }
    lookups: [{ source: mcc_codes, on: mcc }]
  mcc_codes:
    kind: lookup
    files: data/mcc.csv
    key: mcc
    columns: { mcc: { type: string } }
${extra}`;

const MCC = 'mcc,mcc_description\n0742,Veterinary Services\n5411,Grocery Stores\n';
const CLEAN_TX =
  'id,customer_id,amount,ts,mcc\n' +
  '1,c1,2.5,2025-01-01 10:00:00,0742\n' +
  '2,c1,10,2025-01-02 11:00:00+00:00,5411\n' +
  '3,c2,7.25,2025-03-30 09:15:00,5411\n';

const DIRTY_TX =
  'id,customer_id,amount,ts,mcc\n' +
  '1,c1,2.5,2025-01-01 10:00:00,0742\n' + // line 2: ok
  '2,c1,abc,2025-01-01 11:00:00,5411\n' + // line 3: amount not a number
  '3,,3.0,2025-01-02 00:00:00,5411\n' + // line 4: no entity key
  '4,c2,5,nope,5411\n' + // line 5: timestamp unparseable
  '5,c2,6,2025-01-03 00:00:00,5411,extra\n' + // line 6: one column too many
  '6,c3,1,2025-01-01 00:00:00+00:00,5411\n' + // line 7: ok
  '6,c3,1,2025-01-01 00:00:00,5411\n' + // line 8: duplicate event id
  '7,c3,1,,5411\n' + // line 9: no timestamp
  '8,c4,4,2025-02-01 08:00:00,5411\n'; // line 10: ok

describe('ingest of clean files', () => {
  it('loads rows with declared types, instants in UTC and lookup columns in the view', async () => {
    const dir = tempDir({ 'tagverse.yaml': baseConfig(), 'data/tx1.csv': CLEAN_TX, 'data/mcc.csv': MCC });
    const r = await ingest(dir);
    expect(r.sources.map((s) => [s.name, s.rowsLoaded, s.rowsRejected, s.files])).toEqual([
      ['mcc_codes', 2, 0, 1],
      ['tx', 3, 0, 1],
    ]);
    const rows = await query(
      path.join(dir, WAREHOUSE),
      `SELECT id, customer_id, amount, strftime(ts AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S') AS utc, mcc, mcc_description, _row
       FROM main.tx ORDER BY id`,
    );
    expect(rows).toEqual([
      // Naive times are read in the source's time zone (Asia/Seoul, UTC+9); explicit offsets are honoured.
      {
        id: 1,
        customer_id: 'c1',
        amount: 2.5,
        utc: '2025-01-01 01:00:00',
        mcc: '0742',
        mcc_description: 'Veterinary Services',
        _row: 2,
      },
      {
        id: 2,
        customer_id: 'c1',
        amount: 10,
        utc: '2025-01-02 11:00:00',
        mcc: '5411',
        mcc_description: 'Grocery Stores',
        _row: 3,
      },
      {
        id: 3,
        customer_id: 'c2',
        amount: 7.25,
        utc: '2025-03-30 00:15:00',
        mcc: '5411',
        mcc_description: 'Grocery Stores',
        _row: 4,
      },
    ]);
  });

  it('reads naive times across a DST change in the source time zone', async () => {
    const dir = tempDir({
      'tagverse.yaml': `name: dst
entity: { name: customer }
sources:
  ev:
    kind: events
    files: data/ev.csv
    entity_key: who
    timestamp: { column: at, timezone: Europe/Paris, format: '%d/%m/%Y %H:%M' }
`,
      'data/ev.csv': 'who,at\na,30/03/2025 01:30\na,30/03/2025 03:30\nb,26/10/2025 01:30\n',
    });
    await ingest(dir);
    const rows = await query(
      path.join(dir, WAREHOUSE),
      `SELECT who, strftime("at" AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M') AS utc FROM main.ev ORDER BY _row`,
    );
    expect(rows).toEqual([
      { who: 'a', utc: '2025-03-30 00:30' }, // CET (+1) before the switch
      { who: 'a', utc: '2025-03-30 01:30' }, // CEST (+2) after it
      { who: 'b', utc: '2025-10-25 23:30' }, // still CEST before the switch back
    ]);
  });
});

describe('ingest of dirty files', () => {
  it('rejects each bad row with file, line, raw line and reason, and keeps the good ones', async () => {
    const dir = tempDir({
      'tagverse.yaml': baseConfig().replace('max_reject_ratio: 0.5', 'max_reject_ratio: 0.7'),
      'data/tx1.csv': DIRTY_TX,
      'data/mcc.csv': MCC,
    });
    const r = await ingest(dir);
    const tx = r.sources.find((s) => s.name === 'tx')!;
    expect([tx.rowsLoaded, tx.rowsRejected]).toEqual([3, 6]);
    const rejects = await query(
      path.join(dir, WAREHOUSE),
      'SELECT file, line, kind, "column", reason, raw FROM tagverse.rejects ORDER BY line',
    );
    expect(rejects).toEqual([
      {
        file: 'data/tx1.csv',
        line: 3,
        kind: 'unreadable_value',
        column: 'amount',
        reason: 'column amount: cannot read "abc" as DOUBLE',
        raw: '2,c1,abc,2025-01-01 11:00:00,5411',
      },
      {
        file: 'data/tx1.csv',
        line: 4,
        kind: 'missing_key',
        column: 'customer_id',
        reason: "missing entity key 'customer_id'",
        raw: '3,,3.0,2025-01-02 00:00:00,5411',
      },
      {
        file: 'data/tx1.csv',
        line: 5,
        kind: 'bad_timestamp',
        column: 'ts',
        reason: `cannot parse timestamp 'ts' value "nope" as ISO 8601 (e.g. 2025-03-01 12:30:00+09:00)`,
        raw: '4,c2,5,nope,5411',
      },
      {
        file: 'data/tx1.csv',
        line: 6,
        kind: 'column_count',
        column: null,
        reason: 'expected 5 columns, found 6',
        raw: '5,c2,6,2025-01-03 00:00:00,5411,extra',
      },
      {
        file: 'data/tx1.csv',
        line: 8,
        kind: 'duplicate',
        column: 'id',
        reason: 'duplicate event id "6" (first at data/tx1.csv line 7)',
        raw: null,
      },
      {
        file: 'data/tx1.csv',
        line: 9,
        kind: 'bad_timestamp',
        column: 'ts',
        reason: "missing timestamp 'ts'",
        raw: '7,c3,1,,5411',
      },
    ]);
    // Accepted rows keep their physical line numbers even after rejected lines.
    const kept = await query(path.join(dir, WAREHOUSE), 'SELECT id, _row FROM raw.tx ORDER BY id');
    expect(kept).toEqual([
      { id: 1, _row: 2 },
      { id: 6, _row: 7 },
      { id: 8, _row: 10 },
    ]);
    expect(tx.topRejectReasons[0]).toEqual({
      kind: 'bad_timestamp',
      column: 'ts',
      count: 2,
      example: `data/tx1.csv:5: cannot parse timestamp 'ts' value "nope" as ISO 8601 (e.g. 2025-03-01 12:30:00+09:00)`,
    });
  });

  it('rolls back the whole ingest when rejects exceed max_reject_ratio, leaving the warehouse unchanged', async () => {
    const dir = tempDir({
      'tagverse.yaml': baseConfig().replace('max_reject_ratio: 0.5', 'max_reject_ratio: 0.1'),
      'data/tx1.csv': CLEAN_TX,
      'data/mcc.csv': MCC,
    });
    await ingest(dir);
    const before = await warehouseDigest(path.join(dir, WAREHOUSE));
    writeFiles(dir, { 'data/tx2.csv': DIRTY_TX.replace(/^(\d+),/gm, '1$1,') });
    const err = await ingest(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RejectThresholdError);
    const e = err as RejectThresholdError;
    expect(e.message).toMatch(
      /^source 'tx': 6 of 9 rows rejected \(66\.7%\), more than max_reject_ratio 10\.0%; nothing was loaded\./,
    );
    expect([e.rejected, e.total]).toEqual([6, 9]);
    // The rejected rows are kept for inspection outside the warehouse.
    expect(readFileSync(e.rejectsFile, 'utf8').trim().split('\n')).toHaveLength(7);
    expect(await warehouseDigest(path.join(dir, WAREHOUSE))).toEqual(before);
  });

  it('reads JSONL line by line: malformed JSON and unreadable values are rejected, blank lines skipped', async () => {
    const dir = tempDir({
      'tagverse.yaml': `name: app
entity: { name: user }
settings: { max_reject_ratio: 0.9 }
sources:
  clicks:
    kind: events
    files: data/clicks.jsonl
    entity_key: user
    timestamp: at
    columns:
      n: { type: integer }
`,
      'data/clicks.jsonl': [
        '{"user":"u1","at":"2025-05-01T10:00:00Z","n":1,"page":"home"}',
        '',
        '{"user":"u2","at":"2025-05-01T11:00:00Z","n":"many","page":"cart"}',
        'not json at all',
        '{"user":null,"at":"2025-05-01T12:00:00Z","n":2,"page":"home"}',
        '{"user":"u3","at":"2025-05-02T09:30:00+02:00","n":3,"page":"checkout \\"x\\""}',
        '',
      ].join('\n'),
    });
    const r = await ingest(dir, {});
    expect([r.sources[0]!.rowsLoaded, r.sources[0]!.rowsRejected]).toEqual([2, 3]);
    const rejects = await query(
      path.join(dir, WAREHOUSE),
      'SELECT line, kind, reason FROM tagverse.rejects ORDER BY line',
    );
    expect(rejects).toEqual([
      { line: 3, kind: 'unreadable_value', reason: 'column n: cannot read "many" as BIGINT' },
      { line: 4, kind: 'malformed_json', reason: 'malformed JSON' },
      { line: 5, kind: 'missing_key', reason: "missing entity key 'user'" },
    ]);
    const rows = await query(
      path.join(dir, WAREHOUSE),
      `SELECT "user", n, page, strftime("at" AT TIME ZONE 'UTC', '%H:%M') AS utc, _row FROM main.clicks ORDER BY _row`,
    );
    expect(rows).toEqual([
      { user: 'u1', n: 1, page: 'home', utc: '10:00', _row: 1 },
      { user: 'u3', n: 3, page: 'checkout "x"', utc: '07:30', _row: 6 },
    ]);
  });

  it('rejects Parquet values that do not fit the declared type', async () => {
    const dir = tempDir({
      'tagverse.yaml': `name: pq
timezone: UTC
entity: { name: customer }
settings: { max_reject_ratio: 0.8 }
sources:
  tx:
    kind: events
    files: data/tx.parquet
    entity_key: customer_id
    timestamp: ts
    columns:
      amount: { type: double }
`,
    });
    mkdirSync(path.join(dir, 'data'));
    const inst = await DuckDBInstance.create(':memory:');
    const c = await inst.connect();
    await c.run(
      `COPY (SELECT * FROM (VALUES ('c1', '12.5', TIMESTAMP '2025-01-01 00:00:00'), ('c2', 'twelve', TIMESTAMP '2025-01-02 00:00:00'),
        (NULL, '3', TIMESTAMP '2025-01-03 00:00:00'), ('c4', '4', NULL)) t(customer_id, amount, ts))
       TO '${path.join(dir, 'data/tx.parquet')}' (FORMAT parquet)`,
    );
    c.closeSync();
    inst.closeSync();
    const r = await ingest(dir);
    expect([r.sources[0]!.rowsLoaded, r.sources[0]!.rowsRejected]).toEqual([1, 3]);
    const rejects = await query(
      path.join(dir, WAREHOUSE),
      'SELECT line, reason, raw FROM tagverse.rejects ORDER BY line',
    );
    expect(rejects.map((x) => [x.line, x.reason])).toEqual([
      [2, 'column amount: cannot read "twelve" as DOUBLE'],
      [3, "missing entity key 'customer_id'"],
      [4, "missing timestamp 'ts'"],
    ]);
    expect(String(rejects[1]!.raw)).toContain('"amount":"3"');
  });
});

describe('ingest is idempotent and atomic', () => {
  it('skips files already loaded, appends new ones, reloads changed ones, ignores copies', async () => {
    const dir = tempDir({ 'tagverse.yaml': baseConfig(), 'data/tx1.csv': CLEAN_TX, 'data/mcc.csv': MCC });
    const wh = path.join(dir, WAREHOUSE);
    await ingest(dir);
    const first = await warehouseDigest(wh);

    const again = await ingest(dir);
    expect(again.sources.map((s) => [s.name, s.rowsLoaded, s.files, s.filesSkipped])).toEqual([
      ['mcc_codes', 0, 0, 1],
      ['tx', 0, 0, 1],
    ]);
    // Only the log of loads grows; every table of data is exactly as before.
    const withoutLoads = (d: Record<string, string>) =>
      Object.fromEntries(Object.entries(d).filter(([k]) => k !== 'tagverse.loads'));
    expect(withoutLoads(await warehouseDigest(wh))).toEqual(withoutLoads(first));

    writeFiles(dir, { 'data/tx2.csv': 'id,customer_id,amount,ts,mcc\n10,c9,1,2025-02-01 00:00:00,5411\n' });
    copyFileSync(path.join(dir, 'data/tx1.csv'), path.join(dir, 'data/tx3.csv'));
    const appended = await ingest(dir, { sources: ['tx'] });
    expect(appended.sources[0]!.fileResults).toEqual([
      { path: 'data/tx1.csv', status: 'unchanged', rowsLoaded: 0, rowsRejected: 0 },
      { path: 'data/tx2.csv', status: 'loaded', rowsLoaded: 1, rowsRejected: 0 },
      {
        path: 'data/tx3.csv',
        status: 'duplicate',
        rowsLoaded: 0,
        rowsRejected: 0,
        duplicateOf: 'data/tx1.csv',
      },
    ]);
    expect(await query(wh, 'SELECT count(*)::INTEGER AS n FROM raw.tx')).toEqual([{ n: 4 }]);

    // A file that changed since it was loaded replaces its earlier rows.
    writeFileSync(
      path.join(dir, 'data/tx2.csv'),
      'id,customer_id,amount,ts,mcc\n11,c9,2,2025-02-02 00:00:00,5411\n12,c9,3,2025-02-03 00:00:00,5411\n',
    );
    utimesSync(path.join(dir, 'data/tx2.csv'), new Date(), new Date(Date.now() + 5000));
    const changed = await ingest(dir, { sources: ['tx'] });
    expect(changed.sources[0]!.fileResults[1]).toEqual({
      path: 'data/tx2.csv',
      status: 'reloaded',
      rowsLoaded: 2,
      rowsRejected: 0,
    });
    expect(await query(wh, 'SELECT list(id ORDER BY id) AS ids FROM raw.tx')).toEqual([
      { ids: [1, 2, 3, 11, 12] },
    ]);
  });

  it('--replace reloads a source atomically: a failing reload keeps the old rows', async () => {
    const dir = tempDir({
      'tagverse.yaml': baseConfig().replace('max_reject_ratio: 0.5', 'max_reject_ratio: 0.2'),
      'data/tx1.csv': CLEAN_TX,
      'data/mcc.csv': MCC,
    });
    const wh = path.join(dir, WAREHOUSE);
    await ingest(dir);
    const before = await warehouseDigest(wh);
    writeFiles(dir, { 'data/tx1.csv': DIRTY_TX });
    await expect(ingest(dir, { sources: ['tx'], replace: true })).rejects.toThrow(/nothing was loaded/);
    expect(await warehouseDigest(wh)).toEqual(before);

    writeFiles(dir, { 'data/tx1.csv': 'id,customer_id,amount,ts,mcc\n99,c1,5,2025-06-01 00:00:00,0742\n' });
    const r = await ingest(dir, { sources: ['tx'], replace: true });
    expect(r.sources[0]!.replaced).toBe(true);
    expect(await query(wh, 'SELECT id, mcc_description FROM main.tx')).toEqual([
      { id: 99, mcc_description: 'Veterinary Services' },
    ]);
  });

  it('refuses a file whose columns differ from what is loaded, and says how to fix it', async () => {
    const dir = tempDir({ 'tagverse.yaml': baseConfig(), 'data/tx1.csv': CLEAN_TX, 'data/mcc.csv': MCC });
    await ingest(dir);
    writeFiles(dir, {
      'data/tx2.csv': 'id,customer_id,amount,ts,mcc,extra\n20,c1,1,2025-01-01 00:00:00,5411,x\n',
    });
    await expect(ingest(dir)).rejects.toThrow(
      "source 'tx': data/tx2.csv has new 'extra' compared with the files already loaded; reload the source with --replace to change its columns",
    );
  });
});

describe('ingest is safe with hostile names and values', () => {
  it('keeps quotes and SQL in column names, values and file names as plain data', async () => {
    const dir = tempDir({
      'tagverse.yaml': `name: hostile
entity: { name: customer }
sources:
  ev:
    kind: events
    files: "data/it's; DROP TABLE x.csv"
    entity_key: customer_id
    timestamp: ts
`,
      "data/it's; DROP TABLE x.csv":
        'customer_id,ts,"note""); DROP TABLE raw.ev; --"\n' +
        `"'); DROP TABLE raw.ev; --",2025-01-01 00:00:00,"Robert'); DROP TABLE students;--"\n`,
    });
    const r = await ingest(dir);
    expect(r.sources[0]!.rowsLoaded).toBe(1);
    const rows = await query(path.join(dir, WAREHOUSE), 'SELECT * EXCLUDE (ts, _file_id, _row) FROM main.ev');
    expect(rows).toEqual([
      {
        customer_id: "'); DROP TABLE raw.ev; --",
        note_drop_table_raw_ev: "Robert'); DROP TABLE students;--",
      },
    ]);
  });

  it('names unknown sources with a suggestion', async () => {
    const dir = tempDir({ 'tagverse.yaml': baseConfig(), 'data/tx1.csv': CLEAN_TX, 'data/mcc.csv': MCC });
    await expect(ingest(dir, { sources: ['txx'] })).rejects.toThrow(
      "unknown source 'txx' (did you mean 'tx'?)",
    );
    expect(requireProject(dir).name).toBe('shop');
  });
});
