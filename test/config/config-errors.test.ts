import { describe, expect, it } from 'vitest';
import { checkProject } from '../../src/config/check.js';
import { loadProject } from '../../src/config/project.js';
import { formatProblem } from '../../src/util/problems.js';
import { tempDir } from '../helpers.js';

const messages = (dir: string) => loadProject(dir).problems.map((p) => formatProblem(p));

describe('tagverse.yaml errors name file, line and column', () => {
  it('reports unknown keys with did-you-mean, missing keys and wrong types all at once', () => {
    const dir = tempDir({
      'tagverse.yaml': [
        'name: demo',
        'entity:',
        '  name: customer',
        '  id_typ: string',
        'sources:',
        '  transactions:',
        '    kind: events',
        '    files: data/tx.csv',
        '    entity_kye: customer_id',
        '    timestamp: ts',
        '  other:',
        '    kind: evnts',
        '    files: 3',
        '  prof:',
        '    kind: profile',
        '    files: [a.csv]',
        '    entity_key: [1]',
        '',
      ].join('\n'),
    });
    expect(messages(dir)).toEqual([
      "tagverse.yaml:4:3: unknown key 'id_typ' (did you mean 'id_type'?)",
      "tagverse.yaml:6:3: 'sources.transactions': missing required key 'entity_key'",
      "tagverse.yaml:9:5: unknown key 'entity_kye' (did you mean 'entity_key'?)",
      "tagverse.yaml:12:11: 'sources.other.kind' must be one of 'events', 'profile', 'lookup', got string \"evnts\" (did you mean 'events'?)",
      "tagverse.yaml:17:17: 'sources.prof.entity_key' must be text, got a list",
    ]);
  });

  it('reports YAML syntax errors with their position', () => {
    const dir = tempDir({ 'tagverse.yaml': 'name: demo\nentity:\n  name: [unclosed\nsources: {}\n' });
    const [first] = messages(dir);
    expect(first).toMatch(/^tagverse\.yaml:\d+:\d+: invalid YAML: /);
  });

  it('reports references between sources, time zones and types', () => {
    const dir = tempDir({
      'tagverse.yaml': [
        'name: demo',
        'timezone: Asia/Seol',
        'entity: { name: customer }',
        'sources:',
        '  tx:',
        '    kind: events',
        '    files: data/tx.csv',
        '    entity_key: customer_id',
        '    timestamp: { column: ts, timezone: Mars/Olympus }',
        '    columns:',
        '      ts: { type: double }',
        '      amount: { type: money }',
        '    lookups:',
        '      - { source: merchnts, on: merchant_id }',
        '  merchants:',
        '    kind: lookup',
        '    files: data/m.xyz',
        '    key: merchant_id',
        '',
      ].join('\n'),
    });
    expect(messages(dir)).toEqual([
      'tagverse.yaml:12:23: \'sources.tx.columns.amount.type\': type must be one of string, integer, double, boolean, date, timestamp or decimal(p,s), got string "money"',
    ]);
    const fixed = tempDir({
      'tagverse.yaml': [
        'name: demo',
        'timezone: Asia/Seol',
        'entity: { name: customer }',
        'sources:',
        '  tx:',
        '    kind: events',
        '    files: data/tx.csv',
        '    entity_key: customer_id',
        '    timestamp: { column: ts, timezone: Mars/Olympus }',
        '    columns:',
        '      ts: { type: double }',
        '    lookups:',
        '      - { source: merchnts, on: merchant_id }',
        '  merchants:',
        '    kind: lookup',
        '    files: data/m.xyz',
        '    key: merchant_id',
        '',
      ].join('\n'),
    });
    expect(messages(fixed)).toEqual([
      "tagverse.yaml:2:11: unknown time zone 'Asia/Seol' (use an IANA name like 'Europe/Paris')",
      "tagverse.yaml:9:40: unknown time zone 'Mars/Olympus'",
      "tagverse.yaml:11:19: the timestamp column 'ts' must have type timestamp, not double",
      "tagverse.yaml:13:19: unknown source 'merchnts' (did you mean 'merchants'?)",
      "tagverse.yaml:16:12: cannot tell the format of 'data/m.xyz' from its extension; set 'format' (csv, tsv, parquet, jsonl)",
    ]);
  });

  it('says what to do when there is no tagverse.yaml', () => {
    const dir = tempDir();
    expect(messages(dir)[0]).toMatch(
      /^tagverse\.yaml:1:1: no tagverse\.yaml in .* \(create one with 'tagverse init'\)$/,
    );
  });
});

describe('tagverse check looks into the files', () => {
  it('reports missing files and columns that are not in the file, with did-you-mean', async () => {
    const dir = tempDir({
      'tagverse.yaml': [
        'name: demo',
        'entity: { name: customer }',
        'sources:',
        '  tx:',
        '    kind: events',
        '    files: data/tx.csv',
        '    entity_key: custmer_id',
        '    timestamp: ts',
        '    columns:',
        '      amount: { from: AMOUNT, type: double }',
        '    lookups:',
        '      - { source: merchants, on: merchant, columns: [nme] }',
        '  merchants:',
        '    kind: lookup',
        '    files: data/merchants.csv',
        '    key: merchant_id',
        '  profile:',
        '    kind: profile',
        '    files: data/nope*.csv',
        '    entity_key: customer_id',
        '',
      ].join('\n'),
      'data/tx.csv': 'customer_id,ts,amount,merchant_id\nc1,2025-01-01 10:00:00,5,m1\n',
      'data/merchants.csv': 'merchant_id,name\nm1,Cafe\n',
    });
    const r = await checkProject(dir);
    expect(r.ok).toBe(false);
    expect(r.problems.map((p) => formatProblem(p))).toEqual([
      "tagverse.yaml:7:17: the entity key 'custmer_id' is not a column of data/tx.csv (did you mean 'customer_id'?)",
      "tagverse.yaml:10:23: data/tx.csv has no column 'AMOUNT' (did you mean 'amount'?)",
      "tagverse.yaml:12:34: 'merchant' is not a column of source 'tx' (did you mean 'merchant_id'?)",
      "tagverse.yaml:12:54: lookup 'merchants' has no column 'nme' (did you mean 'name'?)",
      "tagverse.yaml:19:12: source 'profile': 'data/nope*.csv' matches no file",
    ]);
  });

  it('passes a correct project and counts its files', async () => {
    const dir = tempDir({
      'tagverse.yaml':
        'name: demo\nentity: { name: customer }\nsources:\n  tx: { kind: events, files: "data/*.csv", entity_key: customer_id, timestamp: ts }\n',
      'data/a.csv': 'customer_id,ts\nc1,2025-01-01\n',
      'data/b.csv': 'customer_id,ts\nc2,2025-01-02\n',
    });
    const r = await checkProject(dir);
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.files).toEqual({ tx: 2 });
  });
});

describe('YAML pitfalls get a hint', () => {
  it("explains that ': ' inside a plain value starts a mapping", () => {
    const dir = tempDir({
      'tagverse.yaml': 'name: demo\ndescription: Sales: all of them\nentity: { name: c }\nsources: {}\n',
    });
    expect(messages(dir)[0]).toContain("put the value in quotes, or use a block: '>-'");
  });
});
