/** The hand-written DST rules agree with the IANA database (via Intl) for the zones we use. */
import { describe, expect, it } from 'vitest';
import { formatOffset, offsetMinutesAt, utcFromLocal, ZONES } from '../../src/generate/timezones.js';

const formats = new Map<string, Intl.DateTimeFormat>();

function intlOffsetMinutes(zone: string, utcSeconds: number): number {
  let format = formats.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formats.set(zone, format);
  }
  const parts = format.formatToParts(new Date(utcSeconds * 1000));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  const local =
    Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second')) / 1000;
  return Math.round((local - utcSeconds) / 60);
}

describe('time zones', () => {
  it('match Intl through 2024–2026 for every zone, to the minute at DST switches', () => {
    const from = Date.UTC(2024, 0, 1) / 1000;
    const to = Date.UTC(2027, 0, 1) / 1000;
    for (const zone of Object.values(ZONES)) {
      const wrong: string[] = [];
      const check = (t: number) => {
        if (offsetMinutesAt(zone, t) !== intlOffsetMinutes(zone.name, t))
          wrong.push(new Date(t * 1000).toISOString());
      };
      // Fixed-offset zones need a few samples; DST zones a sweep.
      const step = zone.dst === 'none' ? 30 * 86400 + 3600 : 7200;
      let previous = intlOffsetMinutes(zone.name, from);
      for (let t = from; t < to; t += step) {
        const now = intlOffsetMinutes(zone.name, t);
        // Around a transition, check every minute so the exact switching instant is right.
        if (now !== previous) for (let u = t - step; u <= t; u += 60) check(u);
        else check(t);
        previous = now;
      }
      expect(wrong, zone.name).toEqual([]);
    }
  });

  it('converts local wall-clock times to instants', () => {
    // 12:00 in Paris on 1 July 2025 is 10:00 UTC (CEST); on 1 January it is 11:00 UTC.
    expect(utcFromLocal(ZONES.paris, Date.UTC(2025, 6, 1, 12) / 1000)).toBe(Date.UTC(2025, 6, 1, 10) / 1000);
    expect(utcFromLocal(ZONES.paris, Date.UTC(2025, 0, 1, 12) / 1000)).toBe(Date.UTC(2025, 0, 1, 11) / 1000);
    expect(utcFromLocal(ZONES.seoul, Date.UTC(2025, 6, 1, 12) / 1000)).toBe(Date.UTC(2025, 6, 1, 3) / 1000);
    expect(utcFromLocal(ZONES.sydney, Date.UTC(2025, 0, 15, 12) / 1000)).toBe(
      Date.UTC(2025, 0, 15, 1) / 1000,
    );
  });

  it('formats offsets the ISO 8601 way', () => {
    expect(formatOffset(540)).toBe('+09:00');
    expect(formatOffset(-300)).toBe('-05:00');
    expect(formatOffset(330)).toBe('+05:30');
    expect(formatOffset(0)).toBe('+00:00');
  });
});
