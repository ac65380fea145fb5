/** How the CLI talks: results on stdout (JSON with --json), problems and progress on stderr. */
import { formatProblem, type Problem, ProjectError, sortProblems, TagverseError } from '../util/problems.js';

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printLine(line = ''): void {
  process.stdout.write(`${line}\n`);
}

export function printProblems(problems: readonly Problem[]): void {
  for (const p of sortProblems(problems)) process.stderr.write(`${formatProblem(p, { caret: true })}\n`);
}

/** Print an error as one clear line (or positioned problems) and return the exit code. */
export function reportError(e: unknown, json: boolean): number {
  if (e instanceof ProjectError) {
    if (json) printJson({ ok: false, problems: e.problems });
    else printProblems(e.problems);
    return 1;
  }
  const code = e instanceof TagverseError ? e.code : 'internal';
  const message = e instanceof Error ? e.message : String(e);
  if (json) printJson({ ok: false, error: { code, message } });
  else process.stderr.write(`error: ${message}\n`);
  if (!(e instanceof TagverseError) && process.env.TAGVERSE_DEBUG && e instanceof Error) {
    process.stderr.write(`${e.stack ?? ''}\n`);
  }
  return 1;
}

/** 1,234,567 */
export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function fmtSeconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
