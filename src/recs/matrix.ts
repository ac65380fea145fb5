/**
 * The interaction matrix: entities (rows) x items (columns) in compressed sparse rows, built from one
 * weight per event. Row r holds the items of entity r at indices[indptr[r], indptr[r + 1]), ascending,
 * with their values.
 */
export interface Csr {
  readonly rows: number;
  readonly cols: number;
  readonly indptr: Uint32Array;
  readonly indices: Uint32Array;
  readonly values: Float64Array;
}

/**
 * Sum (row, col, weight) triples into a CSR matrix; `transform` maps each summed cell (e.g. log1p).
 * Triples with a weight that is not a finite positive number are left out.
 */
export function csrFromTriples(
  rows: number,
  cols: number,
  row: Uint32Array,
  col: Uint32Array,
  weight: Float64Array,
  transform: (v: number) => number = (v) => v,
): Csr {
  const n = row.length;
  // Counting sort by row, then per row by column (small rows: insertion order sorted in place).
  const counts = new Uint32Array(rows + 1);
  for (let e = 0; e < n; e++) if (weight[e]! > 0 && Number.isFinite(weight[e]!)) counts[row[e]! + 1]!++;
  for (let r = 0; r < rows; r++) counts[r + 1]! += counts[r]!;
  const start = counts.slice();
  const c = new Uint32Array(counts[rows]!);
  const w = new Float64Array(counts[rows]!);
  for (let e = 0; e < n; e++) {
    const v = weight[e]!;
    if (!(v > 0 && Number.isFinite(v))) continue;
    const p = start[row[e]!]!++;
    c[p] = col[e]!;
    w[p] = v;
  }
  const indptr = new Uint32Array(rows + 1);
  const indices: number[] = [];
  const values: number[] = [];
  const order: number[] = [];
  for (let r = 0; r < rows; r++) {
    const a = counts[r]!;
    const b = counts[r + 1]!;
    order.length = 0;
    for (let p = a; p < b; p++) order.push(p);
    order.sort((x, y) => c[x]! - c[y]!);
    let last = -1;
    for (const p of order) {
      if (c[p] === last) values[values.length - 1]! += w[p]!;
      else {
        indices.push(c[p]!);
        values.push(w[p]!);
        last = c[p]!;
      }
    }
    indptr[r + 1] = indices.length;
  }
  const vals = Float64Array.from(values);
  for (let k = 0; k < vals.length; k++) vals[k] = transform(vals[k]!);
  return { rows, cols, indptr, indices: Uint32Array.from(indices), values: vals };
}

/** Entities per item (column support): how many rows hold each column. */
export function columnSupport(x: Csr): Float64Array {
  const out = new Float64Array(x.cols);
  for (let k = 0; k < x.indices.length; k++) out[x.indices[k]!]!++;
  return out;
}

/** Column indices ordered by support, highest first (ties by index). */
export function columnsByPopularity(x: Csr): Uint32Array {
  const s = columnSupport(x);
  const order = new Uint32Array(x.cols);
  for (let i = 0; i < x.cols; i++) order[i] = i;
  order.sort((a, b) => s[b]! - s[a]! || a - b);
  return order;
}
