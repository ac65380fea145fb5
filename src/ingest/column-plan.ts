/**
 * The column plan of a source: which file columns land in the warehouse, under which names and types.
 * Listed columns keep their configured names; unlisted ones get a normalized snake_case name
 * (`customerID` -> `customer_id`, `Total Charges` -> `total_charges`) so tags can name them plainly.
 */
import type { SourceConfig } from '../config/project.js';
import { didYouMeanSuffix } from '../util/did-you-mean.js';
import { TagverseError } from '../util/problems.js';
import { duckdbType, sameDuckType } from '../warehouse/types.js';

export interface FileColumn {
  readonly name: string;
  /** DuckDB type as detected from the file. */
  readonly type: string;
}

export type ColumnRole = 'entity' | 'timestamp' | 'event_id' | 'key';

export interface PlannedColumn {
  /** Name in the warehouse (and in tags). */
  readonly name: string;
  /** Name in the file. */
  readonly fileColumn: string;
  /** DuckDB type detected in the file. */
  readonly fileType: string;
  /** DuckDB type of the warehouse column. */
  readonly tableType: string;
  readonly role?: ColumnRole;
  /** True when the type comes from the config rather than from detection. */
  readonly declared: boolean;
}

/** Reserved provenance columns every raw table carries. */
export const PROVENANCE_COLUMNS = ['_file_id', '_row'] as const;

/** `customerID` -> `customer_id`, `Total Charges` -> `total_charges`, `12mo` -> `c_12mo`. */
export function normalizeColumnName(name: string): string {
  let s = name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (s === '') s = 'column';
  if (/^[0-9]/.test(s)) s = `c_${s}`;
  return s;
}

/** Names the config refers to, with the role each plays. */
function roles(source: SourceConfig): Map<string, ColumnRole> {
  const r = new Map<string, ColumnRole>();
  if (source.kind === 'events') {
    r.set(source.timestamp.column, 'timestamp');
    if (source.eventId !== undefined) r.set(source.eventId, 'event_id');
    r.set(source.entityKey, 'entity');
  } else if (source.kind === 'profile') {
    r.set(source.entityKey, 'entity');
  } else {
    r.set(source.key, 'key');
  }
  return r;
}

/**
 * Plan the columns of `source` for a file with `fileColumns`.
 * `existing` (the raw table's columns, when it already exists) pins names and types so later files
 * are read into the same shape; a file that does not fit is an error naming the difference.
 */
export function planColumns(
  source: SourceConfig,
  fileColumns: readonly FileColumn[],
  entityIdType: 'string' | 'integer',
  fileLabel: string,
  existing?: readonly { name: string; type: string }[],
): PlannedColumn[] {
  const byFileName = new Map(fileColumns.map((c) => [c.name, c]));
  const fileNames = fileColumns.map((c) => c.name);
  const roleOf = roles(source);
  const planned: PlannedColumn[] = [];
  const usedFileColumns = new Set<string>();
  const names = new Set<string>();
  const add = (name: string, file: FileColumn, declaredType: string | undefined) => {
    if (names.has(name)) {
      throw new TagverseError(
        'ingest.column_clash',
        `source '${source.name}': two columns of ${fileLabel} map to the name '${name}'; rename one under 'columns'`,
      );
    }
    names.add(name);
    usedFileColumns.add(file.name);
    const role = roleOf.get(name);
    let tableType = declaredType ?? file.type;
    if (role === 'timestamp') tableType = 'TIMESTAMP WITH TIME ZONE';
    if (role === 'entity') tableType = entityIdType === 'integer' ? 'BIGINT' : 'VARCHAR';
    planned.push({
      name,
      fileColumn: file.name,
      fileType: file.type,
      tableType,
      declared: declaredType !== undefined,
      ...(role ? { role } : {}),
    });
  };

  for (const spec of source.columns) {
    const file = byFileName.get(spec.from);
    if (!file) {
      throw new TagverseError(
        'ingest.missing_column',
        `source '${source.name}': ${fileLabel} has no column '${spec.from}'${didYouMeanSuffix(spec.from, fileNames)} (columns: ${fileNames.join(', ')})`,
      );
    }
    add(spec.name, file, spec.type ? duckdbType(spec.type) : undefined);
  }
  for (const file of fileColumns) {
    if (usedFileColumns.has(file.name) || source.excludeColumns.includes(file.name)) continue;
    const name = normalizeColumnName(file.name);
    if (!source.keepUnlistedColumns && !roleOf.has(name)) continue;
    if ((PROVENANCE_COLUMNS as readonly string[]).includes(name)) {
      throw new TagverseError(
        'ingest.reserved_column',
        `source '${source.name}': column '${file.name}' of ${fileLabel} uses the reserved name '${name}'; rename it under 'columns'`,
      );
    }
    add(name, file, undefined);
  }
  for (const [name, role] of roleOf) {
    if (!names.has(name)) {
      const what = {
        entity: 'entity key',
        timestamp: 'timestamp column',
        event_id: 'event id column',
        key: 'key',
      }[role];
      throw new TagverseError(
        'ingest.missing_column',
        `source '${source.name}': the ${what} '${name}' is not a column of ${fileLabel}${didYouMeanSuffix(name, [...names])}`,
      );
    }
  }
  // Keep the file's column order: tables read like the files they came from.
  const order = new Map(fileColumns.map((c, i) => [c.name, i]));
  planned.sort((a, b) => order.get(a.fileColumn)! - order.get(b.fileColumn)!);
  if (!existing) return planned;
  return pinToExisting(source.name, planned, existing, fileLabel);
}

function pinToExisting(
  sourceName: string,
  planned: PlannedColumn[],
  existing: readonly { name: string; type: string }[],
  fileLabel: string,
): PlannedColumn[] {
  const byName = new Map(planned.map((p) => [p.name, p]));
  const wanted = existing.filter((c) => !(PROVENANCE_COLUMNS as readonly string[]).includes(c.name));
  const missing = wanted.filter((c) => !byName.has(c.name)).map((c) => c.name);
  const extra = planned.filter((p) => !wanted.some((c) => c.name === p.name)).map((p) => p.name);
  if (missing.length > 0 || extra.length > 0) {
    const parts = [
      missing.length > 0 ? `lacks ${missing.map((m) => `'${m}'`).join(', ')}` : '',
      extra.length > 0 ? `has new ${extra.map((m) => `'${m}'`).join(', ')}` : '',
    ].filter(Boolean);
    throw new TagverseError(
      'ingest.schema_changed',
      `source '${sourceName}': ${fileLabel} ${parts.join(' and ')} compared with the files already loaded; reload the source with --replace to change its columns`,
    );
  }
  return wanted.map((c) => {
    const p = byName.get(c.name)!;
    if ((p.declared || p.role !== undefined) && !sameDuckType(p.tableType, c.type)) {
      throw new TagverseError(
        'ingest.schema_changed',
        `source '${sourceName}': column '${c.name}' is now ${p.tableType} but was loaded as ${c.type}; reload the source with --replace to change its type`,
      );
    }
    return { ...p, tableType: c.type };
  });
}
