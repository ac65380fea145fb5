/**
 * Segment evaluation on the online store: a checked boolean expression (IR, entity context) becomes
 * bitmap operations over the store's indexes.
 *
 * Three-valued logic: every boolean node has a true-set and a false-set; entities in neither are
 * null ("unknown"). `not` swaps the sets, `and` intersects true-sets and unites false-sets, `or` the
 * reverse, and a segment's members are the root's true-set (null is not true). Sets are computed
 * lazily: most segments never need a false-set.
 *
 * What the indexes answer: boolean tags and attributes, comparisons of a column with a constant
 * (numbers, times and dates through the sorted buckets, text through its per-value bitmaps), `in`
 * lists of constants, `is [not] null`, `has(list_tag, 'v')`, and any sub-expression without a column
 * (folded once). Anything else (arithmetic over columns, functions, case, column-to-column
 * comparisons) falls back to evaluating that sub-expression over every entity with the reference
 * semantics (src/reference/expression.ts) — column-wise over the typed arrays (columnwise.ts) — in
 * slices that yield to the event loop and respect a deadline.
 */
import type { RefValue } from '../lang/functions.js';
import { type CompareOp, type Expr, forEachNode } from '../lang/ir.js';
import { Bitmap, type Bitmap as BitmapT, scratchOrdinals } from '../online/bitmap.js';
import {
  type Column,
  lowerBound,
  type NumberColumn,
  numberRange,
  type RangeOp,
  type StringColumn,
  stringRange,
} from '../online/columns.js';
import type { TagStore } from '../online/store.js';
import { evalExpr } from '../reference/expression.js';
import { TagverseError } from '../util/problems.js';
import { ColumnwisePlan, constantScope, entityScope } from './columnwise.js';

export interface EvaluateOptions {
  /** Epoch ms after which evaluation stops with `segment.timeout`. */
  readonly deadline?: number;
  /** Entities evaluated per slice before yielding to other work (fallback only; default 16,384). */
  readonly slice?: number;
  /**
   * Evaluate the sub-expressions the indexes cannot answer entity by entity with the reference
   * evaluator instead of column-wise (the specification the column-wise path is tested against).
   */
  readonly perEntity?: boolean;
}

export interface Evaluation {
  /** The members (the expression's true-set). Do not mutate: it may be an index bitmap. */
  readonly members: BitmapT;
  /** Sub-expressions evaluated over every entity, not from indexes (0 when indexes answered everything). */
  readonly fallbacks: number;
}

/** A boolean node: lazily computed, memoized true- and false-sets. */
interface Tri {
  t(): BitmapT;
  f(): BitmapT;
  /**
   * A numeric comparison with a constant can also answer "which of these candidates are in my
   * true-set" by reading the values of the candidates only, and say how big its true-set is without
   * building it: an `and` uses that when the other terms leave fewer candidates than the range holds.
   */
  readonly range?: { count(): number; within(candidates: BitmapT): BitmapT };
}

function lazy(fn: () => BitmapT): () => BitmapT {
  let v: BitmapT | undefined;
  return () => {
    v ??= fn();
    return v;
  };
}

function tri(t: () => BitmapT, f: () => BitmapT): Tri {
  return { t: lazy(t), f: lazy(f) };
}

const EMPTY = new Bitmap();
EMPTY.freeze();

const FLIP: Record<CompareOp, CompareOp> = {
  '=': '=',
  '!=': '!=',
  '<': '>',
  '<=': '>=',
  '>': '<',
  '>=': '<=',
};

function hasColumnRef(e: Expr): boolean {
  let found = false;
  forEachNode(e, (x) => {
    if (x.kind === 'tag' || x.kind === 'profile' || x.kind === 'column' || x.kind === 'agg') found = true;
  });
  return found;
}

/** A sub-expression evaluated over every entity (column-wise or entity by entity). */
interface Fallback {
  readonly expr: Expr;
  t: BitmapT;
  f: BitmapT;
}

