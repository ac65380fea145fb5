/**
 * The warehouse sink writes exactly what the Appender-based sink it replaced wrote (a differential
 * test against test/realtime/appender-sink.ts on the same messages), cell for cell what went in, one
 * transaction per flush, and leaves no staged file behind.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ProjectConfig, requireProject } from '../../src/config/project.js';
import type { SourceShape } from '../../src/realtime/mapping.js';
import type { Cell, Effect, LoggedMessage } from '../../src/realtime/records.js';
import { flushToWarehouse, sortEffects } from '../../src/realtime/warehouse-sink.js';
import { ident, qualified } from '../../src/warehouse/sql.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import { tempDir, turnsDuring } from '../helpers.js';
import { flushWithAppender } from './appender-sink.js';

const PROJECT = `name: sink
entity: { name: customer }
sources:
  pay:
    kind: events
    files: data/pay.csv
    entity_key: who
    timestamp: { column: at }
  people:
    kind: profile
    files: data/people.csv
    entity_key: who
`;

const PAY: SourceShape = {
  name: 'pay',
  kind: 'events',
  entityKey: 'who',
  timeColumn: 'at',
  eventId: 'id',
  columns: [
    { name: 'who', type: 'VARCHAR' },
    { name: 'at', type: 'TIMESTAMP WITH TIME ZONE' },
    { name: 'id', type: 'VARCHAR' },
    { name: 'amount', type: 'DOUBLE' },
    { name: 'cents', type: 'BIGINT' },
    { name: 'qty', type: 'INTEGER' },
    { name: 'small', type: 'SMALLINT' },
    { name: 'huge', type: 'HUGEINT' },
    { name: 'price', type: 'DECIMAL(18,2)' },
    { name: 'ratio', type: 'FLOAT' },
    { name: 'ok', type: 'BOOLEAN' },
    { name: 'day', type: 'DATE' },
    { name: 'naive', type: 'TIMESTAMP' },
    { name: "we\"ird 'col' ü", type: 'VARCHAR' },
    { name: 'note', type: 'VARCHAR' },
  ],
};

const PEOPLE: SourceShape = {
  name: 'people',
  kind: 'profile',
  entityKey: 'who',
  columns: [
    { name: 'who', type: 'VARCHAR' },
    { name: 'age', type: 'BIGINT' },
    { name: 'region', type: 'VARCHAR' },
    { name: 'since', type: 'DATE' },
  ],
};

const SHAPES = new Map([
  ['pay', PAY],
  ['people', PEOPLE],
]);

/** Strings that break naive quoting, escaping, encoding or parsing. */
const NASTY = [
  '',
  ' ',
  "it's",
  'say "hi"',
  "'); DROP TABLE raw.pay; --",
  'back\\slash',
  '\\',
  '\\\\',
  'ends with backslash\\',
  '\\ud800 (the text, not a surrogate)',
  '\\\ud800',
  '\\\\\udc00',
  'line\nbreak',
  'crlf\r\n',
  'tab\there',
  '\u0000nul\u0000',
  '\u0001\u001f\u007f',
  '\u2028\u2029',
  'é漢字🎉👩‍👩‍👧',
  'e\u0301 combining',
  'مرحبا RTL',
  '\ud800',
  'lone high \ud83d at the end\ud83d',
  'lone low \ude00 in the middle',
  '\udfff\ud800 reversed pair',
  '{"json": [1, 2]}',
  '[1,2,3]',
  'NULL',
  '\\N',
  'null',
  'true',
  '1e309',
  '-0',
  '0x1F',
  'x'.repeat(70_000),
];

const DOUBLES = [
  0,
  -0,
  0.1,
  0.2 + 0.1,
  -1.5,
  5e-324,
  2.2250738585072014e-308,
  1.7976931348623157e308,
  -1.7976931348623157e308,
  1e21,
  1e-7,
  123456789.12345679,
  2 ** 53,
  -(2 ** 53),
  2 ** 53 + 2,
];

