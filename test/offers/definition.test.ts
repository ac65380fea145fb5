/** Offer files: every problem at its file, line and column, like tag and model files. */
import { describe, expect, it } from 'vitest';
import { dayStartMs, parseOffersFile } from '../../src/offers/definition.js';
import { formatProblem } from '../../src/util/problems.js';

const messages = (text: string) =>
  parseOffersFile('offers/x.yaml', text, 'Asia/Seoul').problems.map((p) => formatProblem(p));

describe('offers/*.yaml', () => {
  it('parses a list of offers with validity in the project time zone', () => {
    const r = parseOffersFile(
      'offers/x.yaml',
      '- id: a\n  title: A\n  value: { kind: percent, amount: 10 }\n  valid: { from: 2025-03-01, to: 2025-03-31 }\n  frequency_cap: { max: 2, per: 7d }\n',
      'Asia/Seoul',
    );
    expect(r.problems).toEqual([]);
    const o = r.offers[0]!;
    expect(new Date(o.validFromMs!).toISOString()).toBe('2025-02-28T15:00:00.000Z');
    expect(new Date(o.validToMs!).toISOString()).toBe('2025-03-31T14:59:59.999Z');
    expect(o.capSeconds).toBe(7 * 86_400);
    expect(dayStartMs('2025-07-01', 'UTC')).toBe(Date.parse('2025-07-01T00:00:00Z'));
  });

  it('names the file, line and column of unknown keys, bad values and inconsistent fields', () => {
    expect(messages('- id: a\n  title: A\n  value: { kind: percent }\n  chanels: [app]\n')).toEqual([
      "offers/x.yaml:4:3: unknown key 'chanels' (did you mean 'channels'?)",
    ]);
    const m = messages(
      '- id: a\n  title: A\n  value: { kind: coupon }\n- id: b\n  title: B\n  value: { kind: gift }\n  context: { hours: [14, 11] }\n  valid: { from: 2025-05-01, to: 2025-04-01 }\n',
    );
    expect(m.some((x) => x.startsWith('offers/x.yaml:3:18:') && x.includes('coupon'))).toBe(true);
    expect(m).toContain("offers/x.yaml:8:34: 'to' is before 'from'");
    expect(m.some((x) => /^offers\/x\.yaml:7:\d+: hours are \[from, to\)/.test(x))).toBe(true);
    expect(messages('id: a\n')[0]).toMatch(/^offers\/x\.yaml:1:1: an offers file holds a list of offers/);
  });
});
