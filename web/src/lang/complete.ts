/**
 * Autocomplete for segment expressions: given the text and the caret, what could come next, and which
 * part of the text it replaces. Names (tags, profile attributes, functions, keywords) while a word is
 * typed; values after `name =`, `name in (` or `has(name, `; operators that fit the type of the name
 * just written. Pure: the editor supplies the vocabulary and fetches values it lacks.
 */
import type { Token } from '../../../src/lang/lexer.js';
import { lexLoosely } from './tokens.js';

export interface NameInfo {
  readonly name: string;
  readonly kind: 'tag' | 'attribute';
  /** boolean, number, category, list, date (tags); string, number, boolean, date, time (attributes). */
  readonly type: string;
  readonly title?: string;
  readonly category?: string;
}

export interface Vocabulary {
  readonly names: readonly NameInfo[];
  readonly functions: readonly { readonly name: string; readonly doc: string }[];
  /** Known values of a name (category, list or text attribute); undefined when not fetched yet. */
  valuesOf(name: string): readonly string[] | undefined;
}

export interface Suggestion {
  readonly label: string;
  readonly insert: string;
  readonly kind: 'tag' | 'attribute' | 'function' | 'keyword' | 'value' | 'operator';
  readonly detail?: string;
}

export interface Completion {
  /** The text in [from, to) is replaced by the chosen suggestion's `insert`. */
  readonly from: number;
  readonly to: number;
  readonly items: readonly Suggestion[];
  /** Values of this name would be suggested here, but are not known yet: fetch them. */
  readonly needsValuesOf?: string;
}

const CONNECTORS = ['and', 'or'];
const STARTERS = ['not', 'true', 'false', 'null'];
const WORD_KEYWORDS = [
  'and',
  'or',
  'not',
  'in',
  'is',
  'null',
  'between',
  'true',
  'false',
  'case',
  'when',
  'then',
  'else',
  'end',
];

const quote = (v: string) => `'${v.replace(/'/g, "''")}'`;

function operatorsFor(type: string | undefined): string[] {
  switch (type) {
    case 'boolean':
      return ['and', 'or', '= true', '= false', 'is null', 'is not null'];
    case 'number':
    case 'date':
    case 'time':
      return ['>', '>=', '<', '<=', '=', 'between', 'is null', 'is not null'];
    case 'category':
    case 'string':
      return ['=', '!=', 'in (', 'not in (', 'is null', 'is not null'];
    case 'list':
      return ['is null', 'is not null'];
    default:
      return CONNECTORS;
  }
}

/** The name whose values fit at the end of these tokens, if any. */
export function valueSubject(tokens: readonly Token[]): string | undefined {
  const n = tokens.length;
  const t = (i: number) => tokens[n - 1 - i];
  // name = | name != | name <> (the lexer normalises <> to !=)
  if (t(0)?.kind === 'op' && (t(0)!.value === '=' || t(0)!.value === '!='))
    return qualifiedName(tokens, n - 2);
  // has(name, | prefers(name, | score_of(name,
  if (t(0)?.kind === 'comma' && t(1)?.kind === 'ident' && t(2)?.kind === 'lparen' && t(3)?.kind === 'ident') {
    const fn = t(3)!.value.toLowerCase();
    if (fn === 'has' || fn === 'prefers' || fn === 'score_of') return t(1)!.value;
  }
  // name in ( | name not in ( | name in ('a', 'b',
  let i = n - 1;
  if (tokens[i]?.kind === 'comma') {
    i--;
    while (i >= 1 && tokens[i]?.kind === 'string' && tokens[i - 1]?.kind === 'comma') i -= 2;
    if (tokens[i]?.kind !== 'string') return undefined;
    i--;
  }
  if (tokens[i]?.kind !== 'lparen') return undefined;
  i--;
  if (tokens[i]?.kind !== 'keyword' || tokens[i]!.value !== 'in') return undefined;
  i--;
  if (tokens[i]?.kind === 'keyword' && tokens[i]!.value === 'not') i--;
  return qualifiedName(tokens, i);
}

/** `name` or `source.name` ending at token index i. */
function qualifiedName(tokens: readonly Token[], i: number): string | undefined {
  const last = tokens[i];
  if (last?.kind !== 'ident') return undefined;
  if (tokens[i - 1]?.kind === 'dot' && tokens[i - 2]?.kind === 'ident')
    return `${tokens[i - 2]!.value}.${last.value}`;
  return last.value;
}

function rank(query: string, ...texts: (string | undefined)[]): number {
  const q = query.toLowerCase();
  const name = (texts[0] ?? '').toLowerCase();
  if (q === '') return 3;
  if (name.startsWith(q)) return name === q ? 0 : 1;
  if (name.includes(q)) return 2;
  if (texts.slice(1).some((x) => x?.toLowerCase().includes(q))) return 4;
  return -1;
}