/** mulberry32: a small seeded generator, so a failure names the seed that reproduces it. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function messagesFor(seed: number, count: number, firstSeq = 1): LoggedMessage[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const maybe = <T extends Cell>(v: T): T | null => (r() < 0.1 ? null : v);
  const text = () =>
    r() < 0.5
      ? pick(NASTY)
      : `${pick(NASTY).slice(0, 20)}${Math.floor(r() * 1e6)}${pick(NASTY).slice(0, 20)}`;
  const double = () => (r() < 0.4 ? pick(DOUBLES) : (r() - 0.5) * 10 ** Math.floor(r() * 30 - 10));
  const safeInt = () => Math.floor((r() - 0.5) * 2 * Number.MAX_SAFE_INTEGER);
  const date = () => {
    const d = new Date(Date.UTC(1, 0, 1) + r() * (Date.UTC(9999, 11, 31) - Date.UTC(1, 0, 1)));
    return r() < 0.05
      ? pick(['0000-01-01', '1582-10-10', '2024-02-29', '1970-01-01'])
      : d.toISOString().slice(0, 10);
  };
  const micros = () => Math.round((r() - 0.3) * 7e15);
  // Profile updates are SQL statements with literals, which cannot hold NUL; nor could the alias
  // links of the Appender sink (an alias with NUL failed its flush).
  const noNul = (v: string) => v.replace(/\u0000/g, '');
  const out: LoggedMessage[] = [];
  for (let i = 0; i < count; i++) {
    const seq = firstSeq + i;
    const at = 1_735_689_600_000 + i * 7 + (r() < 0.3 ? r() : 0);
    const who = r() < 0.2 ? pick(NASTY) : `c${Math.floor(r() * 50)}`;
    const fx: Effect[] = [];
    const kind = r();
    if (kind < 0.7) {
      const row: Record<string, Cell> = {
        who,
        at: micros(),
        id: `m-${seq}-${text()}`,
        amount: maybe(double()),
        cents: maybe(safeInt()),
        qty: maybe(Math.floor((r() - 0.5) * 2 * 2 ** 31)),
        small: maybe(Math.floor((r() - 0.5) * 65_535)),
        huge: maybe(safeInt()),
        price: maybe(Math.round((r() - 0.5) * 1e9) / 1000),
        ratio: maybe(double() / 1e280),
        ok: maybe(r() < 0.5),
        day: maybe(date()),
        naive: maybe(micros()),
        "we\"ird 'col' ü": maybe(text()),
        note: maybe(text()),
      };
      fx.push({ k: 'row', source: 'pay', entity: who, time: row.at as number, row });
    } else if (kind < 0.8) {
      fx.push({
        k: 'reject',
        source: r() < 0.8 ? 'pay' : 'unknown_source',
        kind: 'unreadable_value',
        column: r() < 0.3 ? null : text(),
        reason: text(),
        raw: JSON.stringify({ amount: text(), x: [1, text()] }),
      });
    } else if (kind < 0.9) {
      const row: Record<string, Cell> = { who: noNul(who) };
      if (r() < 0.7) row.age = maybe(Math.floor(r() * 100));
      if (r() < 0.7) row.region = maybe(noNul(text()));
      if (r() < 0.5) row.since = maybe(date());
      fx.push({ k: 'profile', source: 'people', entity: row.who as string, row });
    } else {
      fx.push({ k: 'alias', from: noNul(text()), to: noNul(who) });
    }
    out.push({ seq, id: `msg-${seq}-${text()}`, dedupe: r() < 0.8, at, via: 'http', fx });
  }
  return out;
}

/** Every table of the warehouse as text cells, sorted, without the columns that hold the wall clock. */
async function contents(file: string): Promise<Record<string, string[][]>> {
  const volatile = new Set(['mtime_ms', 'loaded_at', 'started_at', 'finished_at', 'flushed_at', 'sha256']);
  const wh = await Warehouse.open(file, { readOnly: true });
  try {
    const out: Record<string, string[][]> = {};
    const tables = await wh.jsonRows<{ s: string; t: string }>(
      `SELECT schema_name AS s, table_name AS t FROM duckdb_tables() ORDER BY 1, 2`,
    );
    for (const { s, t } of tables) {
      const cols = (await wh.columns(s, t)).filter((c) => !volatile.has(c.name));
      // Text of every value (a DOUBLE's text tells every double apart, -0 included; a FLOAT's via DOUBLE).
      const exprs = cols.map((c) => {
        const q = ident(c.name);
        return c.type === 'FLOAT' ? `CAST(CAST(${q} AS DOUBLE) AS VARCHAR)` : `CAST(${q} AS VARCHAR)`;
      });
      const reader = await wh.connection.runAndReadAll(
        `SELECT ${exprs.join(', ')} FROM ${qualified(s, t)} ORDER BY ALL`,
      );
      out[`${s}.${t}`] = reader.getRowsJS().map((row) => row.map((v) => (v === null ? '<null>' : String(v))));
    }
    return out;
  } finally {
    wh.close();
  }
}

