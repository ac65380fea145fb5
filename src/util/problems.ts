/**
 * A problem found in a user's project: a config key, a tag expression, a file.
 * Every problem names where it is (file, line, column — 1-based) so editors and humans can jump to it.
 */
export interface Problem {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly message: string;
  readonly severity: 'error' | 'warning';
  /** The source line the problem is on, when known, for a caret display. */
  readonly sourceLine?: string;
  /** Number of characters to underline, starting at `col` (default 1). */
  readonly length?: number;
}

/** `file:line:col: message`, the format compilers and editors understand. */
export function formatProblem(p: Problem, opts: { caret?: boolean } = {}): string {
  const head = `${p.file}:${p.line}:${p.col}: ${p.severity === 'warning' ? 'warning: ' : ''}${p.message}`;
  if (!opts.caret || p.sourceLine === undefined) return head;
  const pad = p.sourceLine.slice(0, Math.max(0, p.col - 1)).replace(/[^\t]/g, ' ');
  const underline = '^'.repeat(Math.max(1, p.length ?? 1));
  return `${head}\n  ${p.sourceLine}\n  ${pad}${underline}`;
}

/** Problems sorted by file, then position, for stable output. */
export function sortProblems(problems: readonly Problem[]): Problem[] {
  return [...problems].sort((a, b) =>
    a.file === b.file ? a.line - b.line || a.col - b.col : a.file < b.file ? -1 : 1,
  );
}

/** Thrown when a project cannot be used at all; carries every problem found. */
export class ProjectError extends Error {
  constructor(readonly problems: readonly Problem[]) {
    super(
      sortProblems(problems)
        .map((p) => formatProblem(p))
        .join('\n'),
    );
    this.name = 'ProjectError';
  }
}

/** An error a user can act on, with a stable machine-readable code. */
export class TagverseError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'TagverseError';
  }
}
