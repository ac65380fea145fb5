import { describe, expect, it } from 'vitest';
import { requireProject } from '../../src/config/project.js';
import { loadProgram } from '../../src/engine/program.js';
import { formatProblem } from '../../src/util/problems.js';
import { tempDir } from '../helpers.js';

const CONFIG = `name: shop
timezone: Asia/Seoul
entity: { name: customer }
sources:
  tx:
    kind: events
    files: data/tx.csv
    entity_key: customer_id
    timestamp: ts
    columns: { amount: { type: double }, mcc: { type: string } }
  customers:
    kind: profile
    files: data/customers.csv
    entity_key: customer_id
`;
const DATA = {
  'data/tx.csv': 'customer_id,ts,amount,mcc,channel\nc1,2025-01-01 10:00:00,5,5411,online\n',
  'data/customers.csv': 'customer_id,age_band,region\nc1,30s,Seoul\n',
};

async function problems(tags: string): Promise<string[]> {
  const dir = tempDir({ 'tagverse.yaml': CONFIG, ...DATA, 'tags/t.yaml': tags });
  const r = await loadProgram(requireProject(dir));
  return r.problems.map((p) => formatProblem(p, { caret: true }));
}

describe('tag definition errors point at the exact text, with a caret and did-you-mean', () => {
  it('reports unknown columns, tags and functions, and every problem of one expression', async () => {
    const out = await problems(`- name: t1
  description: d
  category: behavior
  from: tx
  value: sum(amout) > 3 and count(where chanel = 'online') >= 1 and sqr(2) > 1
`);
    expect(out).toEqual([
      "tags/t.yaml:5:14: unknown column 'amout' of 'tx' (did you mean 'amount'?)\n    value: sum(amout) > 3 and count(where chanel = 'online') >= 1 and sqr(2) > 1\n               ^^^^^",
      "tags/t.yaml:5:41: unknown column 'chanel' of 'tx' (did you mean 'channel'?)\n    value: sum(amout) > 3 and count(where chanel = 'online') >= 1 and sqr(2) > 1\n                                          ^^^^^^",
      "tags/t.yaml:5:69: unknown function 'sqr' (did you mean 'sqrt'?)\n    value: sum(amout) > 3 and count(where chanel = 'online') >= 1 and sqr(2) > 1\n                                                                      ^^^",
    ]);
  });

  it('reports syntax errors at their position, in block scalars too', async () => {
    const out = await problems(`- name: t1
  description: d
  category: behavior
  from: tx
  value: |
    count() >=
      and sum(amount) > 1
`);
    expect(out).toEqual(["tags/t.yaml:7:7: unexpected 'and'\n        and sum(amount) > 1\n        ^^^"]);
  });

  it('reports type errors, aggregate and window misuse', async () => {
    const out = (
      await problems(`- name: t1
  description: d
  category: behavior
  from: tx
  value: sum(mcc) > 'x'
- name: t2
  description: d
  category: behavior
  from: tx
  value: amount > 10
- name: t3
  description: d
  category: condition
  window: last 30d
  value: count() > 1
- name: t4
  description: d
  category: behavior
  from: tx
  value: sum(count()) > 1
- name: t5
  description: d
  category: behavior
  from: tx
  window: between 30d and 90d ago
  value: count()
- name: t6
  description: d
  category: behavior
  type: boolean
  from: tx
  value: sum(amount)
`)
    ).map((p) => p.split('\n')[0]);
    expect(out).toEqual([
      'tags/t.yaml:5:14: the argument of sum() must be a number, not text',
      "tags/t.yaml:10:10: the column 'amount' must be inside an aggregate, e.g. sum(amount), max(amount) or last(amount)",
      "tags/t.yaml:14:11: 'window' applies to aggregates over events: it needs 'from: <events source>'",
      "tags/t.yaml:15:10: count() aggregates events: the tag needs 'from: <events source>' (or refer to an aggregate tag instead)",
      'tags/t.yaml:20:14: aggregates cannot be nested',
      "tags/t.yaml:25:11: the window 'between 30d and 90d ago' is empty: the first duration must be the longer one",
      'tags/t.yaml:32:10: the tag is declared type: boolean but its value is a number (type: number)',
    ]);
  });

  it('finds dependency cycles, unknown tags and duplicate names', async () => {
    const out = (
      await problems(`- name: a
  description: d
  category: behavior
  value: b and true
- name: b
  description: d
  category: behavior
  value: not a
- name: c
  description: d
  category: behavior
  value: golf_lovr
- name: c
  description: d
  category: behavior
  value: true
- name: d
  description: d
  category: behavior
  value: age_band = '30s' and regon = 'Seoul'
`)
    ).map((p) => p.split('\n')[0]);
    expect(out).toEqual([
      "tags/t.yaml:4:10: tag 'a' depends on itself: a -> b -> a",
      "tags/t.yaml:8:10: tag 'b' depends on itself: a -> b -> a",
      "tags/t.yaml:12:10: unknown tag or profile attribute 'golf_lovr'",
      "tags/t.yaml:13:9: tag 'c' is already defined at tags/t.yaml:9",
      "tags/t.yaml:20:31: unknown tag or profile attribute 'regon' (did you mean 'region'?)",
    ]);
  });

  it('checks the fields of a definition like the config: unknown keys, missing keys, bad values', async () => {
    const out = (
      await problems(`- name: Bad-Name
  description: d
  category: behavior
  value: true
- name: ok_name
  descripton: d
  category: behavior
  value: true
- name: t3
  description: d
  category: behavior
  status: live
  value: true
`)
    ).map((p) => p.split('\n')[0]);
    expect(out).toEqual([
      "tags/t.yaml:1:9: '[0].name': a tag name must be lower_snake_case (letters, digits, _), at most 63 characters",
      "tags/t.yaml:5:3: '[1]': missing required key 'description'",
      "tags/t.yaml:6:3: unknown key 'descripton' (did you mean 'description'?)",
      `tags/t.yaml:12:11: '[2].status' must be one of "draft", "approved", "deprecated", got string "live"`,
    ]);
  });
});
