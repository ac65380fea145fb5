/**
 * Column-wise evaluation of the sub-expressions the indexes cannot answer (arithmetic over columns,
 * column-to-column comparisons, ...): each node computes a whole slice of entities at once over the
 * store's typed arrays, instead of walking the expression tree once per entity.
 *
 * Semantics are exactly the reference evaluator's (src/reference/expression.ts), node by node:
 * numbers carry a separate null mask (a NaN computed by arithmetic, e.g. Infinity - Infinity, is a
 * number, not null), `/` and `%` by 0 are null, `and`/`or` are Kleene, `in` is null when no item
 * matches and an item is null. Nodes this module does not vectorize (functions, `case`, list values,
 * string expressions other than a column against a constant) are evaluated entity by entity with the
 * reference evaluator for that node only; their parents still run column-wise.
 * `test/segments/columnwise.test.ts` checks it against the per-entity evaluator on random expressions.
 */
import type { RefValue } from '../lang/functions.js';
import { type CompareOp, type Expr, forEachNode } from '../lang/ir.js';
import { type Column, NULL_BOOL, refValue } from '../online/columns.js';
import type { TagStore } from '../online/store.js';
import { compare3, evalExpr, type Scope } from '../reference/expression.js';
import { TagverseError } from '../util/problems.js';

/** One node's values over a slice of entities. */
export type Vec =
  /** The same value for every entity. */
  | { readonly kind: 'const'; readonly value: RefValue }
  /** Numbers, times (µs), dates (days), durations (s); nulls[i] = 1 where null (undefined: none). */
  | { readonly kind: 'num'; readonly values: Float64Array; readonly nulls: Uint8Array | undefined }
  /** 0, 1, NULL_BOOL. */
  | { readonly kind: 'bool'; readonly values: Uint8Array }
  /** A text column's dictionary codes (-1 = null). */
  | { readonly kind: 'codes'; readonly codes: Int32Array; readonly dict: readonly string[] }
  /** Anything else, one reference value per entity. */
  | { readonly kind: 'boxed'; readonly values: RefValue[] };

type VecKind = Vec['kind'];

/** A planned node: its values over the entities [start, end). */
type Node = (start: number, end: number) => Vec;

const NUMERIC = new Set(['number', 'time', 'date', 'duration']);

function hasColumnRef(e: Expr): boolean {
  let found = false;
  forEachNode(e, (x) => {
    if (x.kind === 'tag' || x.kind === 'profile' || x.kind === 'column' || x.kind === 'agg') found = true;
  });
  return found;
}

function kindOfColumn(col: Column): VecKind {
  switch (col.kind) {
    case 'number':
      return 'num';
    case 'boolean':
      return 'bool';
    case 'string':
      return 'codes';
    case 'list':
      return 'boxed';
  }
}

/** The kind a node evaluated entity by entity yields, from its static type. */
function kindOfType(type: Expr['type']): VecKind {
  if (type === 'boolean') return 'bool';
  if (NUMERIC.has(type)) return 'num';
  return 'boxed';
}

const isNum = (v: RefValue) => v === null || typeof v === 'number';
const isBool = (v: RefValue) => v === null || typeof v === 'boolean';

interface Planned {
  readonly kind: VecKind;
  /** The value, when the node has no column (folded once). */
  readonly constant?: RefValue;
  readonly run: Node;
}

/**
 * Plans an expression for column-wise evaluation over a store. `evaluate(start, end)` gives the
 * expression's values for the entities [start, end).
 */
export class ColumnwisePlan {
  private readonly root: Planned;
  /** Nodes evaluated entity by entity inside the plan (0: fully column-wise). */
  perEntityNodes = 0;

  constructor(
    private readonly store: TagStore,
    expr: Expr,
  ) {
    this.root = this.plan(expr);
  }

  evaluate(start: number, end: number): Vec {
    return this.root.run(start, end);
  }

