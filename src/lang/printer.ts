/**
 * IR -> language text. Used to explain values (`count() = 4 >= 3`), to show aggregates in catalogs,
 * and by tests (printing a checked expression and checking it again must give the same IR).
 */
import type { Aggregate, Expr, Window } from './ir.js';

export interface PrintOptions {
  /** Text for an aggregate reference (default: the aggregate's call). */
  readonly agg?: (id: string) => string | undefined;
  /** Text for a tag reference (default: its name). */
  readonly tag?: (name: string) => string | undefined;
}

const PREC: Record<string, number> = {
  or: 1,
  and: 2,
  not: 3,
  compare: 4,
  '+': 5,
  '-': 5,
  '*': 6,
  '/': 6,
  '%': 6,
  neg: 7,
};

function durationText(seconds: number): string {
  for (const [unit, size] of [
    ['w', 604_800],
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
  ] as const) {
    if (seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}

export function printWindow(w: Window): string {
  switch (w.kind) {
    case 'ever':
      return 'ever';
    case 'last':
      return `last ${durationText(w.seconds)}`;
    case 'between':
      return `between ${durationText(w.fromSeconds)} and ${durationText(w.toSeconds)} ago`;
  }
}

function quote(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** The call an aggregate was written as (with its combined filter and window spelled out). */
export function printAggregate(a: Aggregate, opts: PrintOptions = {}): string {
  const args: string[] = [];
  if (a.fn === 'top' || a.fn === 'argmax') {
    args.push(printExpr(a.arg!, opts));
    if (a.k !== undefined) args.push(String(a.k));
    const by = a.by ?? { fn: 'count' };
    args.push(`by ${by.fn}(${by.arg ? printExpr(by.arg, opts) : ''})`);
  } else if (a.arg) {
    args.push(printExpr(a.arg, opts));
  }
  if (a.filter) args.push(`where ${printExpr(a.filter, opts)}`);
  if (a.window.kind !== 'ever') args.push(printWindow(a.window));
  return `${a.fn}(${args.join(', ')})`;
}

export function printExpr(e: Expr, opts: PrintOptions = {}, parentPrec = 0): string {
  const p = (x: Expr, prec: number) => printExpr(x, opts, prec);
  const wrap = (prec: number, text: string) => (prec < parentPrec ? `(${text})` : text);
  switch (e.kind) {
    case 'literal':
      if (e.value === null) return 'null';
      if (e.type === 'string') return quote(e.value as string);
      if (e.type === 'duration') return durationText(e.value as number);
      return String(e.value);
    case 'column':
      return e.column;
    case 'profile':
      return e.column;
    case 'tag':
      return opts.tag?.(e.name) ?? e.name;
    case 'agg':
      return opts.agg?.(e.id) ?? e.id;
    case 'as_of':
      return 'as_of';
    case 'neg':
      return wrap(PREC.neg!, `-${p(e.arg, PREC.neg! + 1)}`);
    case 'not':
      return wrap(PREC.not!, `not ${p(e.arg, PREC.not!)}`);
    case 'arith': {
      const prec = PREC[e.op]!;
      return wrap(prec, `${p(e.left, prec)} ${e.op} ${p(e.right, prec + 1)}`);
    }
    case 'compare':
      return wrap(PREC.compare!, `${p(e.left, PREC.compare! + 1)} ${e.op} ${p(e.right, PREC.compare! + 1)}`);
    case 'logic': {
      const prec = PREC[e.op]!;
      return wrap(prec, `${p(e.left, prec)} ${e.op} ${p(e.right, prec + 1)}`);
    }
    case 'in':
      return wrap(
        PREC.compare!,
        `${p(e.arg, PREC.compare! + 1)} ${e.negated ? 'not in' : 'in'} (${e.list.map((x) => p(x, 0)).join(', ')})`,
      );
    case 'is_null':
      return wrap(PREC.compare!, `${p(e.arg, PREC.compare! + 1)} is ${e.negated ? 'not ' : ''}null`);
    case 'case': {
      const whens = e.whens.map((w) => `when ${p(w.when, 0)} then ${p(w.result, 0)}`).join(' ');
      const elsePart = e.else.kind === 'literal' && e.else.value === null ? '' : ` else ${p(e.else, 0)}`;
      return `case ${whens}${elsePart} end`;
    }
    case 'call':
      return `${e.fn}(${e.args.map((a) => p(a, 0)).join(', ')})`;
  }
}
