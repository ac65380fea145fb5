/**
 * The views tags read: `main.<source>` = the raw rows of a source joined with its lookups.
 * Rebuilt after every ingest; a lookup that is not loaded yet is left out with a warning.
 */
import type { ProjectConfig } from '../config/project.js';
import { didYouMeanSuffix } from '../util/did-you-mean.js';
import { TagverseError } from '../util/problems.js';
import { ident, qualified } from '../warehouse/sql.js';
import { sameDuckType } from '../warehouse/types.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { PROVENANCE_COLUMNS } from './column-plan.js';

/** (Re)create every source view whose raw table exists; returns warnings. */
export async function rebuildViews(wh: Warehouse, config: ProjectConfig): Promise<string[]> {
  const warnings: string[] = [];
  const tables = new Map<string, { name: string; type: string }[]>();
  for (const name of config.sources.keys()) {
    if (await wh.tableExists('raw', name)) tables.set(name, await wh.columns('raw', name));
  }
  for (const [name, src] of config.sources) {
    const cols = tables.get(name);
    if (!cols) continue;
    const own = cols.filter(
      (c) => src.kind === 'events' || !(PROVENANCE_COLUMNS as readonly string[]).includes(c.name),
    );
    const select = own.map((c) => `s.${ident(c.name)}`);
    const names = new Set(own.map((c) => c.name));
    const joins: string[] = [];
    if (src.kind !== 'lookup') {
      for (const [i, lk] of src.lookups.entries()) {
        const lkCols = tables.get(lk.source);
        const lkSrc = config.sources.get(lk.source);
        if (!lkCols || !lkSrc || lkSrc.kind !== 'lookup') {
          warnings.push(
            `source '${name}': lookup '${lk.source}' is not loaded yet; its columns are missing until it is ingested`,
          );
          continue;
        }
        const on = own.find((c) => c.name === lk.on);
        if (!on) {
          throw new TagverseError(
            'ingest.bad_lookup',
            `source '${name}': lookup '${lk.source}' joins on '${lk.on}', which is not a column${didYouMeanSuffix(lk.on, names)}`,
          );
        }
        const keyCol = lkCols.find((c) => c.name === lkSrc.key)!;
        const available = lkCols.filter(
          (c) => c.name !== lkSrc.key && !(PROVENANCE_COLUMNS as readonly string[]).includes(c.name),
        );
        const wanted = lk.columns ?? available.map((c) => c.name);
        const alias = `l${i}`;
        for (const w of wanted) {
          if (!available.some((c) => c.name === w)) {
            throw new TagverseError(
              'ingest.bad_lookup',
              `source '${name}': lookup '${lk.source}' has no column '${w}'${didYouMeanSuffix(
                w,
                available.map((c) => c.name),
              )}`,
            );
          }
          const outName = `${lk.prefix}${w}`;
          if (names.has(outName)) {
            throw new TagverseError(
              'ingest.bad_lookup',
              `source '${name}': lookup '${lk.source}' column '${w}' clashes with existing column '${outName}'; set 'prefix' or list 'columns'`,
            );
          }
          names.add(outName);
          select.push(`${alias}.${ident(w)} AS ${ident(outName)}`);
        }
        const left = `s.${ident(on.name)}`;
        const right = sameDuckType(on.type, keyCol.type)
          ? `${alias}.${ident(keyCol.name)}`
          : `TRY_CAST(${alias}.${ident(keyCol.name)} AS ${on.type})`;
        joins.push(`LEFT JOIN ${qualified('raw', lk.source)} AS ${alias} ON ${left} = ${right}`);
      }
    }
    await wh.run(
      `CREATE OR REPLACE VIEW ${qualified('main', name)} AS SELECT ${select.join(', ')} FROM ${qualified('raw', name)} AS s ${joins.join(' ')}`,
    );
  }
  return warnings;
}