  /** The entities of [start, end) where the expression is true and where it is false. */
  split(start: number, end: number, trueOut: Uint32Array, falseOut: Uint32Array): { nt: number; nf: number } {
    const v = this.evaluate(start, end);
    let nt = 0;
    let nf = 0;
    const n = end - start;
    if (v.kind === 'const') {
      if (v.value === true) for (let i = 0; i < n; i++) trueOut[nt++] = start + i;
      else if (v.value === false) for (let i = 0; i < n; i++) falseOut[nf++] = start + i;
    } else if (v.kind === 'bool') {
      const b = v.values;
      for (let i = 0; i < n; i++) {
        const x = b[i]!;
        if (x === 1) trueOut[nt++] = start + i;
        else if (x === 0) falseOut[nf++] = start + i;
      }
    } else if (v.kind === 'boxed') {
      for (let i = 0; i < n; i++) {
        const x = v.values[i];
        if (x === true) trueOut[nt++] = start + i;
        else if (x === false) falseOut[nf++] = start + i;
      }
    }
    return { nt, nf };
  }

  private column(e: Expr): Column | undefined {
    if (e.kind === 'tag') return this.store.tags.get(e.name);
    if (e.kind === 'profile') return this.store.profiles.get(`${e.source}.${e.column}`);
    return undefined;
  }

  private constant(value: RefValue): Planned {
    const v: Vec = { kind: 'const', value };
    return { kind: 'const', constant: value, run: () => v };
  }

  private plan(e: Expr): Planned {
    if (!hasColumnRef(e)) return this.constant(evalExpr(e, constantScope(this.store)));
    switch (e.kind) {
      case 'tag':
      case 'profile': {
        const col = this.column(e);
        if (!col) return this.constant(null);
        return { kind: kindOfColumn(col), run: (s, t) => readColumn(col, s, t) };
      }
      case 'neg': {
        const a = this.plan(e.arg);
        if (a.kind !== 'num') break;
        return {
          kind: 'num',
          run: (s, t) => {
            const x = a.run(s, t) as NumVec;
            const out = new Float64Array(t - s);
            for (let i = 0; i < out.length; i++) out[i] = -x.values[i]!;
            return { kind: 'num', values: out, nulls: x.nulls };
          },
        };
      }
      case 'not': {
        const a = this.plan(e.arg);
        if (a.kind !== 'bool') break;
        return {
          kind: 'bool',
          run: (s, t) => {
            const x = (a.run(s, t) as BoolVec).values;
            const out = new Uint8Array(t - s);
            for (let i = 0; i < out.length; i++) {
              const v = x[i]!;
              out[i] = v === NULL_BOOL ? NULL_BOOL : 1 - v;
            }
            return { kind: 'bool', values: out };
          },
        };
      }
      case 'arith': {
        const a = this.plan(e.left);
        const b = this.plan(e.right);
        if (!numOperand(a) || !numOperand(b) || (a.kind === 'const' && b.kind === 'const')) break;
        if (a.constant === null || b.constant === null) return this.constant(null);
        const op = e.op;
        const time = e.type === 'time';
        return {
          kind: 'num',
          run: (s, t) => arith(op, time, asNum(a.run(s, t), t - s), asNum(b.run(s, t), t - s)),
        };
      }
      case 'compare': {
        const r = this.compare(e.op, this.plan(e.left), this.plan(e.right));
        if (r) return r;
        break;
      }
      case 'logic': {
        const a = this.plan(e.left);
        const b = this.plan(e.right);
        if (!boolOperand(a) || !boolOperand(b)) break;
        const and = e.op === 'and';
        return {
          kind: 'bool',
          run: (s, t) => logic(and, asBool(a.run(s, t), t - s), asBool(b.run(s, t), t - s)),
        };
      }
      case 'in': {
        const r = this.inList(e);
        if (r) return r;
        break;
      }
      case 'is_null': {
        const a = this.plan(e.arg);
        const negated = e.negated;
        return {
          kind: 'bool',
          run: (s, t) => {
            const out = nullMask(a.run(s, t), t - s);
            if (negated) for (let i = 0; i < out.length; i++) out[i] = 1 - out[i]!;
            return { kind: 'bool', values: out };
          },
        };
      }
      default:
        break;
    }
    return this.perEntity(e);
  }

