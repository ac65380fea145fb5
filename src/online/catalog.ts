/**
 * The tag catalog as the store sees it: each tag's definition, governance fields, a version (hash of
 * the definition), its coverage in the latest build, and the shape of its values (true/false/null
 * counts, a histogram, or the most common values), all from the served values.
 */
import type { TagCoverage } from '../engine/build.js';
import { type Column, isoFromMicros, lowerBound, type NumberColumn, valueCounts } from './columns.js';
import type { TagMeta, TagStore } from './store.js';

export interface TagSummary {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly category: string;
  readonly owner: string;
  readonly status: string;
  readonly type: string;
  readonly kind: string;
  readonly version: string;
  readonly coverage: Omit<TagCoverage, 'name' | 'category' | 'type'>;
}

export type Distribution =
  | { readonly kind: 'boolean'; readonly true: number; readonly false: number; readonly null: number }
  | {
      readonly kind: 'histogram';
      readonly min: number | string | null;
      readonly max: number | string | null;
      readonly bins: readonly {
        readonly from: number | string;
        readonly to: number | string;
        readonly count: number;
      }[];
      readonly null: number;
    }
  | {
      readonly kind: 'top_values';
      readonly values: readonly { readonly value: string; readonly count: number }[];
      readonly distinct: number;
      readonly null: number;
    };

export interface TagDetail extends TagSummary {
  readonly dependsOn: readonly string[];
  readonly definition: Readonly<Record<string, unknown>>;
  /** The build the served values are from. */
  readonly buildId: number;
  readonly entities: number;
  readonly distribution: Distribution;
}

function coverageOf(store: TagStore, m: TagMeta): TagSummary['coverage'] {
  const c = store.coverage.find((x) => x.name === m.name);
  if (c) {
    const { name: _n, category: _c, type: _t, ...rest } = c;
    return rest;
  }
  const col = store.tags.get(m.name);
  const n = store.size || 1;
  if (!col) return { nonNull: 0 };
  switch (col.kind) {
    case 'boolean':
      return { nonNull: (col.trueSet.size + col.falseSet.size) / n, trueShare: col.trueSet.size / n };
    case 'number':
      return { nonNull: col.nonNull.size / n };
    case 'string':
      return { nonNull: col.nonNull.size / n, distinct: col.dict.length };
    case 'list':
      return { nonNull: col.nonNull.size / n };
  }
}

function summary(store: TagStore, m: TagMeta): TagSummary {
  return {
    name: m.name,
    title: m.title,
    description: m.description,
    category: m.category,
    owner: m.owner,
    status: m.status,
    type: m.type,
    kind: m.kind,
    version: m.version,
    coverage: coverageOf(store, m),
  };
}

/** Every tag, in catalog order, optionally of one category or status. */
export function listTags(store: TagStore, filter: { category?: string; status?: string } = {}): TagSummary[] {
  return [...store.meta.values()]
    .filter(
      (m) =>
        (filter.category === undefined || m.category === filter.category) &&
        (filter.status === undefined || m.status === filter.status),
    )
    .map((m) => summary(store, m));
}

function display(col: NumberColumn, v: number): number | string {
  if (col.valueType === 'time') return isoFromMicros(v);
  if (col.valueType === 'date') return new Date(v * 86_400_000).toISOString().slice(0, 10);
  return v;
}

export function distribution(store: TagStore, col: Column, bins = 20, top = 10): Distribution {
  const n = store.size;
  switch (col.kind) {
    case 'boolean': {
      let t = 0;
      let f = 0;
      for (const v of col.values) {
        if (v === 1) t++;
        else if (v === 0) f++;
      }
      return { kind: 'boolean', true: t, false: f, null: n - t - f };
    }
    case 'number': {
      const m = col.sorted.length;
      if (m === 0) return { kind: 'histogram', min: null, max: null, bins: [], null: n };
      const min = col.values[col.sorted[0]!]!;
      const max = col.values[col.sorted[m - 1]!]!;
      const out: { from: number | string; to: number | string; count: number }[] = [];
      if (min === max) out.push({ from: display(col, min), to: display(col, max), count: m });
      else {
        const width = (max - min) / bins;
        let prev = 0;
        for (let b = 1; b <= bins; b++) {
          const edge = b === bins ? m : lowerBound(col, min + width * b, false);
          out.push({
            from: display(col, min + width * (b - 1)),
            to: display(col, b === bins ? max : min + width * b),
            count: edge - prev,
          });
          prev = edge;
        }
      }
      return { kind: 'histogram', min: display(col, min), max: display(col, max), bins: out, null: n - m };
    }
    case 'string':
    case 'list':
      return {
        kind: 'top_values',
        values: valueCounts(col, top),
        distinct: col.dict.length,
        null: n - col.nonNull.size,
      };
  }
}

/** One tag with its definition and the distribution of its served values. */
export function tagDetail(store: TagStore, name: string): TagDetail | undefined {
  const m = store.meta.get(name);
  const col = store.tags.get(name);
  if (!m || !col) return undefined;
  return {
    ...summary(store, m),
    dependsOn: m.dependsOn,
    definition: m.definition,
    buildId: store.info.buildId,
    entities: store.size,
    distribution: distribution(store, col),
  };
}