class Planner {
  readonly fallbacks: Fallback[] = [];
  /**
   * Bitmaps this evaluation made (never the store's own). Roaring reports their memory to V8 as
   * external memory; left to the garbage collector, a few counts of a 1M-entity store push V8 into a
   * full collection (walking every entity id). They are freed as soon as the result is known.
   */
  private readonly owned: BitmapT[] = [];

  own(b: BitmapT): BitmapT {
    this.owned.push(b);
    return b;
  }

  /** Free every bitmap this evaluation made, except `keep` (the result handed out). */
  release(keep: BitmapT | undefined): void {
    for (const b of this.owned) if (b !== keep) b.dispose();
    this.owned.length = 0;
  }

  constructor(private readonly store: TagStore) {}

  private column(e: Expr): Column | undefined {
    if (e.kind === 'tag') return this.store.tags.get(e.name);
    if (e.kind === 'profile') return this.store.profiles.get(`${e.source}.${e.column}`);
    return undefined;
  }

  /** The value of an expression without columns (as_of is the build's as-of time). */
  constant(e: Expr): RefValue {
    return evalExpr(e, constantScope(this.store));
  }

  private nonNull(col: Column): BitmapT {
    if (col.kind === 'boolean') return this.own(Bitmap.or(col.trueSet, col.falseSet));
    return col.nonNull;
  }

  private fromConstant(v: RefValue): Tri {
    const all = this.store.all;
    if (v === true) return { t: () => all, f: () => EMPTY };
    if (v === false) return { t: () => EMPTY, f: () => all };
    return { t: () => EMPTY, f: () => EMPTY };
  }

  /** Sets where `col` has a value (t) and where it is null (f), for `is not null`. */
  private presence(col: Column): Tri {
    return tri(
      () => this.nonNull(col),
      () => this.own(Bitmap.andNot(this.store.all, this.nonNull(col))),
    );
  }

  /** True-set of `col op v` for a non-null constant v; undefined when the index cannot answer. */
  private compareSet(col: Column, op: CompareOp, v: RefValue): (() => BitmapT) | undefined {
    switch (col.kind) {
      case 'number':
        return typeof v === 'number' ? () => numberRange(col as NumberColumn, op as RangeOp, v) : undefined;
      case 'string':
        return typeof v === 'string' ? () => stringRange(col as StringColumn, op as RangeOp, v) : undefined;
      case 'boolean':
        if (typeof v !== 'boolean' || (op !== '=' && op !== '!=')) return undefined;
        return (op === '=') === v ? () => col.trueSet : () => col.falseSet;
      case 'list':
        return undefined;
    }
  }

  bool(e: Expr): Tri {
    if (!hasColumnRef(e)) return this.fromConstant(this.constant(e));
    switch (e.kind) {
      case 'tag':
      case 'profile': {
        const col = this.column(e);
        if (col?.kind === 'boolean') return { t: () => col.trueSet, f: () => col.falseSet };
        return this.fallback(e);
      }
      case 'not': {
        const a = this.bool(e.arg);
        return { t: a.f, f: a.t };
      }
      case 'logic': {
        if (e.op === 'and') return this.and(e);
        const a = this.bool(e.left);
        const b = this.bool(e.right);
        return tri(
          () => this.own(Bitmap.or(a.t(), b.t())),
          () => this.own(Bitmap.and(a.f(), b.f())),
        );
      }
      case 'compare':
        return this.compare(e) ?? this.fallback(e);
      case 'in':
        return this.inList(e) ?? this.fallback(e);
      case 'is_null': {
        const col = this.column(e.arg);
        let present: Tri;
        if (col) present = this.presence(col);
        else if (e.arg.type === 'boolean') {
          const a = this.bool(e.arg);
          present = tri(
            () => this.own(Bitmap.or(a.t(), a.f())),
            () => this.own(Bitmap.andNot(this.store.all, this.own(Bitmap.or(a.t(), a.f())))),
          );
        } else return this.fallback(e);
        // is null: true where absent; is not null: true where present. Never null itself.
        return e.negated ? present : { t: present.f, f: present.t };
      }
      case 'call':
        return this.has(e) ?? this.fallback(e);
      default:
        return this.fallback(e);
    }
  }