  private compare(op: CompareOp, a: Planned, b: Planned): Planned | undefined {
    if (a.kind === 'const' && b.kind === 'const') return undefined;
    if (a.constant === null || b.constant === null) {
      // Compared with null: null, whatever the other side is (when the checker let it through).
      return this.constant(null);
    }
    if (numOperand(a) && numOperand(b)) {
      return {
        kind: 'bool',
        run: (s, t) => compareNum(op, asNum(a.run(s, t), t - s), asNum(b.run(s, t), t - s)),
      };
    }
    if (boolOperand(a) && boolOperand(b) && (op === '=' || op === '!=')) {
      const ne = op === '!=';
      return {
        kind: 'bool',
        run: (s, t) => {
          const x = asBool(a.run(s, t), t - s);
          const y = asBool(b.run(s, t), t - s);
          const out = new Uint8Array(t - s);
          for (let i = 0; i < out.length; i++) {
            const p = x[i]!;
            const q = y[i]!;
            out[i] = p === NULL_BOOL || q === NULL_BOOL ? NULL_BOOL : (p === q) !== ne ? 1 : 0;
          }
          return { kind: 'bool', values: out };
        },
      };
    }
    // A text column against a constant: the answer per dictionary code, looked up per entity.
    if (a.kind === 'codes' && b.kind === 'const') return codesTable(a, (v) => compare3(op, v, b.constant!));
    if (a.kind === 'const' && b.kind === 'codes') return codesTable(b, (v) => compare3(op, a.constant!, v));
    return undefined;
  }

  private inList(e: Extract<Expr, { kind: 'in' }>): Planned | undefined {
    if (e.list.some(hasColumnRef)) return undefined;
    const a = this.plan(e.arg);
    const items = e.list.map((x) => evalExpr(x, constantScope(this.store)));
    const anyNull = items.some((v) => v === null);
    const negated = e.negated;
    // Reference: true when an item equals x; else null when x or an item is null; else false.
    const answer = (x: RefValue): boolean | null => {
      if (x === null) return null;
      let r: boolean | null = false;
      for (const item of items) {
        if (item === null) continue;
        if (x === item) {
          r = true;
          break;
        }
      }
      if (r === false && anyNull) r = null;
      return negated && r !== null ? !r : r;
    };
    if (a.kind === 'codes') return codesTable(a, answer);
    if (a.kind === 'num') {
      const nums = items.filter((v): v is number => typeof v === 'number');
      return {
        kind: 'bool',
        run: (s, t) => {
          const x = a.run(s, t) as NumVec;
          const out = new Uint8Array(t - s);
          const nf = anyNull ? NULL_BOOL : negated ? 1 : 0;
          const found = negated ? 0 : 1;
          for (let i = 0; i < out.length; i++) {
            if (x.nulls?.[i] === 1) {
              out[i] = NULL_BOOL;
              continue;
            }
            const v = x.values[i]!;
            let hit = false;
            for (let k = 0; k < nums.length; k++) {
              if (nums[k] === v) {
                hit = true;
                break;
              }
            }
            out[i] = hit ? found : nf;
          }
          return { kind: 'bool', values: out };
        },
      };
    }
    if (a.kind === 'bool') {
      const byValue = [answer(false), answer(true)].map(bool3);
      return {
        kind: 'bool',
        run: (s, t) => {
          const x = (a.run(s, t) as BoolVec).values;
          const out = new Uint8Array(t - s);
          for (let i = 0; i < out.length; i++) {
            const v = x[i]!;
            out[i] = v === NULL_BOOL ? NULL_BOOL : byValue[v]!;
          }
          return { kind: 'bool', values: out };
        },
      };
    }
    return undefined;
  }

  /** `e` evaluated entity by entity with the reference semantics (its result packed by type). */
  private perEntity(e: Expr): Planned {
    this.perEntityNodes++;
    const store = this.store;
    const kind = kindOfType(e.type);
    let ordinal = 0;
    const scope = entityScope(store, () => ordinal);
    return {
      kind,
      run: (s, t) => {
        const n = t - s;
        if (kind === 'bool') {
          const out = new Uint8Array(n);
          for (let i = 0; i < n; i++) {
            ordinal = s + i;
            out[i] = bool3(evalExpr(e, scope) as boolean | null);
          }
          return { kind: 'bool', values: out };
        }
        if (kind === 'num') {
          const out = new Float64Array(n);
          const nulls = new Uint8Array(n);
          for (let i = 0; i < n; i++) {
            ordinal = s + i;
            const v = evalExpr(e, scope);
            if (v === null) nulls[i] = 1;
            else out[i] = v as number;
          }
          return { kind: 'num', values: out, nulls };
        }
        const out: RefValue[] = new Array(n);
        for (let i = 0; i < n; i++) {
          ordinal = s + i;
          out[i] = evalExpr(e, scope);
        }
        return { kind: 'boxed', values: out };
      },
    };
  }
}

