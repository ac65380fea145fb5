/**
 * The nearest target place found through the latitude index (NearestIndex) is exactly the one a scan
 * of every target finds — smallest distance, ties to the target listed first, nothing beyond the
 * maximum distance — for random places (with duplicates and shared latitudes) and random points.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { distanceKm, NearestIndex, type Places } from '../../src/offers/places.js';

function scan(places: Places, targets: Uint32Array, lat: number, lon: number, maxKm?: number) {
  let best = -1;
  let bestKm = Number.POSITIVE_INFINITY;
  for (const p of targets) {
    const km = distanceKm(lat, lon, places.lat[p]!, places.lon[p]!);
    if (km < bestKm) {
      bestKm = km;
      best = p;
    }
  }
  if (best < 0 || (maxKm !== undefined && bestKm > maxKm)) return undefined;
  return { place: best, km: bestKm };
}

const coord = fc.tuple(
  fc.integer({ min: 33_000, max: 38_500 }).map((x) => x / 1000),
  fc.integer({ min: 125_000, max: 130_000 }).map((x) => x / 1000),
);

describe('NearestIndex', () => {
  it('agrees with a scan of every target', () => {
    fc.assert(
      fc.property(
        fc.array(coord, { minLength: 0, maxLength: 60 }),
        fc.array(coord, { minLength: 1, maxLength: 20 }),
        fc.option(fc.integer({ min: 0, max: 300 }), { nil: undefined }),
        fc.boolean(),
        (coords, points, maxKm, subset) => {
          // Duplicates: every third place repeats an earlier one's coordinates.
          const all = coords.map((c, i) => (i % 3 === 2 ? coords[i - 1]! : c));
          const places: Places = {
            source: 'places',
            ids: all.map((_, i) => `P${i}`),
            lat: Float64Array.from(all, (c) => c[0]),
            lon: Float64Array.from(all, (c) => c[1]),
            columns: new Map(),
          };
          const targets = Uint32Array.from(all.keys())
            .filter((i) => !subset || i % 2 === 0)
            .reverse();
          const index = new NearestIndex(places, targets);
          for (const [lat, lon] of [...points, ...all.slice(0, 5)]) {
            expect(index.nearest(lat, lon, maxKm)).toEqual(scan(places, targets, lat, lon, maxKm));
          }
        },
      ),
      { numRuns: 500, seed: 42 },
    );
  });
});