  /**
   * `a and b and ...` as one chain: the true-set is the intersection of the terms' true-sets, the
   * smallest first; a numeric range whose true-set is bigger than the candidates left so far filters
   * those candidates by value instead of being built (a range over half the entities costs as much as
   * half the entities; 20,000 candidates cost 20,000 reads).
   */
  private and(e: Extract<Expr, { kind: 'logic' }>): Tri {
    const terms: Tri[] = [];
    const flatten = (x: Expr) => {
      if (x.kind === 'logic' && x.op === 'and' && hasColumnRef(x)) {
        flatten(x.left);
        flatten(x.right);
      } else terms.push(this.bool(x));
    };
    flatten(e);
    return tri(
      () => {
        const sets = terms.filter((x) => !x.range).map((x) => x.t());
        const ranges = terms
          .filter((x) => x.range)
          .map((x) => ({ x, count: x.range!.count() }))
          .sort((p, q) => p.count - q.count);
        sets.sort((p, q) => p.size - q.size);
        let cur = sets[0];
        for (let i = 1; i < sets.length; i++) cur = this.own(Bitmap.and(cur!, sets[i]!));
        for (const { x, count } of ranges) {
          if (cur === undefined) cur = x.t();
          else if (cur.size < count) cur = this.own(x.range!.within(cur));
          else cur = this.own(Bitmap.and(cur, x.t()));
        }
        return cur!;
      },
      () => this.own(Bitmap.orMany(terms.map((x) => x.f()))),
    );
  }

  private compare(e: Extract<Expr, { kind: 'compare' }>): Tri | undefined {
    let colExpr = e.left;
    let constExpr = e.right;
    let op = e.op;
    if (!this.column(colExpr) || hasColumnRef(constExpr)) {
      colExpr = e.right;
      constExpr = e.left;
      op = FLIP[e.op];
    }
    const col = this.column(colExpr);
    if (!col || hasColumnRef(constExpr)) return undefined;
    const v = this.constant(constExpr);
    if (v === null) return this.fromConstant(null);
    const t = this.compareSet(col, op, v);
    if (!t) return undefined;
    const sets = tri(t, () => this.own(Bitmap.andNot(this.nonNull(col), t())));
    if (col.kind !== 'number' || typeof v !== 'number') return sets;
    return { ...sets, range: numberRangeFilter(col, op as RangeOp, v) };
  }

  private inList(e: Extract<Expr, { kind: 'in' }>): Tri | undefined {
    const col = this.column(e.arg);
    if (!col || e.list.some(hasColumnRef)) return undefined;
    const values = e.list.map((x) => this.constant(x));
    const sets: (() => BitmapT)[] = [];
    for (const v of values) {
      if (v === null) continue;
      const s = this.compareSet(col, '=', v);
      if (!s) return undefined;
      sets.push(s);
    }
    const anyNull = values.some((v) => v === null);
    // In: true where x equals an item; null where x is null or (no match and an item is null); else false.
    const r = tri(
      () => (sets.length === 0 ? EMPTY : this.own(Bitmap.orMany(sets.map((s) => s())))),
      () =>
        anyNull
          ? EMPTY
          : this.own(Bitmap.andNot(this.nonNull(col), this.own(Bitmap.orMany(sets.map((s) => s()))))),
    );
    return e.negated ? { t: r.f, f: r.t } : r;
  }

  private has(e: Extract<Expr, { kind: 'call' }>): Tri | undefined {
    if (e.fn !== 'has' || e.args.length !== 2) return undefined;
    const col = this.column(e.args[0]!);
    if (col?.kind !== 'list' || hasColumnRef(e.args[1]!)) return undefined;
    const v = this.constant(e.args[1]!);
    if (v === null) return this.fromConstant(null);
    const code = col.codeOf.get(String(v));
    const t = code === undefined ? EMPTY : col.sets[code]!;
    return tri(
      () => t,
      () => this.own(Bitmap.andNot(col.nonNull, t)),
    );
  }

  private fallback(e: Expr): Tri {
    const fb: Fallback = { expr: e, t: EMPTY, f: EMPTY };
    this.fallbacks.push(fb);
    return { t: () => fb.t, f: () => fb.f };
  }
}

