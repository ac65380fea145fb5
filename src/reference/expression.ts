/**
 * The meaning of one IR expression (ir.ts) in plain TypeScript, for the reference evaluator.
 *
 * SQL three-valued logic throughout: `null` is "unknown". Comparisons with null are null; `and`/`or`
 * are Kleene; `x in (...)` is true when an item equals x, else null when x or an item is null, else
 * false. Arithmetic is double precision; `/` and `%` are null when the divisor is 0. Scalar functions
 * run their `ref` implementation from functions.ts, strict in null unless they handle it.
 *
 * Values: boolean, number, string, time (epoch microseconds), date (days since 1970-01-01), list.
 */
import { FUNCTION_BY_NAME, type RefValue } from '../lang/functions.js';
import type { ArithOp, CompareOp, Expr } from '../lang/ir.js';

/** Where an expression's names get their values: one event row, or one entity. */
export interface Scope {
  readonly asOfMicros: number;
  /** Project time zone (calendar functions without an explicit zone). */
  readonly timezone: string;
  column(source: string, column: string): RefValue;
  profile(source: string, column: string): RefValue;
  tag(name: string): RefValue;
  agg(id: string, field?: string): RefValue;
}

/** A cell of a plain row as a language value: missing -> null, bigint -> number. */
export function cell(row: Readonly<Record<string, unknown>> | undefined, column: string): RefValue {
  const v = row?.[column];
  if (v === undefined || v === null) return null;
  if (typeof v === 'bigint') return Number(v);
  return v as RefValue;
}

/** Kleene `not`. */
export function not3(v: boolean | null): boolean | null {
  return v === null ? null : !v;
}

/** Kleene `and`: false wins over null, null over true. */
export function and3(a: boolean | null, b: boolean | null): boolean | null {
  if (a === false || b === false) return false;
  if (a === null || b === null) return null;
  return true;
}

/** Kleene `or`: true wins over null, null over false. */
export function or3(a: boolean | null, b: boolean | null): boolean | null {
  if (a === true || b === true) return true;
  if (a === null || b === null) return null;
  return false;
}

/** SQL equality of two scalar values (null when either is null). */
export function equals3(a: RefValue, b: RefValue): boolean | null {
  if (a === null || b === null) return null;
  return a === b;
}

export function compare3(op: CompareOp, a: RefValue, b: RefValue): boolean | null {
  if (a === null || b === null) return null;
  // Numbers (and times, dates) compare numerically; strings by UTF-16 code unit, which is byte order
  // for ASCII; booleans only with = and != (the checker allows nothing else).
  const x = a as number | string | boolean;
  const y = b as number | string | boolean;
  switch (op) {
    case '=':
      return x === y;
    case '!=':
      return x !== y;
    case '<':
      return x < y;
    case '<=':
      return x <= y;
    case '>':
      return x > y;
    case '>=':
      return x >= y;
  }
}

export function bool(v: RefValue): boolean | null {
  return v === null ? null : (v as boolean);
}

/** Evaluate `e` in `scope`. */
export function evalExpr(e: Expr, scope: Scope): RefValue {
  const ev = (x: Expr) => evalExpr(x, scope);
  switch (e.kind) {
    case 'literal':
      // A duration literal evaluates to its seconds; it only appears as the right side of time ± duration.
      return e.value;
    case 'column':
      return scope.column(e.source, e.column);
    case 'profile':
      return scope.profile(e.source, e.column);
    case 'tag':
      return scope.tag(e.name);
    case 'agg':
      return scope.agg(e.id, e.field);
    case 'as_of':
      return scope.asOfMicros;
    case 'neg': {
      const v = ev(e.arg);
      return v === null ? null : -(v as number);
    }
    case 'not':
      return not3(bool(ev(e.arg)));
    case 'arith': {
      const a = ev(e.left);
      const b = ev(e.right);
      if (a === null || b === null) return null;
      const x = a as number;
      const y = b as number;
      if (e.type === 'time') {
        // time ± duration: exact seconds, in microseconds.
        return e.op === '-' ? x - y * 1e6 : x + y * 1e6;
      }
      return arithmetic(e.op, x, y);
    }
    case 'compare':
      return compare3(e.op, ev(e.left), ev(e.right));
    case 'logic': {
      const a = bool(ev(e.left));
      const b = bool(ev(e.right));
      return e.op === 'and' ? and3(a, b) : or3(a, b);
    }
    case 'in': {
      const x = ev(e.arg);
      let result: boolean | null = false;
      if (x === null) result = null;
      else {
        for (const item of e.list) {
          const eq = equals3(x, ev(item));
          if (eq === true) {
            result = true;
            break;
          }
          if (eq === null) result = null;
        }
      }
      return e.negated ? not3(result) : result;
    }
    case 'is_null': {
      const isNull = ev(e.arg) === null;
      return e.negated ? !isNull : isNull;
    }
    case 'case': {
      for (const w of e.whens) if (ev(w.when) === true) return ev(w.result);
      return ev(e.else);
    }
    case 'call': {
      const fn = FUNCTION_BY_NAME.get(e.fn);
      if (!fn) throw new Error(`unknown function ${e.fn}`);
      const args = e.args.map(ev);
      if (!fn.handlesNull && args.some((a) => a === null)) return null;
      return fn.ref(
        args,
        { timezone: scope.timezone },
        e.args.map((a) => a.type),
      );
    }
  }
}

export function arithmetic(op: ArithOp, x: number, y: number): number | null {
  switch (op) {
    case '+':
      return x + y;
    case '-':
      return x - y;
    case '*':
      return x * y;
    case '/':
      return y === 0 ? null : x / y;
    case '%':
      // Like SQL and JS: the result has the sign of the dividend.
      return y === 0 ? null : x % y;
  }
}
