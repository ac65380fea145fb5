/** The dedupe window's memory of messageIds: expiry by time, a cap that forgets the oldest first. */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { Deduper } from '../../src/realtime/deduper.js';

describe('Deduper', () => {
  test('remembers ids for the window and forgets them in acceptance order', () => {
    const d = new Deduper(1000, 100);
    d.add('a', 1, 0);
    d.add('b', 2, 500);
    d.add('a', 9, 600); // already there: keeps its first seq
    expect(d.seqOf('a')).toBe(1);
    d.expire(999);
    expect(d.seqOf('a')).toBe(1);
    d.expire(1000);
    expect(d.seqOf('a')).toBeUndefined();
    expect(d.seqOf('b')).toBe(2);
    expect(d.oldestAt).toBe(500);
    d.expire(1500);
    expect(d.size).toBe(0);
    expect(d.oldestAt).toBeUndefined();
  });

  test('past the cap the oldest ids go first, and are counted', () => {
    const d = new Deduper(86_400_000, 3);
    for (let i = 0; i < 5; i++) d.add(`m${i}`, i, i);
    expect(d.size).toBe(3);
    expect(d.evicted).toBe(2);
    expect(d.seqOf('m0')).toBeUndefined();
    expect(d.seqOf('m1')).toBeUndefined();
    expect(d.seqOf('m4')).toBe(4);
    expect(d.oldestAt).toBe(2);
    expect(() => new Deduper(1000, 0)).toThrow(/at least 1/);
  });

  test('stays aligned after its time queue is compacted (many ids through a small cap)', () => {
    const d = new Deduper(86_400_000, 100);
    for (let i = 0; i < 20_000; i++) d.add(`m${i}`, i, i * 10);
    expect(d.size).toBe(100);
    expect(d.evicted).toBe(19_900);
    expect(d.oldestAt).toBe(19_900 * 10);
    expect(d.seqOf('m19899')).toBeUndefined();
    expect(d.seqOf('m19900')).toBe(19_900);
    d.expire(86_400_000 + 19_950 * 10);
    expect(d.oldestAt).toBe(19_951 * 10);
    expect(d.size).toBe(49);
  });

  test('equals a plain model (ids with times, expired by time, capped oldest first) on random operations', () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant('add' as const), id: fc.integer({ min: 0, max: 30 }), dt: fc.nat(50) }),
      fc.record({ k: fc.constant('expire' as const), dt: fc.nat(200) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 3000 }), fc.integer({ min: 1, max: 20 }), (ops, cap) => {
        const d = new Deduper(300, cap);
        const model: { id: string; seq: number; at: number }[] = [];
        let now = 0;
        let seq = 0;
        for (const o of ops) {
          now += o.dt;
          if (o.k === 'add') {
            const id = `m${o.id}`;
            seq++;
            d.add(id, seq, now);
            if (!model.some((m) => m.id === id)) {
              model.push({ id, seq, at: now });
              if (model.length > cap) model.shift();
            }
          } else {
            d.expire(now);
            while (model.length > 0 && model[0]!.at <= now - 300) model.shift();
          }
          expect(d.size).toBe(model.length);
          expect(d.oldestAt).toBe(model[0]?.at);
        }
        for (let i = 0; i <= 30; i++) expect(d.seqOf(`m${i}`)).toBe(model.find((m) => m.id === `m${i}`)?.seq);
      }),
      { numRuns: 200 },
    );
  });
});