type NumVec = Extract<Vec, { kind: 'num' }>;
type BoolVec = Extract<Vec, { kind: 'bool' }>;

const numOperand = (p: Planned) => p.kind === 'num' || (p.kind === 'const' && isNum(p.constant!));
const boolOperand = (p: Planned) => p.kind === 'bool' || (p.kind === 'const' && isBool(p.constant!));
const bool3 = (v: boolean | null) => (v === null ? NULL_BOOL : v ? 1 : 0);

export function constantScope(store: TagStore): Scope {
  const noColumn = (): never => {
    throw new Error('a constant expression read a column');
  };
  return {
    asOfMicros: store.info.asOfMicros,
    timezone: store.program.timezone,
    column: noColumn,
    profile: noColumn,
    tag: noColumn,
    agg: noColumn,
  };
}

function readColumn(col: Column, s: number, t: number): Vec {
  switch (col.kind) {
    case 'number': {
      const values = col.values.subarray(s, t);
      let nulls: Uint8Array | undefined;
      for (let i = 0; i < values.length; i++) {
        if (Number.isNaN(values[i]!)) {
          nulls ??= new Uint8Array(values.length);
          nulls[i] = 1;
        }
      }
      return { kind: 'num', values, nulls };
    }
    case 'boolean':
      return { kind: 'bool', values: col.values.subarray(s, t) };
    case 'string':
      return { kind: 'codes', codes: col.codes.subarray(s, t), dict: col.dict };
    case 'list': {
      const out: RefValue[] = new Array(t - s);
      for (let i = s; i < t; i++) out[i - s] = refValue(col, i);
      return { kind: 'boxed', values: out };
    }
  }
}

/** A numeric operand as a vector (a constant number repeated). */
function asNum(v: Vec, n: number): NumVec {
  if (v.kind === 'num') return v;
  if (v.kind === 'const' && typeof v.value === 'number') {
    return { kind: 'num', values: new Float64Array(n).fill(v.value), nulls: undefined };
  }
  throw new Error(`not a numeric vector: ${v.kind}`);
}

function asBool(v: Vec, n: number): Uint8Array {
  if (v.kind === 'bool') return v.values;
  if (v.kind === 'const' && isBool(v.value)) return new Uint8Array(n).fill(bool3(v.value as boolean | null));
  throw new Error(`not a boolean vector: ${v.kind}`);
}

function orNulls(a: Uint8Array | undefined, b: Uint8Array | undefined, n: number): Uint8Array | undefined {
  if (!a) return b;
  if (!b) return a;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = a[i]! | b[i]!;
  return out;
}

function arith(op: Extract<Expr, { kind: 'arith' }>['op'], time: boolean, a: NumVec, b: NumVec): NumVec {
  const n = a.values.length;
  const x = a.values;
  const y = b.values;
  const out = new Float64Array(n);
  let nulls = orNulls(a.nulls, b.nulls, n);
  if (time) {
    // time ± duration: exact seconds, in microseconds.
    if (op === '-') for (let i = 0; i < n; i++) out[i] = x[i]! - y[i]! * 1e6;
    else for (let i = 0; i < n; i++) out[i] = x[i]! + y[i]! * 1e6;
    return { kind: 'num', values: out, nulls };
  }
  switch (op) {
    case '+':
      for (let i = 0; i < n; i++) out[i] = x[i]! + y[i]!;
      break;
    case '-':
      for (let i = 0; i < n; i++) out[i] = x[i]! - y[i]!;
      break;
    case '*':
      for (let i = 0; i < n; i++) out[i] = x[i]! * y[i]!;
      break;
    case '/':
    case '%': {
      // Null where the divisor is 0 (the reference's arithmetic()); the mask is copied before it changes.
      let own = false;
      for (let i = 0; i < n; i++) {
        if (y[i] === 0) {
          if (!own) {
            nulls = nulls ? nulls.slice() : new Uint8Array(n);
            own = true;
          }
          nulls![i] = 1;
        } else out[i] = op === '/' ? x[i]! / y[i]! : x[i]! % y[i]!;
      }
      break;
    }
  }
  return { kind: 'num', values: out, nulls };
}

