/**
 * IR expressions -> SQL text, through a Dialect. Names are resolved by the caller (which knows the
 * shape of the query the expression sits in); this module only knows the meaning of each node.
 * The switch is exhaustive: a new IR node kind does not compile until it is handled here.
 */
import { FUNCTION_BY_NAME } from '../lang/functions.js';
import type { Expr } from '../lang/ir.js';
import type { Dialect } from './dialect.js';

export interface Resolver {
  column(source: string, column: string): string;
  profile(source: string, column: string): string;
  tag(name: string): string;
  agg(id: string, field?: string): string;
  asOf(): string;
}

export function compileExpr(e: Expr, d: Dialect, r: Resolver, timezone: string): string {
  const c = (x: Expr) => compileExpr(x, d, r, timezone);
  switch (e.kind) {
    case 'literal':
      if (e.value === null) return 'NULL';
      if (e.type === 'boolean') return d.boolean(e.value as boolean);
      if (e.type === 'number') return d.number(e.value as number);
      if (e.type === 'string') return d.string(e.value as string);
      throw new Error(`literal of type ${e.type} cannot appear on its own`);
    case 'column':
      return e.type === 'number' ? d.toDouble(r.column(e.source, e.column)) : r.column(e.source, e.column);
    case 'profile':
      return e.type === 'number' ? d.toDouble(r.profile(e.source, e.column)) : r.profile(e.source, e.column);
    case 'tag':
      return r.tag(e.name);
    case 'agg':
      return r.agg(e.id, e.field);
    case 'as_of':
      return r.asOf();
    case 'neg':
      return `(-${c(e.arg)})`;
    case 'not':
      return `(NOT ${c(e.arg)})`;
    case 'arith':
      if (e.type === 'time') {
        const seconds = e.right.kind === 'literal' ? (e.right.value as number) : Number.NaN;
        return d.addSeconds(c(e.left), e.op === '-' ? -seconds : seconds);
      }
      if (e.op === '/') return d.divide(c(e.left), c(e.right));
      if (e.op === '%') return d.modulo(c(e.left), c(e.right));
      return `(${c(e.left)} ${e.op} ${c(e.right)})`;
    case 'compare':
      return `(${c(e.left)} ${e.op === '!=' ? '<>' : e.op} ${c(e.right)})`;
    case 'logic':
      return d.logic(e.op, c(e.left), c(e.right));
    case 'in':
      return d.inList(c(e.arg), e.list.map(c), e.negated);
    case 'is_null':
      return `(${c(e.arg)} IS ${e.negated ? 'NOT ' : ''}NULL)`;
    case 'case': {
      const otherwise = e.else.kind === 'literal' && e.else.value === null ? d.nullOf(e.type) : c(e.else);
      return d.caseWhen(
        e.whens.map((w) => ({ when: c(w.when), result: c(w.result) })),
        otherwise,
      );
    }
    case 'call': {
      // An argument of type null (the literal null, or coalesce/case of only nulls) is always NULL;
      // give it the parameter's type so the engine can pick the function overload.
      const fn = FUNCTION_BY_NAME.get(e.fn);
      const arg = (a: Expr, i: number) => {
        if (a.type !== 'null' || !fn) return c(a);
        const accepted = fn.params[Math.min(i, fn.params.length - 1)] ?? [];
        if (fn.variadic && e.type === 'null') return c(a);
        const t = fn.variadic && accepted.includes(e.type) ? e.type : accepted[0];
        return t ? d.nullOf(t) : c(a);
      };
      return d.call(
        e.fn,
        e.args.map(arg),
        e.args.map((a) => a.type),
        timezone,
      );
    }
  }
}
