/**
 * Model features: which tag or profile attribute each feature reads, how it becomes a number or a
 * category, the SQL that reads it next to a table of computed tag values, and the fast path from a
 * DuckDB result into typed columns.
 *
 * Encodings (one per value type, so training and scoring read features identically):
 * - number → the number; boolean → 1/0; time or date → days before the as-of time (so the same
 *   feature means the same thing at every cutoff); category → its text; list → its top value (text).
 * Categorical features keep their most frequent `MAX_LEVELS` values as levels (sorted); rarer values
 * become the level "(other)". At scoring, a value that is not a level is "(other)" when the feature has
 * that level (it was rare in training, or is new), else missing.
 */
import { duckdbDialect } from '../compile/duckdb/dialect.js';
import type { TagType, ValueType } from '../lang/ir.js';
import { ident, qualified } from '../warehouse/sql.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import type { FeatureColumn } from './matrix.js';

export type FeatureSource =
  | { readonly kind: 'tag'; readonly tag: string }
  | { readonly kind: 'profile'; readonly source: string; readonly column: string };

export type FeatureEncoding = 'number' | 'boolean' | 'days_before' | 'category' | 'top_value';

export interface FeatureSpec {
  /** The tag name, or `source.column` for a profile attribute. */
  readonly name: string;
  readonly source: FeatureSource;
  readonly encoding: FeatureEncoding;
}

/** Most levels a categorical feature keeps (one more, "(other)", takes the rest). */
export const MAX_LEVELS = 254;
export const OTHER_LEVEL = '(other)';

export function isCategorical(e: FeatureEncoding): boolean {
  return e === 'category' || e === 'top_value';
}

/** The encoding of a tag type, or of a profile column's value type; undefined when unusable. */
export function encodingOf(t: TagType | ValueType | 'other'): FeatureEncoding | undefined {
  switch (t) {
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'date':
    case 'time':
      return 'days_before';
    case 'category':
    case 'string':
      return 'category';
    case 'list':
      return 'top_value';
    default:
      return undefined;
  }
}

/** SQL alias of a profile source joined to the values table. */
export const profileAlias = (source: string) => ident(`p_${source}`);

/** The column reference of a feature: tags from `values` (alias), profile attributes from their join. */
export function featureRef(f: FeatureSpec, valuesAlias: string): string {
  return f.source.kind === 'tag'
    ? `${valuesAlias}.${ident(f.source.tag)}`
    : `${profileAlias(f.source.source)}.${ident(f.source.column)}`;
}

/** The SQL of a feature's encoded value as of `asOfMicros`. */
export function featureSql(f: FeatureSpec, asOfMicros: number, valuesAlias: string): string {
  const ref = featureRef(f, valuesAlias);
  switch (f.encoding) {
    case 'number':
    case 'boolean':
      return `CAST(${ref} AS DOUBLE)`;
    case 'days_before':
      return `(epoch_us(${duckdbDialect.instant(asOfMicros)}) - epoch_us(CAST(${ref} AS TIMESTAMPTZ))) / 86400000000.0`;
    case 'category':
      return `CAST(${ref} AS VARCHAR)`;
    case 'top_value':
      return `CAST((${ref})[1]."value" AS VARCHAR)`;
  }
}

/** LEFT JOINs of the profile sources the features read, onto the values table's entity column. */
export function profileJoins(
  sources: Iterable<string>,
  entityKeys: Readonly<Record<string, string>>,
  valuesAlias: string,
  entityColumn: string,
): string {
  return [...new Set(sources)]
    .sort()
    .map(
      (s) =>
        `LEFT JOIN ${qualified('main', s)} AS ${profileAlias(s)} ON ${profileAlias(s)}.${ident(entityKeys[s]!)} = ${valuesAlias}.${ident(entityColumn)}`,
    )
    .join(' ');
}

export function profileSourcesOf(features: readonly FeatureSpec[]): string[] {
  return features.flatMap((f) => (f.source.kind === 'profile' ? [f.source.source] : []));
}

export type ColumnKind = 'text' | 'number';

/**
 * Read a query's columns into arrays, chunk by chunk: 'text' columns as strings (null kept), 'number'
 * columns as Float64Array (null = NaN).
 */
export async function readColumns(
  wh: Warehouse,
  sql: string,
  kinds: readonly ColumnKind[],
): Promise<{ rows: number; columns: (Float64Array | (string | null)[])[] }> {
  const result = await wh.connection.stream(sql);
  const text: (string | null)[][] = kinds.map(() => []);
  const chunks: Float64Array[][] = kinds.map(() => []);
  let rows = 0;
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const count = chunk.rowCount;
    kinds.forEach((k, c) => {
      const v = chunk.getColumnVector(c);
      if (k === 'text') {
        const out = text[c]!;
        for (let i = 0; i < count; i++) {
          const x = v.getItem(i);
          out.push(x === null ? null : String(x));
        }
      } else {
        const out = new Float64Array(count);
        for (let i = 0; i < count; i++) {
          const x = v.getItem(i);
          out[i] = x === null ? Number.NaN : Number(x);
        }
        chunks[c]!.push(out);
      }
    });
    rows += count;
  }
  const columns = kinds.map((k, c) => {
    if (k === 'text') return text[c]!;
    const out = new Float64Array(rows);
    let at = 0;
    for (const part of chunks[c]!) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  });
  return { rows, columns };
}

/** Levels of a categorical feature from training values: the most frequent, sorted; "(other)" for the rest. */
export function fitLevels(values: readonly (string | null)[]): string[] {
  const counts = new Map<string, number>();
  for (const v of values) if (v !== null) counts.set(v, (counts.get(v) ?? 0) + 1);
  const ranked = [...counts.entries()].sort(
    (a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0),
  );
  const kept = ranked.slice(0, MAX_LEVELS).map(([v]) => v);
  kept.sort();
  if (ranked.length > MAX_LEVELS) kept.push(OTHER_LEVEL);
  return kept;
}

/** Codes of values against fitted levels: a value not among them is "(other)" when that level exists, else missing. */
export function encodeLevels(values: readonly (string | null)[], levels: readonly string[]): Int32Array {
  const index = new Map(levels.map((l, i) => [l, i]));
  const other = index.get(OTHER_LEVEL);
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v === null) {
      out[i] = -1;
      continue;
    }
    const c = index.get(v);
    if (c !== undefined) out[i] = c;
    else out[i] = other ?? -1;
  }
  return out;
}

/** Feature columns of a read result (categorical: with the given levels, or levels fitted on them). */
export function featureColumns(
  features: readonly FeatureSpec[],
  raw: readonly (Float64Array | (string | null)[])[],
  levels?: readonly (readonly string[] | null)[],
): FeatureColumn[] {
  return features.map((f, j) => {
    const col = raw[j]!;
    if (!isCategorical(f.encoding)) return { kind: 'numeric', values: col as Float64Array };
    const values = col as (string | null)[];
    const lv = levels?.[j] ?? fitLevels(values);
    return { kind: 'categorical', codes: encodeLevels(values, lv), levels: lv };
  });
}