function compareNum(op: CompareOp, a: NumVec, b: NumVec): BoolVec {
  const n = a.values.length;
  const x = a.values;
  const y = b.values;
  const out = new Uint8Array(n);
  switch (op) {
    case '=':
      for (let i = 0; i < n; i++) out[i] = x[i] === y[i] ? 1 : 0;
      break;
    case '!=':
      for (let i = 0; i < n; i++) out[i] = x[i] !== y[i] ? 1 : 0;
      break;
    case '<':
      for (let i = 0; i < n; i++) out[i] = x[i]! < y[i]! ? 1 : 0;
      break;
    case '<=':
      for (let i = 0; i < n; i++) out[i] = x[i]! <= y[i]! ? 1 : 0;
      break;
    case '>':
      for (let i = 0; i < n; i++) out[i] = x[i]! > y[i]! ? 1 : 0;
      break;
    case '>=':
      for (let i = 0; i < n; i++) out[i] = x[i]! >= y[i]! ? 1 : 0;
      break;
  }
  const an = a.nulls;
  const bn = b.nulls;
  if (an) for (let i = 0; i < n; i++) if (an[i] === 1) out[i] = NULL_BOOL;
  if (bn) for (let i = 0; i < n; i++) if (bn[i] === 1) out[i] = NULL_BOOL;
  return { kind: 'bool', values: out };
}

function logic(and: boolean, x: Uint8Array, y: Uint8Array): BoolVec {
  const n = x.length;
  const out = new Uint8Array(n);
  // Kleene: for and, false wins over null, null over true; for or, true wins over null, null over false.
  const win = and ? 0 : 1;
  for (let i = 0; i < n; i++) {
    const p = x[i]!;
    const q = y[i]!;
    out[i] = p === win || q === win ? win : p === NULL_BOOL || q === NULL_BOOL ? NULL_BOOL : 1 - win;
  }
  return { kind: 'bool', values: out };
}

/** 1 where the vector is null. */
function nullMask(v: Vec, n: number): Uint8Array {
  const out = new Uint8Array(n);
  switch (v.kind) {
    case 'const':
      if (v.value === null) out.fill(1);
      break;
    case 'num':
      if (v.nulls) out.set(v.nulls);
      break;
    case 'bool':
      for (let i = 0; i < n; i++) out[i] = v.values[i] === NULL_BOOL ? 1 : 0;
      break;
    case 'codes':
      for (let i = 0; i < n; i++) out[i] = v.codes[i]! < 0 ? 1 : 0;
      break;
    case 'boxed':
      for (let i = 0; i < n; i++) out[i] = v.values[i] === null ? 1 : 0;
      break;
  }
  return out;
}

/** A boolean of a text column computed once per dictionary value (null values give `ofNull`). */
function codesTable(a: Planned, answer: (v: string | null) => boolean | null): Planned {
  let table: Uint8Array | undefined;
  let tableDict: readonly string[] | undefined;
  const ofNull = bool3(answer(null));
  return {
    kind: 'bool',
    run: (s, t) => {
      const v = a.run(s, t) as Extract<Vec, { kind: 'codes' }>;
      if (table === undefined || tableDict !== v.dict) {
        tableDict = v.dict;
        table = Uint8Array.from(v.dict, (x) => bool3(answer(x)));
      }
      const out = new Uint8Array(t - s);
      for (let i = 0; i < out.length; i++) {
        const c = v.codes[i]!;
        out[i] = c < 0 ? ofNull : table[c]!;
      }
      return { kind: 'bool', values: out };
    },
  };
}

/** The reference evaluator's scope for one entity of the store: its tags and profile attributes. */
export function entityScope(store: TagStore, ordinal: () => number): Scope {
  const missing = (what: string): never => {
    throw new TagverseError('segment.unsupported', `${what} cannot be read by a segment`);
  };
  return {
    asOfMicros: store.info.asOfMicros,
    timezone: store.program.timezone,
    column: () => missing('an event column'),
    agg: () => missing('an aggregate'),
    tag: (name) => {
      const col = store.tags.get(name);
      return col ? refValue(col, ordinal()) : null;
    },
    profile: (source, column) => {
      const col = store.profiles.get(`${source}.${column}`);
      return col ? refValue(col, ordinal()) : null;
    },
  };
}