/** Best rank first; within a rank, shorter labels first, or the given order (values, operators). */
function byRank<T extends { label: string }>(
  items: readonly [number, T][],
  limit: number,
  keepOrder = false,
): T[] {
  return items
    .filter(([r]) => r >= 0)
    .sort(
      (a, b) =>
        a[0] - b[0] ||
        (keepOrder ? 0 : a[1].label.length - b[1].label.length || (a[1].label < b[1].label ? -1 : 1)),
    )
    .slice(0, limit)
    .map(([, x]) => x);
}

function values(
  subject: string,
  vocab: Vocabulary,
  partial: string,
  from: number,
  to: number,
  limit: number,
): Completion {
  const known = vocab.valuesOf(subject);
  if (known === undefined) return { from, to, items: [], needsValuesOf: subject };
  const items = byRank(
    known.map((v): [number, Suggestion] => [
      rank(partial, v),
      { label: v, insert: quote(v), kind: 'value', detail: subject },
    ]),
    limit,
    true,
  );
  return { from, to, items };
}

/** What may come at `cursor` in `text`. */
export function complete(text: string, cursor: number, vocab: Vocabulary, limit = 12): Completion {
  const before = text.slice(0, cursor);
  const lexed = lexLoosely(before);

  // Inside a string being typed: values of the name it belongs to.
  if (lexed.error && /unterminated string/.test(lexed.error.message)) {
    const q = lexed.error.start;
    const subject = valueSubject(lexLoosely(before.slice(0, q)).tokens);
    const closing = text[cursor] === before[q] ? 1 : 0;
    if (!subject) return { from: cursor, to: cursor, items: [] };
    return values(subject, vocab, before.slice(q + 1), q, cursor + closing, limit);
  }

  const word = /[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]*)?$/.exec(before);
  const startsInNumber = word && word.index > 0 && /[0-9]/.test(before[word.index - 1]!);
  const prefix = word && !startsInNumber ? word[0] : '';
  const from = cursor - prefix.length;
  const after = /^[A-Za-z0-9_]*/.exec(text.slice(cursor))![0];
  const to = cursor + (prefix ? after.length : 0);
  const tokens = lexLoosely(text.slice(0, from)).tokens;
  const prev = tokens[tokens.length - 1];

  const subject = valueSubject(tokens);
  if (subject && prefix === '') return values(subject, vocab, '', from, to, limit);

  const info = (name: string) => vocab.names.find((x) => x.name === name);
  const afterValue =
    prev !== undefined &&
    (prev.kind === 'ident' ||
      prev.kind === 'rparen' ||
      prev.kind === 'string' ||
      prev.kind === 'number' ||
      prev.kind === 'duration' ||
      (prev.kind === 'keyword' && ['true', 'false', 'null'].includes(prev.value)));

  if (afterValue) {
    // Right after a number, string or ')' still being typed: nothing to offer until a space.
    if (prefix === '' && prev.end === cursor) return { from, to, items: [] };
    // After a complete operand: operators that fit it, or keywords being typed.
    const type =
      prev.kind === 'ident' ? info(qualifiedName(tokens, tokens.length - 1) ?? '')?.type : undefined;
    const ops = prev.kind === 'ident' ? operatorsFor(type) : CONNECTORS;
    const items = byRank(
      [...new Set([...ops, ...(prefix ? WORD_KEYWORDS : [])])].map((op): [number, Suggestion] => [
        prefix ? rank(prefix, op) : 3,
        { label: op, insert: `${op} `, kind: /^[a-z]/.test(op) ? 'keyword' : 'operator' },
      ]),
      limit,
      true,
    );
    return { from, to, items };
  }

  // A name (or a keyword) where an operand starts.
  const candidates: [number, Suggestion][] = [
    ...vocab.names.map((n): [number, Suggestion] => [
      rank(prefix, n.name, n.title),
      {
        label: n.name,
        insert: n.name,
        kind: n.kind,
        detail: [n.type, n.category ?? (n.kind === 'attribute' ? 'profile attribute' : undefined), n.title]
          .filter(Boolean)
          .join(' · '),
      },
    ]),
    ...vocab.functions.map((f): [number, Suggestion] => [
      prefix ? rank(prefix, f.name) : -1,
      { label: `${f.name}()`, insert: `${f.name}(`, kind: 'function', detail: f.doc },
    ]),
    ...STARTERS.map((k): [number, Suggestion] => [
      prefix ? rank(prefix, k) : -1,
      { label: k, insert: `${k} `, kind: 'keyword' },
    ]),
  ];
  return { from, to, items: byRank(candidates, limit) };
}
