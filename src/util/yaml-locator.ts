/**
 * Parse YAML while keeping positions, so every problem can say `file:line:col`.
 * Used for tagverse.yaml and, later, tag/model/offer definition files.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { Problem } from './problems.js';

export type YamlPath = readonly (string | number)[];

export class YamlFile {
  readonly lines: readonly string[];
  private readonly lineCounter = new LineCounter();
  readonly doc;
  readonly parseProblems: Problem[] = [];

  constructor(
    /** Display name (usually relative to the project folder). */
    readonly file: string,
    readonly text: string,
  ) {
    this.lines = text.split(/\r?\n/);
    this.doc = parseDocument(text, { lineCounter: this.lineCounter, prettyErrors: false, uniqueKeys: true });
    for (const e of [...this.doc.errors, ...this.doc.warnings]) {
      const { line, col } = this.lineCounter.linePos(e.pos[0]);
      this.parseProblems.push(
        this.problemAt(line, col, yamlMessage(e.message), this.doc.errors.includes(e) ? 'error' : 'warning'),
      );
    }
  }

  /** 1-based line and column of a character offset in the file. */
  lineCol(offset: number): { line: number; col: number } {
    return this.lineCounter.linePos(offset);
  }

  /** The YAML node at `path` (undefined when absent). */
  nodeAt(path: YamlPath): Node | undefined {
    let node: unknown = this.doc.contents;
    for (const seg of path) {
      if (isMap(node)) {
        const pair = node.items.find(
          (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg),
        );
        if (!pair) return undefined;
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number') {
        node = node.items[seg];
      } else {
        return undefined;
      }
    }
    return (node ?? undefined) as Node | undefined;
  }

  /** A problem at a 1-based line and column, underlining `length` characters. */
  problemAtPos(
    line: number,
    col: number,
    length: number,
    message: string,
    severity: Problem['severity'] = 'error',
  ): Problem {
    return { ...this.problemAt(line, col, message, severity), length: Math.max(1, length) };
  }

  /** The plain JS value of the document (undefined when empty). */
  toJS(): unknown {
    return this.doc.toJS({ maxAliasCount: 100 });
  }

  problemAt(line: number, col: number, message: string, severity: Problem['severity'] = 'error'): Problem {
    const p: Problem = { file: this.file, line, col, message, severity };
    const sourceLine = this.lines[line - 1];
    return sourceLine === undefined ? p : { ...p, sourceLine };
  }

  /** Position of the node at `path` (or of its key with `key: true`); falls back to the nearest ancestor. */
  position(path: YamlPath, opts: { key?: boolean } = {}): { line: number; col: number; length: number } {
    let node: unknown = this.doc.contents;
    let found: { offset: number; length: number } = { offset: 0, length: 1 };
    const rangeOf = (n: unknown) => {
      const r = (n as Node | undefined)?.range;
      return r ? { offset: r[0], length: Math.max(1, r[1] - r[0]) } : undefined;
    };
    found = rangeOf(node) ?? found;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]!;
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = node.items.find(
          (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg),
        );
        if (!pair) break;
        if (last && opts.key) {
          found = rangeOf(pair.key) ?? found;
          break;
        }
        node = pair.value;
        found = rangeOf(node) ?? rangeOf(pair.key) ?? found;
      } else if (isSeq(node) && typeof seg === 'number') {
        const item = node.items[seg];
        if (item === undefined) break;
        node = item;
        found = rangeOf(node) ?? found;
      } else {
        break;
      }
    }
    const { line, col } = this.lineCounter.linePos(found.offset);
    const lineText = this.lines[line - 1] ?? '';
    return { line, col, length: Math.min(found.length, Math.max(1, lineText.length - col + 1)) };
  }

  /** A problem located at `path`. */
  problem(
    path: YamlPath,
    message: string,
    opts: { key?: boolean; severity?: Problem['severity'] } = {},
  ): Problem {
    const { line, col, length } = this.position(path, opts);
    return { ...this.problemAt(line, col, message, opts.severity ?? 'error'), length };
  }
}

function yamlMessage(raw: string): string {
  // The yaml library's messages end with position details we already report.
  const msg = raw.replace(/ at line \d+, column \d+.*$/s, '').trim();
  const hint = /Nested mappings are not allowed in compact mappings|Implicit map keys need to be/.test(msg)
    ? " (a ': ' inside a value starts a new mapping in YAML: put the value in quotes, or use a block: '>-' then the text on the next lines)"
    : '';
  return `invalid YAML: ${msg}${hint}`;
}
