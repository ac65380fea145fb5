/**
 * IR expressions compiled once into JavaScript closures, for the incremental evaluator's hot path.
 * The meaning is exactly the reference evaluator's (src/reference/expression.ts): the same three-valued
 * logic helpers and the same function implementations (functions.ts `ref`) — only the tree walk is
 * done once, at compile time, instead of on every row.
 */
import { FUNCTION_BY_NAME, type RefValue } from '../lang/functions.js';
import type { Expr } from '../lang/ir.js';
import { and3, arithmetic, bool, compare3, equals3, not3, or3 } from '../reference/expression.js';

/** What a compiled expression reads its names from. */
export interface ClosureEnv {
  /** Row context: the value of an event column of the row at hand. */
  column(column: string): RefValue;
  profile(source: string, column: string): RefValue;
  tag(name: string): RefValue;
  agg(id: string, field?: string): RefValue;
  asOf(): number;
}

export type Compiled = (env: ClosureEnv) => RefValue;

export function compileClosure(e: Expr, timezone: string): Compiled {
  const c = (x: Expr) => compileClosure(x, timezone);
  switch (e.kind) {
    case 'literal': {
      const v = e.value;
      return () => v;
    }
    case 'column': {
      const col = e.column;
      return (env) => env.column(col);
    }
    case 'profile': {
      const { source, column } = e;
      return (env) => env.profile(source, column);
    }
    case 'tag': {
      const name = e.name;
      return (env) => env.tag(name);
    }
    case 'agg': {
      const { id, field } = e;
      return (env) => env.agg(id, field);
    }
    case 'as_of':
      return (env) => env.asOf();
    case 'neg': {
      const a = c(e.arg);
      return (env) => {
        const v = a(env);
        return v === null ? null : -(v as number);
      };
    }
    case 'not': {
      const a = c(e.arg);
      return (env) => not3(bool(a(env)));
    }
    case 'arith': {
      const l = c(e.left);
      const r = c(e.right);
      const op = e.op;
      if (e.type === 'time') {
        const sign = op === '-' ? -1 : 1;
        return (env) => {
          const x = l(env);
          const y = r(env);
          return x === null || y === null ? null : (x as number) + sign * (y as number) * 1e6;
        };
      }
      return (env) => {
        const x = l(env);
        const y = r(env);
        return x === null || y === null ? null : arithmetic(op, x as number, y as number);
      };
    }
    case 'compare': {
      const l = c(e.left);
      const r = c(e.right);
      const op = e.op;
      return (env) => compare3(op, l(env), r(env));
    }
    case 'logic': {
      const l = c(e.left);
      const r = c(e.right);
      if (e.op === 'and') {
        return (env) => {
          const a = bool(l(env));
          // false wins whatever the right side is: no need to evaluate it.
          if (a === false) return false;
          return and3(a, bool(r(env)));
        };
      }
      return (env) => {
        const a = bool(l(env));
        if (a === true) return true;
        return or3(a, bool(r(env)));
      };
    }
    case 'in': {
      const arg = c(e.arg);
      const items = e.list.map(c);
      const negated = e.negated;
      // All-literal lists (the common case) become a set lookup.
      const literals = e.list.every((x) => x.kind === 'literal' && x.value !== null)
        ? new Set(e.list.map((x) => (x as { value: unknown }).value))
        : undefined;
      return (env) => {
        const x = arg(env);
        let result: boolean | null;
        if (x === null) result = null;
        else if (literals) result = literals.has(x);
        else {
          result = false;
          for (const item of items) {
            const eq = equals3(x, item(env));
            if (eq === true) {
              result = true;
              break;
            }
            if (eq === null) result = null;
          }
        }
        return negated ? not3(result) : result;
      };
    }
    case 'is_null': {
      const a = c(e.arg);
      const negated = e.negated;
      return (env) => (a(env) === null) !== negated;
    }
    case 'case': {
      const whens = e.whens.map((w) => ({ when: c(w.when), result: c(w.result) }));
      const otherwise = c(e.else);
      return (env) => {
        for (const w of whens) if (w.when(env) === true) return w.result(env);
        return otherwise(env);
      };
    }
    case 'call': {
      const fn = FUNCTION_BY_NAME.get(e.fn);
      if (!fn) throw new Error(`unknown function ${e.fn}`);
      const args = e.args.map(c);
      const types = e.args.map((a) => a.type);
      const ctx = { timezone };
      const strict = !fn.handlesNull;
      // One argument array per call site, refilled on each call: a function's implementation reads its
      // arguments and keeps none of them, and a call cannot run again inside its own arguments (no
      // recursion in the IR), so the array is free again when `ref` returns.
      const values: RefValue[] = new Array(args.length).fill(null);
      return (env) => {
        for (let i = 0; i < args.length; i++) {
          const v = args[i]!(env);
          if (strict && v === null) return null;
          values[i] = v;
        }
        return fn.ref(values, ctx, types);
      };
    }
  }
}
