/**
 * Errors over HTTP: `application/problem+json` (RFC 9457) with a stable machine-readable `code`, a
 * human `detail`, and where it helps the offending `field` and positions inside an expression.
 */
import { HTTPException } from 'hono/http-exception';
import type { ProjectError } from '../util/problems.js';
import { TagverseError } from '../util/problems.js';

export interface ProblemPosition {
  readonly start: number;
  readonly end: number;
  readonly line: number;
  readonly col: number;
  readonly message: string;
}

export interface ProblemBody {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  /** The request field at fault: `expression`, `query.limit`, `body`, ... */
  readonly field?: string;
  /** Every problem found in an expression, with its span. */
  readonly problems?: readonly ProblemPosition[];
}

/** An error with its HTTP status; thrown anywhere in a handler, answered by the app's error handler. */
export class ApiError extends TagverseError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
    readonly extra: {
      field?: string;
      problems?: readonly ProblemPosition[];
      headers?: Record<string, string>;
    } = {},
  ) {
    super(code, message);
    this.name = 'ApiError';
  }
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** HTTP status of a library error code (`area.reason`). */
export function statusOfCode(code: string): number {
  if (/(^|\.)(unknown_entity|unknown_tag|unknown_category|not_found|no_history)$/.test(code)) return 404;
  if (code === 'segments.stale_cursor' || code === 'segments.read_only' || code === 'segments.exists')
    return 409;
  if (code === 'segment.timeout') return 422;
  if (code === 'serve.not_built' || code === 'warehouse.busy') return 503;
  return 400;
}

export function problemBody(
  status: number,
  code: string,
  detail: string,
  extra: ApiError['extra'] = {},
): ProblemBody {
  return {
    type: `https://tagverse.dev/problems/${code}`,
    title: TITLES[status] ?? 'Error',
    status,
    code,
    detail,
    ...(extra.field !== undefined ? { field: extra.field } : {}),
    ...(extra.problems !== undefined ? { problems: extra.problems } : {}),
  };
}

/** The problem for any thrown value (unknown errors become a bare 500 without internals). */
export function problemOf(e: unknown): { body: ProblemBody; headers: Record<string, string> } {
  if (e instanceof ApiError) {
    return { body: problemBody(e.status, e.code, e.message, e.extra), headers: e.extra.headers ?? {} };
  }
  if (e instanceof HTTPException) {
    // Hono's own refusals (malformed JSON body, ...): the client's fault, said plainly.
    const status = e.status >= 400 && e.status < 500 ? e.status : 500;
    return {
      body: problemBody(
        status,
        status === 500 ? 'internal' : 'request.invalid',
        e.message || 'invalid request',
        { field: 'body' },
      ),
      headers: {},
    };
  }
  if (e instanceof TagverseError) {
    const problems = (e as TagverseError & { problems?: readonly ProblemPosition[] }).problems;
    const status = statusOfCode(e.code);
    const field = e.code.startsWith('segment.') ? 'expression' : undefined;
    return {
      body: problemBody(status, e.code, e.message, {
        ...(field ? { field } : {}),
        ...(problems ? { problems } : {}),
      }),
      headers: status === 503 ? { 'retry-after': '5' } : {},
    };
  }
  if (e instanceof Error && e.name === 'ProjectError') {
    const pe = e as ProjectError;
    return {
      body: problemBody(500, 'project.invalid', pe.message.split('\n')[0] ?? 'the project has problems'),
      headers: {},
    };
  }
  return { body: problemBody(500, 'internal', 'internal error'), headers: {} };
}