function project(): { dir: string; config: ProjectConfig } {
  const dir = tempDir({ 'tagverse.yaml': PROJECT });
  return { dir, config: requireProject(dir) };
}

async function flushAll(
  file: string,
  config: ProjectConfig,
  batches: readonly LoggedMessage[][],
  flush: typeof flushToWarehouse,
): Promise<void> {
  for (const batch of batches) {
    const wh = await Warehouse.open(file);
    try {
      await flush(wh, config, SHAPES, batch);
    } finally {
      wh.close();
    }
  }
}

/** Lone surrogates as U+FFFD (String.prototype.toWellFormed, not in our ES2023 lib). */
const wellFormed = (v: string) =>
  v.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');

/** What the log hands a replay: the messages after a JSON round trip (-0 is 0 there, for instance). */
const logged = (ms: readonly LoggedMessage[]): LoggedMessage[] => JSON.parse(JSON.stringify(ms));

describe('warehouse sink', () => {
  for (const seed of [1, 2, 3]) {
    it(`writes every table exactly as the Appender sink did (seed ${seed}, hostile values)`, async () => {
      const { dir, config } = project();
      const all = messagesFor(seed, 1500);
      const batches = [all.slice(0, 600), all.slice(600)];
      const ours = path.join(dir, 'ours.duckdb');
      const theirs = path.join(dir, 'theirs.duckdb');
      await flushAll(ours, config, batches, flushToWarehouse);
      await flushAll(theirs, config, batches.map(logged), flushWithAppender);
      const a = await contents(ours);
      const b = await contents(theirs);
      expect(Object.keys(a)).toEqual(Object.keys(b));
      for (const table of Object.keys(b)) {
        expect(a[table]!.length, table).toBe(b[table]!.length);
        for (let i = 0; i < b[table]!.length; i++)
          expect(a[table]![i], `${table} row ${i}`).toEqual(b[table]![i]);
      }
      expect(a['raw.pay']!.length).toBeGreaterThan(900);
      expect(a['tagverse.rejects']!.length).toBeGreaterThan(100);
      expect(a['tagverse.identities']!.length).toBeGreaterThan(100);
      expect(readdirSync(`${ours}.staging`)).toEqual([]);
    });
  }

  it('stores each cell as it went in: strings, safe integers and doubles bit for bit, times in µs', async () => {
    const { dir, config } = project();
    const messages = messagesFor(7, 800);
    const file = path.join(dir, 'w.duckdb');
    await flushAll(file, config, [messages], flushToWarehouse);
    const wh = await Warehouse.open(file, { readOnly: true });
    try {
      const reader = await wh.connection.runAndReadAll(
        `SELECT _row, who, epoch_us("at"), id, amount, cents, qty, huge, ok, strftime("day", '%Y-%m-%d'),
                epoch_us(naive), "we""ird 'col' ü", note FROM raw.pay ORDER BY _row`,
      );
      const got = reader.getRowsJS();
      const want = messages.flatMap((m) =>
        m.fx.flatMap((fx) => {
          if (fx.k !== 'row') return [];
          const c = fx.row;
          // JSON carries no -0 and no lone surrogate: they arrive as 0 and U+FFFD (as N-API makes them).
          const s = (v: Cell) => (typeof v === 'string' ? wellFormed(v) : v);
          const n = (v: Cell) => (v === null ? null : BigInt(v as number));
          return [
            [
              BigInt(m.seq),
              s(c.who!),
              n(c.at!),
              s(c.id!),
              c.amount === null ? null : (c.amount as number) + 0,
              n(c.cents!),
              c.qty,
              n(c.huge!),
              c.ok,
              c.day,
              n(c.naive!),
              s(c["we\"ird 'col' ü"]!),
              s(c.note!),
            ],
          ];
        }),
      );
      expect(got.length).toBe(want.length);
      for (let i = 0; i < want.length; i++) expect(got[i], `row ${i}`).toEqual(want[i]);
    } finally {
      wh.close();
    }
  });

  it('keeps NUL characters in profile traits, entity keys and alias ids (they used to fail the flush)', async () => {
    const { dir, config } = project();
    const file = path.join(dir, 'w.duckdb');
    const who = 'c\u0000nul';
    const messages: LoggedMessage[] = [
      {
        seq: 1,
        id: 'a',
        dedupe: true,
        at: 1_735_689_600_000,
        via: 'http',
        fx: [
          { k: 'profile', source: 'people', entity: who, row: { who, region: 'north\u0000east', age: 40 } },
        ],
      },
      {
        seq: 2,
        id: 'b',
        dedupe: true,
        at: 1_735_689_600_001,
        via: 'http',
        fx: [
          { k: 'profile', source: 'people', entity: who, row: { who, region: '\u0000' } },
          { k: 'alias', from: 'anon\u0000', to: who },
        ],
      },
    ];
    await flushAll(file, config, [messages], flushToWarehouse);
    const wh = await Warehouse.open(file, { readOnly: true });
    try {
      expect(await wh.rows('SELECT who, region, age, _row FROM raw.people')).toEqual([
        { who, region: '\u0000', age: 40n, _row: 2n },
      ]);
      expect(await wh.rows('SELECT alias, entity FROM tagverse.identities')).toEqual([
        { alias: 'anon\u0000', entity: who },
      ]);
    } finally {
      wh.close();
    }
  });

  it('sorts a large flush by table in slices, letting other work run between them', async () => {
    const messages = messagesFor(7, 20_000);
    const { result: sorted, turns: others } = await turnsDuring(() => sortEffects(messages));
    expect(others).toBeGreaterThanOrEqual(4);
    // Nothing lost or reordered by the slicing: every effect in seq order, per table.
    const rows = [...sorted.bySource.values()].reduce((n, e) => n + e.rows.length, 0);
    const expectedRows = messages.reduce((n, m) => n + m.fx.filter((f) => f.k === 'row').length, 0);
    expect(rows).toBe(expectedRows);
    expect(rows).toBeGreaterThan(1000);
    for (const e of sorted.bySource.values()) {
      const seqs = e.rows.map((r) => r.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    }
    expect(sorted.seen.length).toBe(messages.filter((m) => m.dedupe).length);
  });

  it('writes nothing when a cell does not fit its column, and removes its staged files', async () => {
    const { dir, config } = project();
    const file = path.join(dir, 'w.duckdb');
    const good = messagesFor(11, 50);
    await flushAll(file, config, [good], flushToWarehouse);
    const before = await contents(file);
    const bad = messagesFor(12, 50, 51);
    const row = bad.find((m) => m.fx[0]?.k === 'row')!.fx[0] as { row: Record<string, Cell> };
    row.row.qty = 2 ** 40; // INTEGER overflows
    await expect(flushAll(file, config, [bad], flushToWarehouse)).rejects.toThrow(/out of range|overflow/i);
    expect(await contents(file)).toEqual(before);
    expect(readdirSync(`${file}.staging`)).toEqual([]);
  });

  it('removes the staged files a process that ended left behind, and only those', async () => {
    const { dir, config } = project();
    const staging = path.join(dir, 'w.duckdb.staging');
    mkdirSync(staging);
    // 2^22 + 1 is above Linux's largest pid: no such process. The other file is this process's.
    const stale = path.join(staging, `${2 ** 22 + 1}-1-pay.json`);
    const live = path.join(staging, `${process.pid}-999999-pay.json`);
    writeFileSync(stale, '[]');
    writeFileSync(live, '[]');
    await flushAll(path.join(dir, 'w.duckdb'), config, [messagesFor(21, 10)], flushToWarehouse);
    expect(readdirSync(staging)).toEqual([path.basename(live)]);
  });
});
