/**
 * SQL text helpers for the embedded DuckDB warehouse. Every identifier is quoted and every literal
 * escaped here, so no name or value a user supplies can change the meaning of a statement.
 */

/** A double-quoted identifier; embedded quotes are doubled. */
export function ident(name: string): string {
  if (name.includes('\u0000')) throw new Error('identifiers cannot contain NUL characters');
  return `"${name.replace(/"/g, '""')}"`;
}

/** `schema.table`, both parts quoted. */
export function qualified(schema: string, table: string): string {
  return `${ident(schema)}.${ident(table)}`;
}

/** A single-quoted string literal; embedded quotes are doubled. */
export function str(value: string): string {
  if (value.includes('\u0000')) throw new Error('string literals cannot contain NUL characters');
  return `'${value.replace(/'/g, "''")}'`;
}

/** A numeric literal, refusing values that are not finite numbers. */
export function num(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`not a finite number: ${value}`);
  return String(value);
}

/** `[...]` list literal of strings. */
export function strList(values: readonly string[]): string {
  return `[${values.map(str).join(', ')}]`;
}
