/**
 * The tag language's own lexer (src/lang/lexer.ts), made forgiving for text being typed: everything
 * up to a lexing error is tokens, the rest one `error` piece. Highlighting and autocomplete read this.
 */
import { LexError, type Token, type TokenKind, tokenize } from '../../../src/lang/lexer.js';

export type { Token };

export interface Piece {
  readonly kind: TokenKind | 'text' | 'error';
  readonly text: string;
  readonly start: number;
  readonly end: number;
}

export interface Lexed {
  readonly tokens: readonly Token[];
  /** Where lexing stopped, and why (an unterminated string while typing, ...). */
  readonly error?: { readonly start: number; readonly message: string };
}

export function lexLoosely(text: string): Lexed {
  try {
    return { tokens: tokenize(text).filter((t) => t.kind !== 'eof') };
  } catch (e) {
    if (!(e instanceof LexError)) throw e;
    let prefix: Token[] = [];
    try {
      prefix = tokenize(text.slice(0, e.start)).filter((t) => t.kind !== 'eof');
    } catch {
      // The prefix of a bad token is itself bad only in odd cases: show it all as an error.
    }
    return { tokens: prefix, error: { start: e.start, message: e.message } };
  }
}

/** The whole text as pieces: tokens, the text between them (spaces, comments), and the error tail. */
export function pieces(text: string): Piece[] {
  const { tokens, error } = lexLoosely(text);
  const out: Piece[] = [];
  let at = 0;
  for (const t of tokens) {
    if (t.start > at) out.push({ kind: 'text', text: text.slice(at, t.start), start: at, end: t.start });
    out.push({ kind: t.kind, text: text.slice(t.start, t.end), start: t.start, end: t.end });
    at = t.end;
  }
  const end = error ? error.start : text.length;
  if (end > at) out.push({ kind: 'text', text: text.slice(at, end), start: at, end });
  if (error && error.start < text.length)
    out.push({ kind: 'error', text: text.slice(error.start), start: error.start, end: text.length });
  return out;
}
