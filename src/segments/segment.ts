/**
 * Segments as users see them: expression text -> checked IR (the tag language's own parser and
 * checker, entity context, boolean) -> members on the online store; previews, pages of members,
 * exports and overlaps. Problems point at the offending span of the expression.
 */
import type { ProjectConfig } from '../config/project.js';
import { checkExpression } from '../lang/checker.js';
import type { Expr } from '../lang/ir.js';
import { type Bitmap, Bitmap as BitmapClass } from '../online/bitmap.js';
import type { TagStore } from '../online/store.js';
import { TagverseError } from '../util/problems.js';
import { evaluateSegment } from './evaluate.js';

export interface SegmentLimits {
  /** Longest expression text accepted, in characters. */
  readonly maxExpressionLength: number;
  /** Deepest nesting of parentheses accepted. */
  readonly maxDepth: number;
  /** Time allowed to evaluate one expression, in ms. */
  readonly timeoutMs: number;
}

export const DEFAULT_SEGMENT_LIMITS: SegmentLimits = {
  maxExpressionLength: 10_000,
  maxDepth: 64,
  timeoutMs: 5_000,
};

/** A problem in an expression: character span [start, end) and its 1-based line and column. */
export interface SpanProblem {
  readonly start: number;
  readonly end: number;
  readonly line: number;
  readonly col: number;
  readonly message: string;
}

/** An expression that cannot be used: every problem found, with positions. */
export class SegmentError extends TagverseError {
  constructor(
    code: string,
    message: string,
    readonly problems: readonly SpanProblem[],
  ) {
    super(code, message);
    this.name = 'SegmentError';
  }
}

function position(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let col = 1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      col = 1;
    } else col++;
  }
  return { line, col };
}

function spanProblem(text: string, start: number, end: number, message: string): SpanProblem {
  return { start, end, ...position(text, start), message };
}

/** Cheap checks before parsing, so a hostile expression costs nothing. */
function guard(text: string, limits: SegmentLimits): void {
  if (text.trim() === '') {
    throw new SegmentError('segment.empty', 'the expression is empty', [
      spanProblem(text, 0, 1, 'empty expression'),
    ]);
  }
  if (text.length > limits.maxExpressionLength) {
    throw new SegmentError(
      'segment.too_long',
      `the expression is ${text.length} characters long; the limit is ${limits.maxExpressionLength}`,
      [spanProblem(text, limits.maxExpressionLength, text.length, 'expression too long')],
    );
  }
  let depth = 0;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === quote) quote = undefined;
    } else if (ch === "'" || ch === '"' || ch === '`') quote = ch;
    else if (ch === '(') {
      depth++;
      if (depth > limits.maxDepth) {
        throw new SegmentError(
          'segment.too_deep',
          `the expression nests parentheses deeper than ${limits.maxDepth} levels`,
          [spanProblem(text, i, i + 1, `nesting deeper than ${limits.maxDepth}`)],
        );
      }
    } else if (ch === ')') depth = Math.max(0, depth - 1);
  }
}

/**
 * Parse and check a segment expression against the store's tags and profile attributes.
 * @example
 *   const expr = compileSegment(config, store, "golf_lover and region in ('Seoul', 'Busan')");
 */
export function compileSegment(
  config: ProjectConfig,
  store: TagStore,
  text: string,
  limits: SegmentLimits = DEFAULT_SEGMENT_LIMITS,
): Expr {
  guard(text, limits);
  let r: ReturnType<typeof checkExpression>;
  try {
    r = checkExpression(config, store.schemas, store.program, text);
  } catch (e) {
    if (e instanceof RangeError) {
      throw new SegmentError('segment.too_complex', 'the expression is too complex to check', [
        spanProblem(text, 0, text.length, 'too complex'),
      ]);
    }
    throw e;
  }
  if (!r.expr || r.problems.length > 0) {
    const problems = r.problems.map((p) => spanProblem(text, p.start, p.end, p.message));
    const first = problems[0];
    throw new SegmentError(
      'segment.invalid',
      first ? `${first.line}:${first.col}: ${first.message}` : 'the expression is not valid',
      problems,
    );
  }
  return r.expr;
}

export interface SegmentRun {
  readonly members: Bitmap;
  readonly elapsedMs: number;
  readonly fallbacks: number;
}

/** Check and evaluate an expression, within the time limit. */
export async function runSegment(
  config: ProjectConfig,
  store: TagStore,
  text: string,
  limits: SegmentLimits = DEFAULT_SEGMENT_LIMITS,
): Promise<SegmentRun> {
  const started = performance.now();
  const expr = compileSegment(config, store, text, limits);
  const r = await evaluateSegment(store, expr, { deadline: Date.now() + limits.timeoutMs });
  return { members: r.members, fallbacks: r.fallbacks, elapsedMs: performance.now() - started };
}

