/**
 * Recursive-descent parser for tag expressions and windows. Precedence, lowest first:
 * `or` < `and` < `not` < comparison / `in` / `between` / `is null` < `+ -` < `* / %` < unary `-` < primary.
 * Errors carry the span of the offending text.
 */
import type { Ast, BinaryOp, CallArg, Span, WindowAst } from './ast.js';
import { DURATION_UNITS, LexError, type Token, tokenize } from './lexer.js';

export class ParseError extends Error {
  constructor(
    message: string,
    readonly start: number,
    readonly end: number,
  ) {
    super(message);
  }
}

const COMPARISON = new Set(['=', '!=', '<', '<=', '>', '>=']);
/** Deepest nesting accepted, so hostile input cannot exhaust the stack. */
const MAX_DEPTH = 200;

export function durationSeconds(text: string): number {
  const unit = text[text.length - 1]!;
  return Number(text.slice(0, -1)) * DURATION_UNITS[unit]!;
}

class Parser {
  private pos = 0;
  private depth = 0;
  constructor(
    private readonly tokens: readonly Token[],
    readonly text: string,
  ) {}

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.pos + offset, this.tokens.length - 1)]!;
  }
  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.pos++;
    return t;
  }
  private isKeyword(word: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.kind === 'keyword' && t.value === word;
  }
  private acceptKeyword(word: string): Token | undefined {
    return this.isKeyword(word) ? this.next() : undefined;
  }
  private expectKeyword(word: string, context: string): Token {
    const t = this.peek();
    if (t.kind === 'keyword' && t.value === word) return this.next();
    throw this.error(`expected '${word}' ${context}, found ${describe(t)}`, t);
  }
  private expect(kind: Token['kind'], what: string): Token {
    const t = this.peek();
    if (t.kind === kind) return this.next();
    throw this.error(`expected ${what}, found ${describe(t)}`, t);
  }
  error(message: string, t: Token | Span): ParseError {
    return new ParseError(message, t.start, Math.max(t.end, t.start + 1));
  }

  parseAll(): Ast {
    const e = this.expr();
    const t = this.peek();
    if (t.kind !== 'eof') {
      const hint =
        t.kind === 'ident' || t.kind === 'number' || t.kind === 'string' ? ' (missing operator?)' : '';
      throw this.error(`unexpected ${describe(t)}${hint}`, t);
    }
    return e;
  }

  parseWindowOnly(): WindowAst {
    const w = this.window();
    const t = this.peek();
    if (t.kind !== 'eof') throw this.error(`unexpected ${describe(t)} after the window`, t);
    return w;
  }

  private nest<T>(fn: () => T): T {
    if (++this.depth > MAX_DEPTH)
      throw this.error(`expression nested too deeply (more than ${MAX_DEPTH} levels)`, this.peek());
    try {
      return fn();
    } finally {
      this.depth--;
    }
  }

  expr(): Ast {
    return this.nest(() => this.or());
  }

  private or(): Ast {
    let left = this.and();
    while (this.isKeyword('or')) {
      this.next();
      const right = this.and();
      left = { kind: 'binary', op: 'or', left, right, span: join(left.span, right.span) };
    }
    return left;
  }

  private and(): Ast {
    let left = this.not();
    while (this.isKeyword('and')) {
      this.next();
      const right = this.not();
      left = { kind: 'binary', op: 'and', left, right, span: join(left.span, right.span) };
    }
    return left;
  }

  private not(): Ast {
    const t = this.acceptKeyword('not');
    if (t) {
      const arg = this.nest(() => this.not());
      return { kind: 'unary', op: 'not', arg, span: join(t, arg.span) };
    }
    return this.comparison();
  }

  private comparison(): Ast {
    const left = this.additive();
    const t = this.peek();
    if (t.kind === 'op' && COMPARISON.has(t.value)) {
      this.next();
      const right = this.additive();
      const after = this.peek();
      if (after.kind === 'op' && COMPARISON.has(after.value)) {
        throw this.error(`comparisons cannot be chained; use 'and' (a < b and b < c)`, after);
      }
      return { kind: 'binary', op: t.value as BinaryOp, left, right, span: join(left.span, right.span) };
    }
    const negated = this.isKeyword('not') && (this.isKeyword('in', 1) || this.isKeyword('between', 1));
    if (negated) this.next();
    if (this.acceptKeyword('in')) {
      this.expect('lparen', "'(' after 'in'");
      const list: Ast[] = [];
      if (this.peek().kind === 'rparen') throw this.error("'in' needs at least one value", this.peek());
      do list.push(this.expr());
      while (this.peek().kind === 'comma' && this.next());
      const close = this.expect('rparen', "')' or ',' in the 'in' list");
      return { kind: 'in', arg: left, list, negated, span: join(left.span, close) };
    }
    if (this.acceptKeyword('between')) {
      const low = this.additive();
      this.expectKeyword('and', "between the bounds of 'between'");
      const high = this.additive();
      return { kind: 'between', arg: left, low, high, negated, span: join(left.span, high.span) };
    }
    if (negated) throw this.error("expected 'in' or 'between' after 'not'", this.peek());
    if (this.acceptKeyword('is')) {
      const neg = !!this.acceptKeyword('not');
      const n = this.expectKeyword('null', "after 'is'");
      return { kind: 'is_null', arg: left, negated: neg, span: join(left.span, n) };
    }
    return left;
  }

  private additive(): Ast {
    let left = this.multiplicative();
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'op' || (t.value !== '+' && t.value !== '-')) return left;
      this.next();
      const right = this.multiplicative();
      left = { kind: 'binary', op: t.value, left, right, span: join(left.span, right.span) };
    }
  }

  private multiplicative(): Ast {
    let left = this.unary();
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'op' || (t.value !== '*' && t.value !== '/' && t.value !== '%')) return left;
      this.next();
      const right = this.unary();
      left = { kind: 'binary', op: t.value, left, right, span: join(left.span, right.span) };
    }
  }

  private unary(): Ast {
    const t = this.peek();
    if (t.kind === 'op' && t.value === '-') {
      this.next();
      const arg = this.nest(() => this.unary());
      if (arg.kind === 'number') return { kind: 'number', value: -arg.value, span: join(t, arg.span) };
      return { kind: 'unary', op: '-', arg, span: join(t, arg.span) };
    }
    return this.primary();
  }

  private primary(): Ast {
    const t = this.next();
    switch (t.kind) {
      case 'number':
        return { kind: 'number', value: Number(t.value), span: t };
      case 'duration':
        return { kind: 'duration', seconds: durationSeconds(t.value), text: t.value, span: t };
      case 'string':
        return { kind: 'string', value: t.value, span: t };
      case 'lparen': {
        const e = this.expr();
        const close = this.expect('rparen', "')'");
        return { ...e, span: join(t, close) } as Ast;
      }
      case 'keyword':
        // `last(x)` is the aggregate; `last 30d` (a window) is only valid inside calls.
        if (t.value === 'last' && this.peek().kind === 'lparen') return this.call(t);
        if (t.value === 'true' || t.value === 'false')
          return { kind: 'boolean', value: t.value === 'true', span: t };
        if (t.value === 'null') return { kind: 'null', span: t };
        if (t.value === 'case') return this.caseExpr(t);
        throw this.error(`unexpected '${t.value}'`, t);
      case 'ident': {
        if (this.peek().kind === 'lparen') return this.call(t);
        if (this.peek().kind === 'dot') {
          this.next();
          const name = this.expect('ident', `a name after '${t.value}.'`);
          return { kind: 'ref', qualifier: t.value, name: name.value, span: join(t, name) };
        }
        return { kind: 'ref', name: t.value, span: t };
      }
      case 'eof':
        throw this.error('unexpected end of expression', t);
      default:
        throw this.error(`unexpected ${describe(t)}`, t);
    }
  }

  private caseExpr(start: Token): Ast {
    const whens: { when: Ast; result: Ast }[] = [];
    while (this.acceptKeyword('when')) {
      const when = this.expr();
      this.expectKeyword('then', "after the 'when' condition");
      const result = this.expr();
      whens.push({ when, result });
    }
    if (whens.length === 0) throw this.error("'case' needs at least one 'when ... then ...'", this.peek());
    const elseExpr = this.acceptKeyword('else') ? this.expr() : undefined;
    const end = this.expectKeyword('end', "to close 'case'");
    return { kind: 'case', whens, ...(elseExpr ? { else: elseExpr } : {}), span: join(start, end) };
  }

  private call(nameTok: Token): Ast {
    this.expect('lparen', "'('");
    const args: CallArg[] = [];
    if (this.peek().kind !== 'rparen') {
      do {
        const a = this.peek();
        if (a.kind === 'ident' && (this.peek(1).kind === 'colon' || this.startsClause(a))) {
          // Named argument: `where <expr>`, `by <measure>`, `window <window>` (a colon after the name is
          // also accepted, but `name: value` must be quoted in YAML, so the colon-free form is the norm).
          this.next();
          if (this.peek().kind === 'colon') this.next();
          const value = a.value === 'window' ? this.window() : this.expr();
          args.push({ name: a.value, nameSpan: a, value });
        } else if (this.startsWindow()) {
          args.push({ value: this.window() });
        } else {
          args.push({ value: this.expr() });
        }
      } while (this.peek().kind === 'comma' && this.next());
    }
    const close = this.expect('rparen', `')' to close ${nameTok.value}(`);
    return { kind: 'call', name: nameTok.value, nameSpan: nameTok, args, span: join(nameTok, close) };
  }

  /** `where x`, `by sum(x)`, `window last 30d`: a clause name followed by the start of its value. */
  private startsClause(name: Token): boolean {
    if (name.value === 'window')
      return this.isKeyword('last', 1) || this.isKeyword('ever', 1) || this.isKeyword('between', 1);
    if (name.value !== 'where' && name.value !== 'by') return false;
    const next = this.peek(1);
    // `where (a or b)` is a clause too: there is no function called where.
    if (next.kind === 'lparen') return name.value === 'where';
    return !(
      next.kind === 'comma' ||
      next.kind === 'rparen' ||
      next.kind === 'op' ||
      next.kind === 'dot' ||
      next.kind === 'eof'
    );
  }

  private startsWindow(): boolean {
    return (
      (this.isKeyword('last') && this.peek(1).kind === 'duration') ||
      this.isKeyword('ever') ||
      (this.isKeyword('between') && this.peek(1).kind === 'duration')
    );
  }

  window(): WindowAst {
    const t = this.peek();
    if (this.acceptKeyword('ever')) return { kind: 'ever', text: 'ever', span: t };
    if (this.acceptKeyword('last')) {
      const d = this.expect('duration', "a duration after 'last' (e.g. last 90d)");
      const seconds = durationSeconds(d.value);
      if (seconds <= 0) throw this.error('a window must be longer than 0', d);
      return { kind: 'last', seconds, text: `last ${d.value}`, span: join(t, d) };
    }
    if (this.acceptKeyword('between')) {
      const a = this.expect('duration', "a duration after 'between' (e.g. between 180d and 90d ago)");
      this.expectKeyword('and', 'between the two durations of the window');
      const b = this.expect('duration', "a duration after 'and'");
      const ago = this.expectKeyword('ago', "after 'between ... and ...' (e.g. between 180d and 90d ago)");
      const from = durationSeconds(a.value);
      const to = durationSeconds(b.value);
      if (from <= to) {
        throw this.error(
          `the window 'between ${a.value} and ${b.value} ago' is empty: the first duration must be the longer one`,
          join(t, ago),
        );
      }
      return {
        kind: 'between',
        fromSeconds: from,
        toSeconds: to,
        text: `between ${a.value} and ${b.value} ago`,
        span: join(t, ago),
      };
    }
    throw this.error(
      `expected a window ('last 90d', 'between 180d and 90d ago' or 'ever'), found ${describe(t)}`,
      t,
    );
  }
}

function join(a: Span, b: Span): Span {
  return { start: Math.min(a.start, b.start), end: Math.max(a.end, b.end) };
}

function describe(t: Token): string {
  switch (t.kind) {
    case 'eof':
      return 'the end of the expression';
    case 'string':
      return `the string '${t.value}'`;
    case 'keyword':
      return `'${t.value}'`;
    default:
      return `'${t.value}'`;
  }
}

function withTokens<T>(text: string, fn: (p: Parser) => T): T {
  let tokens: Token[];
  try {
    tokens = tokenize(text);
  } catch (e) {
    if (e instanceof LexError) throw new ParseError(e.message, e.start, e.end);
    throw e;
  }
  return fn(new Parser(tokens, text));
}

/** Parse an expression; throws ParseError with the span of the problem. */
export function parseExpression(text: string): Ast {
  if (text.trim() === '') throw new ParseError('empty expression', 0, 1);
  return withTokens(text, (p) => p.parseAll());
}

/** Parse a window: `last 90d`, `between 180d and 90d ago`, `ever`. */
export function parseWindow(text: string): WindowAst {
  return withTokens(text, (p) => p.parseWindowOnly());
}
