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
