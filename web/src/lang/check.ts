/**
 * What the console can tell about a segment expression before asking the server: syntax (the real
 * parser) and names (tags and profile attributes the server listed). Only an expression that passes
 * is sent for a count, so typing does not fire a request per keystroke that the server must refuse;
 * types and everything else are still the server's to judge.
 */
import { type Ast, isWindowAst } from '../../../src/lang/ast.js';
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

function refs(ast: Ast, out: Extract<Ast, { kind: 'ref' }>[]): void {
  switch (ast.kind) {
    case 'ref':
      out.push(ast);
      return;
    case 'unary':
    case 'is_null':
      refs(ast.arg, out);
      return;
    case 'binary':
      refs(ast.left, out);
      refs(ast.right, out);
      return;
    case 'in':
      refs(ast.arg, out);
      for (const x of ast.list) refs(x, out);
      return;
    case 'between':
      refs(ast.arg, out);
      refs(ast.low, out);
      refs(ast.high, out);
      return;
    case 'case':
      for (const w of ast.whens) {
        refs(w.when, out);
        refs(w.result, out);
      }
      if (ast.else) refs(ast.else, out);
      return;
    case 'call':
      for (const a of ast.args) if (!isWindowAst(a.value)) refs(a.value, out);
      return;
    case 'number':
    case 'string':
    case 'boolean':
    case 'null':
    case 'duration':
      return;
    default: {
      const unhandled: never = ast;
      throw new Error(`unhandled expression node ${JSON.stringify(unhandled)}`);
    }
  }
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
  const found: Extract<Ast, { kind: 'ref' }>[] = [];
  refs(ast, found);
  for (const r of found) {
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