/** Size of a numeric column's true-set for `op c` (from the sorted index) and a filter by value. */
export function numberRangeFilter(col: NumberColumn, op: RangeOp, c: number): NonNullable<Tri['range']> {
  const values = col.values;
  const test: (v: number) => boolean =
    op === '<'
      ? (v) => v < c
      : op === '<='
        ? (v) => v <= c
        : op === '>'
          ? (v) => v > c
          : op === '>='
            ? (v) => v >= c
            : op === '='
              ? (v) => v === c
              : (v) => v !== c && !Number.isNaN(v); // null (NaN) is never in a true-set
  return {
    count: () => {
      const n = col.sorted.length;
      const eq = () => lowerBound(col, c, true) - lowerBound(col, c, false);
      switch (op) {
        case '>':
          return n - lowerBound(col, c, true);
        case '>=':
          return n - lowerBound(col, c, false);
        case '<':
          return lowerBound(col, c, false);
        case '<=':
          return lowerBound(col, c, true);
        case '=':
          return eq();
        case '!=':
          return n - eq();
      }
    },
    within: (candidates) => {
      const ords = candidates.toUint32Array(scratchOrdinals(candidates.size));
      let k = 0;
      for (let i = 0; i < ords.length; i++) {
        const o = ords[i]!;
        if (test(values[o]!)) ords[k++] = o;
      }
      const out = new Bitmap();
      out.addMany(ords.subarray(0, k));
      return out;
    },
  };
}

/**
 * Evaluate one sub-expression for every entity, in slices that let other requests run between:
 * column-wise over the typed arrays (columnwise.ts), or entity by entity with the reference evaluator
 * when `perEntity` is set (the two agree; the per-entity path is the specification).
 */
async function runFallback(store: TagStore, fb: Fallback, opts: EvaluateOptions): Promise<void> {
  const n = store.size;
  const slice = opts.slice ?? 16_384;
  const plan = opts.perEntity ? undefined : new ColumnwisePlan(store, fb.expr);
  let ordinal = 0;
  const scope = entityScope(store, () => ordinal);
  const t = new Bitmap();
  const f = new Bitmap();
  const tBuf = new Uint32Array(slice);
  const fBuf = new Uint32Array(slice);
  for (let start = 0; start < n; start += slice) {
    if (opts.deadline !== undefined && Date.now() > opts.deadline) throw timeout();
    const end = Math.min(n, start + slice);
    let nt = 0;
    let nf = 0;
    if (plan) ({ nt, nf } = plan.split(start, end, tBuf, fBuf));
    else {
      for (ordinal = start; ordinal < end; ordinal++) {
        const v = evalExpr(fb.expr, scope);
        if (v === true) tBuf[nt++] = ordinal;
        else if (v === false) fBuf[nf++] = ordinal;
      }
    }
    t.addMany(tBuf.subarray(0, nt));
    f.addMany(fBuf.subarray(0, nf));
    if (end < n) await new Promise((resolve) => setImmediate(resolve));
  }
  fb.t = t;
  fb.f = f;
}

function timeout(): TagverseError {
  return new TagverseError(
    'segment.timeout',
    'the segment took longer than the time allowed (api.limits.query_timeout_ms); simplify the expression',
  );
}

/**
 * Members of a checked boolean expression.
 * @example
 *   const { expr } = checkExpression(config, store.schemas, store.program, 'golf_lover and spend_90d > 1000');
 *   const { members } = await evaluateSegment(store, expr!);
 *   members.size; // the count
 */
export async function evaluateSegment(
  store: TagStore,
  expr: Expr,
  opts: EvaluateOptions = {},
): Promise<Evaluation> {
  const planner = new Planner(store);
  let members: BitmapT | undefined;
  try {
    const root = planner.bool(expr);
    for (const fb of planner.fallbacks) {
      await runFallback(store, fb, opts);
      planner.own(fb.t);
      planner.own(fb.f);
    }
    if (opts.deadline !== undefined && Date.now() > opts.deadline) throw timeout();
    members = root.t();
    return { members, fallbacks: planner.fallbacks.length };
  } finally {
    planner.release(members);
  }
}
