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
