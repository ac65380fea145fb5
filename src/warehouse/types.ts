/** Mapping between Tagverse column types and DuckDB types. */
import type { ColumnType } from '../config/schema.js';

export function duckdbType(t: ColumnType): string {
  switch (t) {
    case 'string':
      return 'VARCHAR';
    case 'integer':
      return 'BIGINT';
    case 'double':
      return 'DOUBLE';
    case 'boolean':
      return 'BOOLEAN';
    case 'date':
      return 'DATE';
    case 'timestamp':
      return 'TIMESTAMP WITH TIME ZONE';
    default: {
      const m = /^decimal\((\d+),\s*(\d+)\)$/.exec(t);
      if (!m) throw new Error(`unknown column type ${t}`);
      return `DECIMAL(${m[1]}, ${m[2]})`;
    }
  }
}

/** The Tagverse type a DuckDB column type reads as (for catalogs and the language's type checker). */
export function tagverseType(duck: string): ColumnType | 'other' {
  const t = duck.toUpperCase();
  if (t === 'VARCHAR' || t.startsWith('VARCHAR(') || t === 'UUID') return 'string';
  if (
    [
      'TINYINT',
      'SMALLINT',
      'INTEGER',
      'BIGINT',
      'HUGEINT',
      'UTINYINT',
      'USMALLINT',
      'UINTEGER',
      'UBIGINT',
    ].includes(t)
  )
    return 'integer';
  if (t === 'DOUBLE' || t === 'FLOAT' || t === 'REAL') return 'double';
  if (t.startsWith('DECIMAL')) return t.replace(/\s+/g, '').toLowerCase() as ColumnType;
  if (t === 'BOOLEAN') return 'boolean';
  if (t === 'DATE') return 'date';
  if (t.startsWith('TIMESTAMP')) return 'timestamp';
  return 'other';
}

/** Normalize a DuckDB type name so two spellings of the same type compare equal. */
export function sameDuckType(a: string, b: string): boolean {
  const norm = (s: string) =>
    s
      .toUpperCase()
      .replace(/\s+/g, '')
      .replace('TIMESTAMPTZ', 'TIMESTAMPWITHTIMEZONE')
      .replace(/^INT8$/, 'BIGINT')
      .replace(/^FLOAT8$/, 'DOUBLE');
  return norm(a) === norm(b);
}
