/**
 * Ingestion over HTTP: the Segment tracking API (`/v1/track`, `/v1/identify`, `/v1/page`,
 * `/v1/screen`, `/v1/group`, `/v1/alias`, `/v1/batch`), so existing Segment clients work by pointing
 * their host here, and `/v1/events` for rows already shaped as a source's columns. A 200 means the
 * messages are in the write-ahead log on disk (src/realtime/wal.ts).
 *
 * Auth: a key with the `events:write` permission (roles ingest and admin), as `Authorization: Bearer
 * <key>`, or the Segment way: HTTP Basic with the key as user name (empty password), or `writeKey` in
 * the body. Then the per-key rate limit (429 with Retry-After), the size limits (413 for a body over
 * `realtime.max_batch_bytes`, 400 `event.too_large` for one message over `realtime.max_event_bytes`)
 * and the shape of every message (400 `event.invalid` naming the field, e.g. `batch.3.userId`; nothing
 * of a request with an invalid message is accepted). `realtime.starting` (503) while the server loads.
 *
 * Also `GET /v1/realtime/status` and `POST /v1/realtime/flush` (permission store:admin).
 */
import type { HttpBindings } from '@hono/node-server';
import { type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { ProjectConfig } from '../config/project.js';
import type { RealtimeRuntime } from '../realtime/runtime.js';
import { checkMessage, type SegmentMessage, type SegmentType } from '../realtime/segment-message.js';
import { parseJsonBody } from './json-body.js';
import type { KeyRing, Principal } from './keys.js';
import type { Metrics } from './metrics.js';
import { ApiError } from './problem.js';
import type { RateLimiter } from './rate-limit.js';
import { readLimited } from './read-body.js';
import { allows, type Permission } from './roles.js';

/** How routes reach the runtime, which starts after the server listens. */
export interface RealtimeHandle {
  readonly runtime: RealtimeRuntime | undefined;
  /** Why real time is not running, when it failed to start. */
  readonly error: string | undefined;
}

export interface IngestRouteContext {
  readonly config: ProjectConfig;
  readonly keys: KeyRing;
  readonly limiter: RateLimiter;
  readonly metrics: Metrics;
  readonly realtime: RealtimeHandle;
  readonly requestsPerSecond: number;
}

const PROBLEM = 'application/problem+json';

const AcceptedSchema = z
  .object({
    success: z.literal(true),
    accepted: z.number().int().openapi({ description: 'Messages logged now' }),
    duplicates: z.number().int().openapi({ description: 'Messages already accepted (same messageId)' }),
    ignored: z.number().int().openapi({ description: 'Accepted messages no mapping rule takes' }),
    rejected: z
      .number()
      .int()
      .openapi({ description: 'Accepted messages whose row was rejected (tagverse.rejects)' }),
  })
  .openapi('IngestAccepted');

const MessageSchema = z
  .looseObject({
    type: z.enum(['track', 'identify', 'page', 'screen', 'group', 'alias']).optional(),
    userId: z.union([z.string(), z.number()]).optional(),
    anonymousId: z.union([z.string(), z.number()]).optional(),
    messageId: z.string().optional(),
    event: z.string().optional(),
    name: z.string().optional(),
    properties: z.record(z.string(), z.unknown()).optional(),
    traits: z.record(z.string(), z.unknown()).optional(),
    context: z.record(z.string(), z.unknown()).optional(),
    timestamp: z.string().optional(),
    sentAt: z.string().optional(),
    previousId: z.union([z.string(), z.number()]).optional(),
    groupId: z.union([z.string(), z.number()]).optional(),
    writeKey: z.string().optional(),
  })
  .openapi('SegmentMessage', {
    description:
      'A Segment spec message (https://segment.com/docs/connections/spec/); other fields are kept.',
  });

const BatchSchema = z
  .looseObject({
    batch: z.array(z.unknown()).openapi({ description: 'Messages, each with its type' }),
    context: z.record(z.string(), z.unknown()).optional(),
    sentAt: z.string().optional(),
    writeKey: z.string().optional(),
  })
  .openapi('SegmentBatch');

const EventsSchema = z
  .object({
    source: z.string().openapi({ example: 'transactions' }),
    rows: z.array(z.record(z.string(), z.unknown())).openapi({ description: 'Rows as the source’s columns' }),
  })
  .openapi('EventRows');

const StatusSchema = z.record(z.string(), z.any()).openapi('RealtimeStatus');

const problem = (description: string) => ({ description, content: { [PROBLEM]: { schema: z.unknown() } } });
const ERRORS = {
  400: problem('Invalid message (field named) or too large an event'),
  401: problem('Missing or invalid key'),
  403: problem('The key’s role cannot ingest'),
  413: problem('Body over the batch size limit'),
  429: problem('Rate limit exceeded (see Retry-After)'),
  503: problem('Real time is starting or not available'),
};

/**
 * An upper bound of the UTF-8 size of a parsed JSON value written back as JSON (each UTF-16 unit of a
 * string takes at most 6 bytes, escaped; a number at most 25), stopping once it passes `limit`.
 */
export function jsonBytesAtMost(v: unknown, limit: number): number {
  let total = 0;
  const walk = (x: unknown): void => {
    if (total > limit) return;
    if (typeof x === 'string') total += 2 + 6 * x.length;
    else if (typeof x === 'number') total += 25;
    else if (x === null || typeof x === 'boolean') total += 5;
    else if (Array.isArray(x)) {
      total += 2;
      for (const y of x) {
        if (total > limit) return;
        total += 1;
        walk(y);
      }
    } else if (typeof x === 'object') {
      total += 2;
      for (const k in x as Record<string, unknown>) {
        if (total > limit) return;
        total += 4 + 6 * k.length;
        walk((x as Record<string, unknown>)[k]);
      }
    }
  };
  walk(v);
  return total;
}

function principalOf(
  c: Context,
  keys: KeyRing,
  bodyKey: unknown,
): { principal?: Principal; presented: boolean } {
  const header = c.req.header('authorization') ?? '';
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (bearer) return { principal: keys.verify(bearer[1]!), presented: true };
  const basic = /^Basic\s+(\S+)\s*$/i.exec(header);
  if (basic) {
    const user = Buffer.from(basic[1]!, 'base64').toString('utf8').split(':')[0] ?? '';
    return { principal: keys.verify(user), presented: true };
  }
  if (typeof bodyKey === 'string' && bodyKey !== '')
    return { principal: keys.verify(bodyKey), presented: true };
  return { presented: false };
}

export function registerIngestRoutes(app: OpenAPIHono<never>, ctx: IngestRouteContext): void {
  // biome-ignore lint/suspicious/noExplicitAny: shared with the app's Env, which this module does not need
  const api = app as unknown as OpenAPIHono<any>;
  const { config, keys, limiter, metrics } = ctx;
  const rt = config.realtime;

  /** Read the body with the size limit, then authenticate and rate-limit. */
  const admit = async (
    c: Context,
    maxBytes: number,
    permission: Permission,
  ): Promise<{ body: unknown; runtime: RealtimeRuntime; bytes: number }> => {
    const declared = Number(c.req.header('content-length') ?? Number.NaN);
    if (declared > maxBytes) throw tooLarge(c, maxBytes);
    // Under the Node server the bytes come straight from the request stream, and reading stops past
    // the limit (a body sent in chunks without a length is never buffered whole); elsewhere (tests'
    // app.request) through the Request. A large body is parsed in pieces, never decoded as one string
    // (json-body.ts).
    const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming;
    let raw: Uint8Array;
    if (incoming && !incoming.readableEnded) {
      const read = await readLimited(incoming, maxBytes);
      if (read === 'too_large') throw tooLarge(c, maxBytes);
      raw = read;
    } else raw = new Uint8Array(await c.req.arrayBuffer());
    const bytes = raw.length;
    if (bytes > maxBytes) throw tooLarge(c, maxBytes);
    let body: unknown;
    try {
      body = parseJsonBody(raw);
    } catch (e) {
      throw new ApiError(
        400,
        'request.invalid',
        `the body is not JSON: ${e instanceof Error ? e.message : String(e)}`,
        {
          field: 'body',
        },
      );
    }
    const writeKey =
      body !== null && typeof body === 'object' ? (body as Record<string, unknown>).writeKey : undefined;
    const { principal, presented } = principalOf(c, keys, writeKey);
    if (!principal) {
      metrics.reject('unauthorized');
      throw new ApiError(
        401,
        presented ? 'auth.invalid_key' : 'auth.missing_key',
        presented
          ? 'the key is not valid'
          : 'a key is required: Authorization: Bearer <key>, or Basic auth with the key as user, or writeKey in the body',
        { headers: { 'www-authenticate': 'Basic realm="tagverse", Bearer realm="tagverse"' } },
      );
    }
    const wait = limiter.take(principal.keyId);
    if (wait > 0) {
      metrics.reject('rate_limited');
      throw new ApiError(
        429,
        'rate_limited',
        `rate limit of ${ctx.requestsPerSecond} requests/s for this key exceeded; retry in ${wait} s`,
        { headers: { 'retry-after': String(wait) } },
      );
    }
    if (!allows(principal.role, permission)) {
      metrics.reject('forbidden');
      throw new ApiError(
        403,
        'auth.forbidden',
        `the ${principal.role} role cannot do this (needs ${permission})`,
      );
    }
    const runtime = ctx.realtime.runtime;
    if (!runtime) {
      const why = ctx.realtime.error;
      throw new ApiError(
        503,
        why ? 'realtime.unavailable' : 'realtime.starting',
        why
          ? `real time is not running: ${why}`
          : 'real time is starting (loading the warehouse); retry shortly',
        { headers: { 'retry-after': why ? '30' : '2' } },
      );
    }
    return { body, runtime, bytes };
  };

  const tooLarge = (c: Context, max: number) => {
    metrics.reject('body_too_large');
    const outgoing = (c.env as { outgoing?: { shouldKeepAlive: boolean } } | undefined)?.outgoing;
    if (outgoing) outgoing.shouldKeepAlive = false;
    return new ApiError(413, 'request.too_large', `the request body is larger than ${max} bytes`, {
      field: 'body',
    });
  };

  const checkAll = (
    items: readonly unknown[],
    where: (i: number) => string,
    bytes: number,
    opts: { type?: SegmentType; sentAt?: number; context?: Record<string, unknown> },
  ): SegmentMessage[] => {
    const receivedAt = Date.now();
    const out: SegmentMessage[] = [];
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      // Only a body larger than one event's limit can hold a message over it, and only a message
      // whose cheap upper bound is over it needs to be measured exactly.
      if (
        bytes > rt.maxEventBytes &&
        jsonBytesAtMost(item, rt.maxEventBytes) > rt.maxEventBytes &&
        Buffer.byteLength(JSON.stringify(item) ?? '') > rt.maxEventBytes
      ) {
        throw new ApiError(
          400,
          'event.too_large',
          `${where(i) || 'the message'} is larger than ${rt.maxEventBytes} bytes`,
          {
            field: where(i) || 'body',
          },
        );
      }
      const r = checkMessage(item, where(i), receivedAt, opts);
      if (r.problem) {
        throw new ApiError(400, 'event.invalid', `${r.problem.field}: ${r.problem.message}`, {
          field: r.problem.field,
        });
      }
      out.push(r.message!);
    }
    return out;
  };

  const respond = (c: Context, r: Awaited<ReturnType<RealtimeRuntime['accept']>>) =>
    c.json({ success: true as const, ...r }, 200);

  /**
   * A route documented in /openapi.json but not validated by zod: bodies are size-checked before they
   * are parsed, and 500 messages are checked by hand much faster than by a schema.
   */
  const route = (
    method: 'get' | 'post',
    path: string,
    doc: { summary: string; body?: z.ZodType; response: z.ZodType; description: string },
    handler: (c: Context) => Promise<Response>,
  ) => {
    api.openAPIRegistry.registerPath({
      method,
      path,
      tags: ['ingestion'],
      summary: doc.summary,
      security: [{ bearer: [] }, { basic: [] }],
      ...(doc.body
        ? { request: { body: { content: { 'application/json': { schema: doc.body } }, required: true } } }
        : {}),
      responses: {
        200: { description: doc.description, content: { 'application/json': { schema: doc.response } } },
        ...ERRORS,
      },
    });
    if (method === 'get') api.get(path, handler);
    else api.post(path, handler);
  };

  api.openAPIRegistry.registerComponent('securitySchemes', 'basic', {
    type: 'http',
    scheme: 'basic',
    description: 'Segment style: the key as user name, empty password (or writeKey in the body).',
  });
  for (const type of ['track', 'identify', 'page', 'screen', 'group', 'alias'] as const) {
    route(
      'post',
      `/v1/${type}`,
      {
        summary: `Segment ${type} call: logged durably before the 200`,
        body: MessageSchema,
        response: AcceptedSchema,
        description: 'Accepted',
      },
      async (c: Context) => {
        const { body, runtime, bytes } = await admit(c, rt.maxEventBytes, 'events:write');
        const messages = checkAll([body], () => '', bytes, { type });
        return respond(c, await runtime.accept(messages, 'http'));
      },
    );
  }

  route(
    'post',
    '/v1/batch',
    {
      summary: 'Segment batch: many calls at once, all accepted or none (logged durably before the 200)',
      body: BatchSchema,
      response: AcceptedSchema,
      description: 'Accepted',
    },
    async (c: Context) => {
      const { body, runtime, bytes } = await admit(c, rt.maxBatchBytes, 'events:write');
      const b = body as Record<string, unknown> | undefined;
      if (!b || typeof b !== 'object' || !Array.isArray(b.batch)) {
        throw new ApiError(400, 'event.invalid', 'batch: a batch body is {"batch": [messages]}', {
          field: 'batch',
        });
      }
      const sentAt = typeof b.sentAt === 'string' ? Date.parse(b.sentAt) : undefined;
      const context =
        b.context !== null && typeof b.context === 'object'
          ? (b.context as Record<string, unknown>)
          : undefined;
      const messages = checkAll(b.batch, (i) => `batch.${i}`, bytes, {
        ...(sentAt !== undefined && !Number.isNaN(sentAt) ? { sentAt } : {}),
        ...(context ? { context } : {}),
      });
      return respond(c, await runtime.accept(messages, 'http'));
    },
  );

  route(
    'post',
    '/v1/events',
    {
      summary:
        'Rows already shaped as an events source’s columns (typed, deduplicated by the event id column)',
      body: EventsSchema,
      response: AcceptedSchema,
      description: 'Accepted',
    },
    async (c: Context) => {
      const { body, runtime } = await admit(c, rt.maxBatchBytes, 'events:write');
      const b = body as { source?: unknown; rows?: unknown } | undefined;
      if (!b || typeof b.source !== 'string' || !Array.isArray(b.rows)) {
        throw new ApiError(
          400,
          'event.invalid',
          'body: {"source": "<events source>", "rows": [...]} expected',
          {
            field: 'body',
          },
        );
      }
      if (!runtime.hasEventsSource(b.source)) {
        throw new ApiError(
          400,
          'event.unknown_source',
          `'${b.source}' is not an events source of the project`,
          {
            field: 'source',
          },
        );
      }
      const rows = b.rows as unknown[];
      rows.forEach((r, i) => {
        if (r === null || typeof r !== 'object' || Array.isArray(r))
          throw new ApiError(400, 'event.invalid', `rows.${i}: a row is an object of columns`, {
            field: `rows.${i}`,
          });
      });
      return respond(c, await runtime.acceptRows(b.source, rows as Record<string, unknown>[], 'events'));
    },
  );

  route(
    'get',
    '/v1/realtime/status',
    {
      summary: 'Real time: accepted, logged, served and flushed positions, latencies, triggers (store:admin)',
      response: StatusSchema,
      description: 'Status',
    },
    async (c: Context) => {
      const { runtime } = await admit(c, 0, 'store:admin');
      return c.json(runtime.status(), 200);
    },
  );

  route(
    'post',
    '/v1/realtime/flush',
    {
      summary: 'Serve and write everything logged into the warehouse now (store:admin)',
      response: StatusSchema,
      description: 'Status after the flush',
    },
    async (c: Context) => {
      const { runtime } = await admit(c, 0, 'store:admin');
      await runtime.settle();
      await runtime.flushAll();
      return c.json(runtime.status(), 200);
    },
  );
}
