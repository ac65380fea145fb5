/**
 * The parse tree of an expression: what the user wrote, with positions, before names are resolved
 * and types checked (that is the job of checker.ts, which turns it into the IR).
 */

export interface Span {
  readonly start: number;
  readonly end: number;
}

/** A time window relative to the as-of time T. */
export type WindowAst =
  /** (T - d, T] */
  | { readonly kind: 'last'; readonly seconds: number; readonly text: string; readonly span: Span }
  /** (T - from, T - to], from > to */
  | {
      readonly kind: 'between';
      readonly fromSeconds: number;
      readonly toSeconds: number;
      readonly text: string;
      readonly span: Span;
    }
  /** (-inf, T] */
  | { readonly kind: 'ever'; readonly text: string; readonly span: Span };

export type BinaryOp = '+' | '-' | '*' | '/' | '%' | '=' | '!=' | '<' | '<=' | '>' | '>=' | 'and' | 'or';

export interface CallArg {
  /** Set for named arguments (`by: sum(amount)`). */
  readonly name?: string;
  readonly nameSpan?: Span;
  readonly value: Ast | WindowAst;
}

export type Ast =
  | { readonly kind: 'number'; readonly value: number; readonly span: Span }
  | { readonly kind: 'string'; readonly value: string; readonly span: Span }
  | { readonly kind: 'boolean'; readonly value: boolean; readonly span: Span }
  | { readonly kind: 'null'; readonly span: Span }
  | { readonly kind: 'duration'; readonly seconds: number; readonly text: string; readonly span: Span }
  /** `name` or `qualifier.name` */
  | { readonly kind: 'ref'; readonly name: string; readonly qualifier?: string; readonly span: Span }
  | { readonly kind: 'unary'; readonly op: '-' | 'not'; readonly arg: Ast; readonly span: Span }
  | {
      readonly kind: 'binary';
      readonly op: BinaryOp;
      readonly left: Ast;
      readonly right: Ast;
      readonly span: Span;
    }
  | {
      readonly kind: 'in';
      readonly arg: Ast;
      readonly list: readonly Ast[];
      readonly negated: boolean;
      readonly span: Span;
    }
  | {
      readonly kind: 'between';
      readonly arg: Ast;
      readonly low: Ast;
      readonly high: Ast;
      readonly negated: boolean;
      readonly span: Span;
    }
  | { readonly kind: 'is_null'; readonly arg: Ast; readonly negated: boolean; readonly span: Span }
  | {
      readonly kind: 'case';
      readonly whens: readonly { readonly when: Ast; readonly result: Ast }[];
      readonly else?: Ast;
      readonly span: Span;
    }
  | {
      readonly kind: 'call';
      readonly name: string;
      readonly nameSpan: Span;
      readonly args: readonly CallArg[];
      readonly span: Span;
    };

export function isWindowAst(v: Ast | WindowAst): v is WindowAst {
  return v.kind === 'last' || v.kind === 'ever' || (v.kind === 'between' && 'fromSeconds' in v);
}

export type RefAst = Extract<Ast, { kind: 'ref' }>;

/**
 * Every name an expression refers to (tags, profile attributes, `as_of`), in source order; windows of
 * aggregate calls are not expressions and are skipped. Shared by the checker and the web console.
 * @example
 *   refsOf(parseExpression('golf_lover and customers.age > 30')).map((r) => r.name) // ['golf_lover', 'age']
 */
export function refsOf(ast: Ast, out: RefAst[] = []): RefAst[] {
  switch (ast.kind) {
    case 'ref':
      out.push(ast);
      break;
    case 'unary':
    case 'is_null':
      refsOf(ast.arg, out);
      break;
    case 'binary':
      refsOf(ast.left, out);
      refsOf(ast.right, out);
      break;
    case 'in':
      refsOf(ast.arg, out);
      for (const x of ast.list) refsOf(x, out);
      break;
    case 'between':
      refsOf(ast.arg, out);
      refsOf(ast.low, out);
      refsOf(ast.high, out);
      break;
    case 'case':
      for (const w of ast.whens) {
        refsOf(w.when, out);
        refsOf(w.result, out);
      }
      if (ast.else) refsOf(ast.else, out);
      break;
    case 'call':
      for (const a of ast.args) if (!isWindowAst(a.value)) refsOf(a.value, out);
      break;
    case 'number':
    case 'string':
    case 'boolean':
    case 'null':
    case 'duration':
      break;
    default: {
      const unhandled: never = ast;
      throw new Error(`unhandled expression node ${JSON.stringify(unhandled)}`);
    }
  }
  return out;
}
