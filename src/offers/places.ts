/**
 * Places: the rows of a lookup source with coordinates (the card world's merchants: lat, lon, city,
 * category, cuisine), read once from the warehouse, and the great-circle distance to them.
 */
import type { ProjectConfig } from '../config/project.js';
import { ident, qualified } from '../warehouse/sql.js';
import type { Warehouse } from '../warehouse/warehouse.js';

export interface Places {
  readonly source: string;
  readonly ids: readonly string[];
  readonly lat: Float64Array;
  readonly lon: Float64Array;
  /** Text columns by name (city, category, and the columns offers match on). */
  readonly columns: ReadonlyMap<string, readonly (string | null)[]>;
}

/** The first lookup source with lat and lon columns in the warehouse (or none). */
export async function defaultPlacesSource(wh: Warehouse, config: ProjectConfig): Promise<string | undefined> {
  for (const src of config.sources.values()) {
    if (src.kind !== 'lookup') continue;
    const cols = new Set((await wh.columns('main', src.name)).map((c) => c.name));
    if (cols.has('lat') && cols.has('lon')) return src.name;
  }
  return undefined;
}

/** Read a places lookup: its key, lat, lon and the wanted text columns that exist. */
export async function readPlaces(
  wh: Warehouse,
  config: ProjectConfig,
  source: string,
  wanted: readonly string[],
): Promise<Places> {
  const src = config.sources.get(source);
  if (src?.kind !== 'lookup') throw new Error(`'${source}' is not a lookup source`);
  const have = new Set((await wh.columns('main', source)).map((c) => c.name));
  const text = [...new Set(['city', 'category', ...wanted])].filter((c) => have.has(c));
  const reader = await wh.connection.runAndReadAll(
    `SELECT CAST(${ident(src.key)} AS VARCHAR), CAST(lat AS DOUBLE), CAST(lon AS DOUBLE)${text
      .map((c) => `, CAST(${ident(c)} AS VARCHAR)`)
      .join('')} FROM ${qualified('main', source)} WHERE lat IS NOT NULL AND lon IS NOT NULL ORDER BY 1`,
  );
  const cols = reader.getColumnsJS() as unknown[][];
  return {
    source,
    ids: (cols[0] ?? []) as string[],
    lat: Float64Array.from((cols[1] ?? []) as number[]),
    lon: Float64Array.from((cols[2] ?? []) as number[]),
    columns: new Map(text.map((c, k) => [c, (cols[3 + k] ?? []) as (string | null)[]])),
  };
}

const R_KM = 6371.0088;
const RAD = Math.PI / 180;

/** Great-circle (haversine) distance in km. */
export function distanceKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const dLat = (lat2 - lat1) * RAD;
  const dLon = (lon2 - lon1) * RAD;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * RAD) * Math.cos(lat2 * RAD) * Math.sin(dLon / 2) ** 2;
  return 2 * R_KM * Math.asin(Math.min(1, Math.sqrt(a)));
}

/**
 * Some places (an offer's targets) sorted by latitude, for the nearest one to a point without
 * measuring the distance to all of them: a place `Δlat` degrees away is at least R·Δlat (in radians)
 * away, so the search walks outwards from the point's latitude and stops when that bound passes the
 * best distance found (or the most that matters).
 */
export class NearestIndex {
  /** Indices into places, and their position in the list given, sorted by latitude. */
  private readonly order: Uint32Array;
  private readonly position: Uint32Array;
  private readonly lats: Float64Array;

  constructor(
    private readonly places: Places,
    targets: Uint32Array,
  ) {
    const pos = Uint32Array.from(targets.keys()).sort(
      (a, b) => places.lat[targets[a]!]! - places.lat[targets[b]!]! || a - b,
    );
    this.position = pos;
    this.order = pos.map((k) => targets[k]!);
    this.lats = Float64Array.from(this.order, (p) => places.lat[p]!);
  }

  /**
   * The nearest place (index into places) and its distance: exactly what scanning the list in order
   * and keeping the first strictly nearer place finds — the smallest distance, ties to the place
   * listed first — as long as it is within `maxKm` (undefined: none within it, or no places).
   */
  nearest(
    lat: number,
    lon: number,
    maxKm = Number.POSITIVE_INFINITY,
  ): { place: number; km: number } | undefined {
    const n = this.order.length;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.lats[mid]! < lat) lo = mid + 1;
      else hi = mid;
    }
    let best = -1;
    let bestKm = Number.POSITIVE_INFINITY;
    let bestPos = Number.POSITIVE_INFINITY;
    // Far enough in latitude alone: with a margin far above floating-point error in distanceKm.
    const beyond = (i: number) => {
      const bound = R_KM * Math.abs(this.lats[i]! - lat) * RAD;
      const limit = Math.min(bestKm, maxKm);
      return bound > limit * (1 + 1e-9) + 1e-9;
    };
    const visit = (i: number) => {
      const p = this.order[i]!;
      const km = distanceKm(lat, lon, this.places.lat[p]!, this.places.lon[p]!);
      const pos = this.position[i]!;
      if (km < bestKm || (km === bestKm && pos < bestPos)) {
        best = p;
        bestKm = km;
        bestPos = pos;
      }
    };
    let down = lo - 1;
    let up = lo;
    while (down >= 0 || up < n) {
      const downDone = down < 0 || beyond(down);
      const upDone = up >= n || beyond(up);
      if (downDone && upDone) break;
      if (!upDone) visit(up++);
      else up = n;
      if (!downDone) visit(down--);
      else down = -1;
    }
    return best < 0 || bestKm > maxKm ? undefined : { place: best, km: bestKm };
  }
}
