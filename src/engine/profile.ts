/**
 * `tagverse profile ID`: an entity's tag values grouped by category, from the latest build, or as
 * they were at a past time (read from tag history).
 */
import { type ProjectConfig, requireProject } from '../config/project.js';
import { schemasFromWarehouse } from '../lang/schemas.js';
import { TagverseError } from '../util/problems.js';
import { str } from '../warehouse/sql.js';
import { Warehouse } from '../warehouse/warehouse.js';
import { isoFromMicros, resolveAsOf } from './as-of.js';
import { BUILDS, CURRENT, ENTITY_ID, HISTORY } from './build.js';
import { loadProgram } from './program.js';

export interface ProfileTag {
  readonly name: string;
  readonly title: string;
  readonly type: string;
  readonly value: unknown;
}

export interface Profile {
  readonly entityId: string;
  /** The as-of time the values hold for. */
  readonly asOf: string;
  readonly source: 'current' | 'history';
  /** Tag values by category, in catalog order. */
  readonly categories: Readonly<Record<string, readonly ProfileTag[]>>;
}

export interface ProfileOptions {
  /** Past time to read from history (ISO date or date-time); default: the latest build. */
  readonly asOf?: string;
}

/**
 * @example
 *   const p = await profile('./world', 'C0000042');
 *   console.log(p.categories.preference);
 */
export async function profile(
  project: ProjectConfig | string,
  entityId: string,
  opts: ProfileOptions = {},
): Promise<Profile> {
  const config = typeof project === 'string' ? requireProject(project) : project;
  const wh = await Warehouse.open(config.engine.path, { readOnly: true });
  try {
    if (!(await wh.tableExists('tags', 'current'))) {
      throw new TagverseError('profile.not_built', 'no tags are built yet: run tagverse build');
    }
    const { program } = await loadProgram(config, await schemasFromWarehouse(wh, config));
    const meta = new Map((program?.tags ?? []).map((t) => [t.name as string, t]));
    const idLit = config.entity.idType === 'integer' && /^-?\d+$/.test(entityId) ? entityId : str(entityId);
    let values: Map<string, unknown>;
    let asOf: string;
    let source: Profile['source'];
    if (opts.asOf === undefined) {
      const rows = await wh.objects(`SELECT * FROM ${CURRENT} WHERE ${ENTITY_ID} = ${idLit}`);
      const row = rows[0];
      if (!row) throw unknownEntity(config, entityId);
      values = new Map(Object.entries(row).filter(([k]) => k !== ENTITY_ID));
      const last = await wh.scalar<bigint | null>(`SELECT epoch_us(max(as_of)) FROM ${BUILDS}`);
      asOf = last === null || last === undefined ? '' : isoFromMicros(Number(last));
      source = 'current';
    } else {
      const T = await resolveAsOf(opts.asOf, wh, {
        timezone: config.timezone,
        eventSources: [],
        now: () => new Date(),
      });
      const first = await wh.scalar<bigint | null>(`SELECT epoch_us(min(valid_from)) FROM ${HISTORY}`);
      if (first === null || first === undefined || Number(first) > T) {
        throw new TagverseError(
          'profile.no_history',
          `tag history starts ${first === null || first === undefined ? 'nowhere (no builds yet)' : `at ${isoFromMicros(Number(first))}`}; to see values at ${isoFromMicros(T)}, run tagverse build --as-of`,
        );
      }
      const instant = `CAST('${isoFromMicros(T).replace('Z', '')}Z' AS TIMESTAMPTZ)`;
      const rows = await wh.objects<{ tag: string; value: string | null }>(
        `SELECT tag, CAST(value AS VARCHAR) AS value FROM ${HISTORY} WHERE entity_id = ${str(entityId)}
           AND valid_from <= ${instant} AND (valid_to IS NULL OR valid_to > ${instant})`,
      );
      if (rows.length === 0) throw unknownEntity(config, entityId);
      values = new Map(rows.map((r) => [r.tag, r.value === null ? null : JSON.parse(r.value)]));
      asOf = isoFromMicros(T);
      source = 'history';
    }
    const categories: Record<string, ProfileTag[]> = {};
    for (const c of config.categories) categories[c.name] = [];
    for (const [name, value] of values) {
      const t = meta.get(name);
      const category = t?.category ?? 'other';
      categories[category] ??= [];
      categories[category].push({
        name,
        title: t?.title ?? name,
        type: t?.type ?? 'unknown',
        value,
      });
    }
    return { entityId, asOf, source, categories };
  } finally {
    wh.close();
  }
}

function unknownEntity(config: ProjectConfig, id: string): TagverseError {
  return new TagverseError('profile.unknown_entity', `no ${config.entity.name} '${id}' in the built tags`);
}
