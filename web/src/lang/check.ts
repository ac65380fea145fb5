/**
 * What the console can tell about a segment expression before asking the server: syntax (the real
 * parser) and names (tags and profile attributes the server listed). Only an expression that passes
 * is sent for a count, so typing does not fire a request per keystroke that the server must refuse;
 * types and everything else are still the server's to judge.
 */
import { type Ast, refsOf } from '../../../src/lang/ast.js';
import { ParseError, parseExpression } from '../../../src/lang/parser.js';
import { didYouMeanSuffix } from '../../../src/util/did-you-mean.js';

export interface LocalProblem {
  readonly start: number;
  readonly end: number;
  readonly message: string;
}

/** Names an expression may use: tags, profile attributes (plain and `source.column`), `as_of`. */
export function knownNames(
  tags: readonly string[],
  attributes: readonly { name: string; source: string; column: string }[],
): Set<string> {
  const names = new Set<string>(tags);
  for (const a of attributes) {
    names.add(a.name);
    names.add(`${a.source}.${a.column}`);
  }
  names.add('as_of');
  return names;
}

/** The first problem the console can see by itself, or undefined when the server should judge. */
export function checkLocally(text: string, names: ReadonlySet<string>): LocalProblem | undefined {
  let ast: Ast;
  try {
    ast = parseExpression(text);
  } catch (e) {
    if (e instanceof ParseError)
      return { start: e.start, end: Math.max(e.end, e.start + 1), message: e.message };
    throw e;
  }
  for (const r of refsOf(ast)) {
    const full = r.qualifier ? `${r.qualifier}.${r.name}` : r.name;
    if (!names.has(full))
      return {
        start: r.span.start,
        end: r.span.end,
        message: `unknown tag or profile attribute '${full}'${didYouMeanSuffix(full, names)}`,
      };
  }
  return undefined;
}
