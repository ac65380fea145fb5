/**
 * Tokens of the tag expression language. Keywords are case-insensitive; identifiers keep their case.
 * Every token carries its offset in the expression text so errors can point at it.
 */

export type TokenKind =
  | 'number'
  | 'duration'
  | 'string'
  | 'ident'
  | 'keyword'
  | 'op'
  | 'lparen'
  | 'rparen'
  | 'comma'
  | 'colon'
  | 'dot'
  | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** Keywords lower-cased; strings unescaped; operators normalized (`<>` -> `!=`). */
  readonly value: string;
  readonly start: number;
  readonly end: number;
}

export const KEYWORDS = new Set([
  'and',
  'or',
  'not',
  'in',
  'between',
  'is',
  'null',
  'true',
  'false',
  'case',
  'when',
  'then',
  'else',
  'end',
  'last',
  'ever',
  'ago',
]);

/** Units of durations: `90d`, `12h`, `30m`, `45s`, `2w`. */
export const DURATION_UNITS: Readonly<Record<string, number>> = {
  s: 1,
  m: 60,
  h: 3600,
  d: 86_400,
  w: 604_800,
};

export class LexError extends Error {
  constructor(
    message: string,
    readonly start: number,
    readonly end: number,
  ) {
    super(message);
  }
}

const isIdentStart = (c: string) => /[A-Za-z_]/.test(c);
const isIdentPart = (c: string) => /[A-Za-z0-9_]/.test(c);
const isDigit = (c: string) => c >= '0' && c <= '9';

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const push = (kind: TokenKind, value: string, start: number) => tokens.push({ kind, value, start, end: i });
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (c === '#') {
      // Comment to end of line: handy in multi-line YAML block scalars.
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    const start = i;
    if (isDigit(c) || (c === '.' && isDigit(text[i + 1] ?? ''))) {
      while (i < text.length && isDigit(text[i]!)) i++;
      if (text[i] === '.' && isDigit(text[i + 1] ?? '')) {
        i++;
        while (i < text.length && isDigit(text[i]!)) i++;
      }
      if ((text[i] === 'e' || text[i] === 'E') && /[0-9+-]/.test(text[i + 1] ?? '')) {
        i += 2;
        while (i < text.length && isDigit(text[i]!)) i++;
      }
      const unit = text[i] ?? '';
      if (unit in DURATION_UNITS && !isIdentPart(text[i + 1] ?? '')) {
        i++;
        push('duration', text.slice(start, i), start);
        continue;
      }
      if (isIdentStart(unit)) {
        while (i < text.length && isIdentPart(text[i]!)) i++;
        throw new LexError(
          `'${text.slice(start, i)}' is not a number or a duration (durations are like 90d, 12h, 30m, 45s, 2w)`,
          start,
          i,
        );
      }
      push('number', text.slice(start, i), start);
      continue;
    }
    if (c === "'" || c === '"') {
      const quote = c;
      i++;
      let value = '';
      for (;;) {
        if (i >= text.length) throw new LexError('unterminated string (missing closing quote)', start, i);
        const ch = text[i]!;
        if (ch === quote) {
          if (text[i + 1] === quote) {
            value += quote;
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += ch;
        i++;
      }
      push('string', value, start);
      continue;
    }
    if (c === '`') {
      // Quoted identifier for column names that are not plain words.
      i++;
      let value = '';
      while (i < text.length && text[i] !== '`') value += text[i++];
      if (i >= text.length) throw new LexError('unterminated quoted name (missing closing `)', start, i);
      i++;
      if (value === '') throw new LexError('empty quoted name', start, i);
      push('ident', value, start);
      continue;
    }
    if (isIdentStart(c)) {
      while (i < text.length && isIdentPart(text[i]!)) i++;
      const word = text.slice(start, i);
      const lower = word.toLowerCase();
      if (KEYWORDS.has(lower)) push('keyword', lower, start);
      else push('ident', word, start);
      continue;
    }
    const two = text.slice(i, i + 2);
    if (two === '<=' || two === '>=' || two === '!=' || two === '<>' || two === '==') {
      i += 2;
      push('op', two === '<>' ? '!=' : two === '==' ? '=' : two, start);
      continue;
    }
    if ('+-*/%<>='.includes(c)) {
      i++;
      push('op', c, start);
      continue;
    }
    const single: Record<string, TokenKind> = {
      '(': 'lparen',
      ')': 'rparen',
      ',': 'comma',
      ':': 'colon',
      '.': 'dot',
    };
    const kind = single[c];
    if (kind) {
      i++;
      push(kind, c, start);
      continue;
    }
    throw new LexError(`unexpected character '${c}'`, start, start + 1);
  }
  tokens.push({ kind: 'eof', value: '', start: text.length, end: text.length });
  return tokens;
}
