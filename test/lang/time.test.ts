import { describe, expect, it } from 'vitest';
import { localDateDays, localParts, localPartsIcu } from '../../src/lang/time.js';

const ZONES = [
  'Europe/Paris',
  'America/New_York',
  'Australia/Lord_Howe',
  'Asia/Kolkata',
  'Asia/Kathmandu',
  'Pacific/Chatham',
  'America/St_Johns',
  'Asia/Seoul',
  'UTC',
];
const DAY_MS = 86_400_000;

const same = (us: number, tz: string) =>
  JSON.stringify(localParts(us, tz)) === JSON.stringify(localPartsIcu(us, tz));
const hourOf = (us: number, tz: string) => {
  const p = localPartsIcu(us, tz);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute) - Math.floor(us / 60_000_000) * 60_000;
};

describe('local calendar parts', () => {
  it('the cached quarter-hour offsets give exactly what ICU gives, at and around every DST change of 2025', () => {
    const wrong: string[] = [];
    let transitions = 0;
    for (const tz of ZONES) {
      for (let day = Date.UTC(2025, 0, 1); day < Date.UTC(2026, 0, 1); day += DAY_MS) {
        const changes = hourOf(day * 1000, tz) !== hourOf((day + DAY_MS - 1) * 1000, tz);
        if (changes) transitions++;
        // The whole day quarter hour by quarter hour (±1 µs) when the offset changes that day, else a few instants.
        const step = changes ? 15 * 60_000 : 6 * 3_600_000 + 7 * 60_000;
        for (let ms = day; ms < day + DAY_MS; ms += step) {
          for (const us of [ms * 1000 - 1, ms * 1000, ms * 1000 + 1])
            if (!same(us, tz)) wrong.push(`${tz} ${us}`);
        }
      }
    }
    expect(wrong).toEqual([]);
    // Paris, New York, Lord Howe, Chatham and St John's change twice each in 2025.
    expect(transitions).toBe(10);
  });

  it('local dates (days since 1970) equal the date ICU gives, around midnights, DST changes and before 1970', () => {
    const wrong: string[] = [];
    const icuDays = (us: number, tz: string) => {
      const p = localPartsIcu(us, tz);
      return Date.UTC(p.year, p.month - 1, p.day) / DAY_MS;
    };
    for (const tz of ZONES) {
      for (const start of [Date.UTC(1969, 11, 20), Date.UTC(2025, 2, 1), Date.UTC(2025, 9, 20)]) {
        // Every 37 minutes over three weeks (±1 µs), in two interleaved zones: the one-entry cache of
        // the last quarter hour must not carry a zone's offset over to the other.
        for (let ms = start; ms < start + 21 * DAY_MS; ms += 37 * 60_000) {
          for (const us of [ms * 1000 - 1, ms * 1000, ms * 1000 + 1]) {
            if (localDateDays(us, tz) !== icuDays(us, tz)) wrong.push(`${tz} ${us}`);
            if (localDateDays(us, 'Pacific/Kiritimati') !== icuDays(us, 'Pacific/Kiritimati'))
              wrong.push(`Pacific/Kiritimati ${us}`);
          }
        }
      }
    }
    expect(wrong).toEqual([]);
  });
});