export interface SegmentPreview {
  readonly expression: string;
  readonly count: number;
  /** Entities in the store. */
  readonly total: number;
  readonly share: number;
  /** The first members by entity order. */
  readonly sample: readonly string[];
  readonly elapsedMs: number;
  /** The build the answer is from. */
  readonly buildId: number;
}

/**
 * Count of an expression's members with a sample of their ids.
 * @example
 *   const p = await previewSegment(config, store, 'golf_lover and not dormant_60d');
 *   console.log(p.count, p.sample);
 */
export async function previewSegment(
  config: ProjectConfig,
  store: TagStore,
  text: string,
  opts: { sample?: number; limits?: SegmentLimits } = {},
): Promise<SegmentPreview> {
  const r = await runSegment(config, store, text, opts.limits);
  const sample = [...r.members.rangeUint32Array(0, opts.sample ?? 10)].map((o) => store.ids[o]!);
  const count = r.members.size;
  return {
    expression: text,
    count,
    total: store.size,
    share: store.size === 0 ? 0 : count / store.size,
    sample,
    elapsedMs: Math.round(r.elapsedMs * 1000) / 1000,
    buildId: store.info.buildId,
  };
}

export interface MemberPage {
  readonly ids: readonly string[];
  /** Pass as `cursor` for the next page; absent on the last page. */
  readonly next?: string;
}

export function encodeCursor(lastId: string): string {
  return Buffer.from(lastId, 'utf8').toString('base64url');
}

/** Ordinal of the first member after the cursor's entity. */
function startRank(store: TagStore, members: Bitmap, cursor: string | undefined): number {
  if (cursor === undefined || cursor === '') return 0;
  const lastId = Buffer.from(cursor, 'base64url').toString('utf8');
  const ord = store.ordinal(lastId);
  if (ord === undefined) {
    throw new TagverseError(
      'segments.stale_cursor',
      'the cursor points at an entity that is no longer served (a new build was loaded); start again without a cursor',
    );
  }
  return members.rank(ord);
}

/** One page of members in entity order, after `cursor`. */
export function memberPage(
  store: TagStore,
  members: Bitmap,
  cursor: string | undefined,
  limit: number,
): MemberPage {
  const start = startRank(store, members, cursor);
  const ords = members.rangeUint32Array(start, limit);
  const ids = [...ords].map((o) => store.ids[o]!);
  const last = ids[ids.length - 1];
  return start + ids.length < members.size && last !== undefined
    ? { ids, next: encodeCursor(last) }
    : { ids };
}

export type ExportFormat = 'csv' | 'jsonl';

function csvField(v: string): string {
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/**
 * Members as CSV (`entity_id` header) or JSONL (`{"entity_id": ...}` per line), in text chunks of
 * `batch` entities, starting after `cursor`.
 */
export function* exportMembers(
  store: TagStore,
  members: Bitmap,
  format: ExportFormat,
  opts: { cursor?: string; limit?: number; batch?: number } = {},
): Generator<string> {
  if (format === 'csv') yield 'entity_id\n';
  let rank = startRank(store, members, opts.cursor);
  const end = Math.min(members.size, opts.limit === undefined ? Number.POSITIVE_INFINITY : rank + opts.limit);
  const batch = opts.batch ?? 8192;
  while (rank < end) {
    const ords = members.rangeUint32Array(rank, Math.min(batch, end - rank));
    if (ords.length === 0) break;
    let out = '';
    for (const o of ords) {
      const id = store.ids[o]!;
      out += format === 'csv' ? `${csvField(id)}\n` : `${JSON.stringify({ entity_id: id })}\n`;
    }
    rank += ords.length;
    yield out;
  }
}

export interface Overlap {
  readonly segments: readonly { readonly name: string; readonly count: number }[];
  /** matrix[i][j] = members of both i and j. */
  readonly matrix: readonly (readonly number[])[];
  /** Members of all of them. */
  readonly all: number;
  /** Members of at least one. */
  readonly any: number;
}

/** Pairwise overlaps of several member sets. */
export function overlap(named: readonly { name: string; members: Bitmap }[]): Overlap {
  const matrix = named.map((a) =>
    named.map((b) => (a === b ? a.members.size : a.members.andCardinality(b.members))),
  );
  let all: Bitmap | undefined;
  let any: Bitmap | undefined;
  for (const s of named) {
    all = all ? BitmapClass.and(all, s.members) : s.members;
    any = any ? BitmapClass.or(any, s.members) : s.members;
  }
  return {
    segments: named.map((s) => ({ name: s.name, count: s.members.size })),
    matrix,
    all: all?.size ?? 0,
    any: any?.size ?? 0,
  };
}
