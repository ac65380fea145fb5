/**
 * The feature matrix the learners read: one typed column per feature, rows in a fixed order.
 *
 * - numeric columns are Float64Array with NaN for a missing value (booleans are 0/1, times are days);
 * - categorical columns are Int32Array codes into the feature's `levels`, -1 for a missing value.
 *
 * Learners never see names or SQL: those live in the model's feature specs (model-file.ts).
 */

export type FeatureColumn =
  | { readonly kind: 'numeric'; readonly values: Float64Array }
  | { readonly kind: 'categorical'; readonly codes: Int32Array; readonly levels: readonly string[] };

export interface FeatureMatrix {
  readonly rows: number;
  readonly columns: readonly FeatureColumn[];
}

/** Code of a missing categorical value. */
export const MISSING_CODE = -1;

/** The rows `index` of a matrix (a training/validation split), as a new matrix. */
export function takeRows(m: FeatureMatrix, index: Uint32Array): FeatureMatrix {
  const columns = m.columns.map((c): FeatureColumn => {
    if (c.kind === 'numeric') {
      const out = new Float64Array(index.length);
      for (let i = 0; i < index.length; i++) out[i] = c.values[index[i]!]!;
      return { kind: 'numeric', values: out };
    }
    const out = new Int32Array(index.length);
    for (let i = 0; i < index.length; i++) out[i] = c.codes[index[i]!]!;
    return { kind: 'categorical', codes: out, levels: c.levels };
  });
  return { rows: index.length, columns };
}

/** Elements `index` of a typed array. */
export function takeValues(values: Float64Array, index: Uint32Array): Float64Array {
  const out = new Float64Array(index.length);
  for (let i = 0; i < index.length; i++) out[i] = values[index[i]!]!;
  return out;
}

/** Concatenate matrices with the same columns (categorical levels must be identical). */
export function concatRows(parts: readonly FeatureMatrix[]): FeatureMatrix {
  const first = parts[0];
  if (!first) return { rows: 0, columns: [] };
  const rows = parts.reduce((s, p) => s + p.rows, 0);
  const columns = first.columns.map((c, j): FeatureColumn => {
    if (c.kind === 'numeric') {
      const out = new Float64Array(rows);
      let at = 0;
      for (const p of parts) {
        const x = p.columns[j] as Extract<FeatureColumn, { kind: 'numeric' }>;
        out.set(x.values, at);
        at += p.rows;
      }
      return { kind: 'numeric', values: out };
    }
    const out = new Int32Array(rows);
    let at = 0;
    for (const p of parts) {
      const x = p.columns[j] as Extract<FeatureColumn, { kind: 'categorical' }>;
      out.set(x.codes, at);
      at += p.rows;
    }
    return { kind: 'categorical', codes: out, levels: c.levels };
  });
  return { rows, columns };
}
