/**
 * What columns each source has, with their value types: what the checker resolves names against.
 * Read from the warehouse views when the project is ingested, else from the files themselves (so
 * `tagverse check` works before the first ingest).
 */
import { existsSync } from 'node:fs';
import type { ProjectConfig } from '../config/project.js';
import { planColumns } from '../ingest/column-plan.js';
import { resolveFiles } from '../ingest/files.js';
import { describeToColumns, sniffSql } from '../ingest/readers.js';
import { tagverseType } from '../warehouse/types.js';
import { Warehouse } from '../warehouse/warehouse.js';
import type { ValueType } from './ir.js';

export type ColumnValueType = ValueType | 'other';

export interface SourceSchema {
  readonly name: string;
  readonly kind: 'events' | 'profile' | 'lookup';
  /** Columns as tags see them (the source's view: own columns plus joined lookup columns). */
  readonly columns: ReadonlyMap<string, ColumnValueType>;
  readonly entityKey?: string;
  readonly timeColumn?: string;
}

export type SourceSchemas = ReadonlyMap<string, SourceSchema>;

/** The value type a DuckDB column type is read as. */
export function valueTypeOfDuck(duck: string): ColumnValueType {
  const t = tagverseType(duck);
  switch (t) {
    case 'string':
      return 'string';
    case 'integer':
    case 'double':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'date':
      return 'date';
    case 'timestamp':
      return 'time';
    case 'other':
      return 'other';
    default:
      return t.startsWith('decimal') ? 'number' : 'other';
  }
}

function baseSchema(
  config: ProjectConfig,
  name: string,
  columns: Map<string, ColumnValueType>,
): SourceSchema {
  const src = config.sources.get(name)!;
  return {
    name,
    kind: src.kind,
    columns,
    ...(src.kind !== 'lookup' ? { entityKey: src.entityKey } : {}),
    ...(src.kind === 'events' ? { timeColumn: src.timestamp.column } : {}),
  };
}

/** Schemas of the sources present in the warehouse (their `main.<source>` views). */
export async function schemasFromWarehouse(
  wh: Warehouse,
  config: ProjectConfig,
): Promise<Map<string, SourceSchema>> {
  const out = new Map<string, SourceSchema>();
  for (const name of config.sources.keys()) {
    const cols = await wh.columns('main', name);
    if (cols.length === 0) continue;
    const columns = new Map<string, ColumnValueType>();
    for (const c of cols)
      if (c.name !== '_file_id' && c.name !== '_row') columns.set(c.name, valueTypeOfDuck(c.type));
    out.set(name, baseSchema(config, name, columns));
  }
  return out;
}

/** Schemas read off the first file of each source, with lookup columns added as ingest would. */
export async function schemasFromFiles(
  config: ProjectConfig,
  only?: ReadonlySet<string>,
): Promise<Map<string, SourceSchema>> {
  const own = new Map<string, Map<string, ColumnValueType>>();
  const wh = await Warehouse.open(':memory:');
  try {
    for (const src of config.sources.values()) {
      if (only && !only.has(src.name) && !isLookupOf(config, src.name, only)) continue;
      try {
        const files = await resolveFiles(config.dir, src.name, src.files, src.format);
        const first = files[0];
        if (!first) continue;
        const fileCols = describeToColumns(await wh.jsonRows(sniffSql(first, src)));
        const plan = planColumns(src, fileCols, config.entity.idType, first.display);
        own.set(src.name, new Map(plan.map((p) => [p.name, valueTypeOfDuck(p.tableType)])));
      } catch {
        // `tagverse check` reports unreadable sources itself; here they just have no schema.
      }
    }
  } finally {
    wh.close();
  }
  const out = new Map<string, SourceSchema>();
  for (const [name, cols] of own) {
    const src = config.sources.get(name)!;
    const columns = new Map(cols);
    if (src.kind !== 'lookup') {
      for (const lk of src.lookups) {
        const lkSrc = config.sources.get(lk.source);
        const lkCols = own.get(lk.source);
        if (!lkCols || lkSrc?.kind !== 'lookup') continue;
        for (const [c, t] of lkCols) {
          if (c === lkSrc.key) continue;
          if (lk.columns && !lk.columns.includes(c)) continue;
          columns.set(`${lk.prefix}${c}`, t);
        }
      }
    }
    out.set(name, baseSchema(config, name, columns));
  }
  return out;
}

function isLookupOf(config: ProjectConfig, name: string, only: ReadonlySet<string>): boolean {
  for (const s of only) {
    const src = config.sources.get(s);
    if (src && src.kind !== 'lookup' && src.lookups.some((l) => l.source === name)) return true;
  }
  return false;
}

/** Warehouse schemas where ingested, file schemas for the rest. */
export async function loadSchemas(config: ProjectConfig): Promise<Map<string, SourceSchema>> {
  const out = new Map<string, SourceSchema>();
  if (existsSync(config.engine.path)) {
    const wh = await Warehouse.open(config.engine.path, { readOnly: true });
    try {
      for (const [k, v] of await schemasFromWarehouse(wh, config)) out.set(k, v);
    } finally {
      wh.close();
    }
  }
  const missing = new Set([...config.sources.keys()].filter((n) => !out.has(n)));
  if (missing.size > 0)
    for (const [k, v] of await schemasFromFiles(config, missing)) if (!out.has(k)) out.set(k, v);
  return out;
}
