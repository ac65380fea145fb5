/**
 * The HTTP API as a Hono app (no sockets here: server.ts listens). Every /v1 route declares its
 * request schemas (validated, and published at /openapi.json) and the one permission it needs.
 *
 * Order of checks on /v1: URL length (414) -> API key (401) -> per-key rate limit (429) -> role (403)
 * -> body size (413) -> request validation (400) -> handler. Errors of any kind leave as
 * application/problem+json with a stable `code` (problem.ts).
 */
import type { HttpBindings } from '@hono/node-server';
import { createRoute, OpenAPIHono, type z } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ApiLimits, ProjectConfig } from '../config/project.js';
import { explain } from '../engine/explain.js';
import { profile as profileAsOf } from '../engine/profile.js';
import { registerActionRoutes } from '../offers/routes.js';
import { ActionService } from '../offers/service.js';
import { listTags, tagDetail } from '../online/catalog.js';
import type { TagStore } from '../online/store.js';
import type { StoreHolder } from '../online/store-holder.js';
import { deleteSegment, getSavedSegment, listSavedSegments, saveSegment } from '../segments/saved.js';
import {
  compileSegment,
  exportMembers,
  memberPage,
  overlap,
  runSegment,
  type SegmentLimits,
} from '../segments/segment.js';
import { VERSION } from '../version.js';
import { assetResponse, type ConsoleBundle, isConsolePage } from './console-assets.js';
import { registerConsoleRoutes } from './console-routes.js';
import { DOCS_HTML, DOCS_INIT, docsAsset } from './docs-page.js';
import { type RealtimeHandle, registerIngestRoutes } from './ingest-routes.js';
import type { KeyRing, Principal } from './keys.js';
import { leanProfileRoute, type NodeRoute } from './lean-profile.js';
import { Metrics } from './metrics.js';
import { ApiError, problemOf } from './problem.js';
import { RateLimiter } from './rate-limit.js';
import { readLimited } from './read-body.js';
import { allows, type Permission } from './roles.js';
import * as S from './schemas.js';
import { WarehouseGate } from './warehouse-gate.js';

export interface ApiOptions {
  readonly config: ProjectConfig;
  readonly holder: StoreHolder;
  readonly keys: KeyRing;
  readonly limits: ApiLimits;
  /** Clock for rate limiting (tests inject one). */
  readonly now?: () => number;
  /** The web console's built bundle, served at `/` (none: `/` is a 404 problem). */
  readonly console?: ConsoleBundle;
  /** Real time (ingestion routes, src/api/ingest-routes.ts); absent: no ingestion routes. */
  readonly realtime?: RealtimeHandle;
  /** The warehouse gate, when the server shares it (real time writes the warehouse through it too). */
  readonly gate?: WarehouseGate;
}

type Env = { Variables: { principal: Principal; store: TagStore } };

const PROBLEM = 'application/problem+json';
const utf8 = new TextDecoder();
const problemResponse = (description: string) => ({
  description,
  content: { [PROBLEM]: { schema: S.ProblemSchema } },
});
const ERRORS = {
  400: problemResponse('Invalid request or expression (with positions)'),
  401: problemResponse('Missing or invalid API key'),
  403: problemResponse('The key’s role does not allow this'),
  413: problemResponse('Request body too large'),
  414: problemResponse('URL too long'),
  429: problemResponse('Rate limit exceeded (see Retry-After)'),
};
const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

export function createApp(opts: ApiOptions): {
  app: OpenAPIHono<Env>;
  metrics: Metrics;
  /** GET /v1/profiles/{id} straight on Node's request (lean-profile.ts), for the server to put in front. */
  profileRoute: NodeRoute;
} {
  const { config, holder, keys, limits } = opts;
  const metrics = new Metrics();
  const limiter = new RateLimiter(limits.requestsPerSecond, limits.burst, opts.now);
  const gate = opts.gate ?? new WarehouseGate(limits.queryTimeoutMs);
  const segmentLimits: SegmentLimits = {
    maxExpressionLength: limits.maxExpressionLength,
    maxDepth: limits.maxExpressionDepth,
    timeoutMs: limits.queryTimeoutMs,
  };

  const app = new OpenAPIHono<Env>({
    defaultHook: (result) => {
      if (!result.success) {
        const issue = result.error.issues[0];
        const where = result.target === 'json' ? 'body' : result.target;
        const field = [where, ...(issue?.path ?? []).map(String)].join('.');
        throw new ApiError(400, 'request.invalid', `${field}: ${issue?.message ?? 'invalid'}`, { field });
      }
    },
  });

  /** How any error is answered: a problem JSON (unexpected errors are logged). */
  const problem = (e: unknown) => {
    const { body, headers } = problemOf(e);
    if (body.status >= 500 && body.code === 'internal') console.error(e);
    return {
      status: body.status,
      body: JSON.stringify(body),
      headers: { 'content-type': PROBLEM, ...headers },
    };
  };
  app.onError((e, c) => {
    const p = problem(e);
    return c.body(p.body, p.status as 400, p.headers);
  });
  app.notFound((c) => {
    // A deep link into the console (/tags/golf_lover) is the console's page, rendered by the app.
    if (opts.console && isConsolePage(c.req.method, c.req.path, c.req.header('accept'))) {
      const { body, headers } = assetResponse(opts.console.index, c.req.header('accept-encoding'));
      return c.body(new Uint8Array(body), 200, headers);
    }
    throw new ApiError(404, 'route.not_found', 'no such route (see /openapi.json)');
  });

  // Timing, metrics and common headers for every request.
  app.use('*', async (c, next) => {
    const started = performance.now();
    try {
      if (c.req.url.length > limits.maxUrlLength) {
        metrics.reject('url_too_long');
        throw new ApiError(
          414,
          'request.url_too_long',
          `the URL is longer than ${limits.maxUrlLength} characters`,
        );
      }
      // Set before the handler runs: headers added after a response exists force a copy of it.
      c.header('x-content-type-options', 'nosniff');
      await next();
    } finally {
      metrics.observe(
        c.req.routePath || 'unmatched',
        c.req.method,
        c.res.status,
        (performance.now() - started) / 1000,
      );
    }
  });

  // The console's files (exact paths only; everything else goes on to the routes).
  if (opts.console) {
    const bundle = opts.console;
    app.use('*', async (c, next) => {
      const file = c.req.method === 'GET' || c.req.method === 'HEAD' ? bundle.file(c.req.path) : undefined;
      if (!file) return next();
      const { body, headers } = assetResponse(file, c.req.header('accept-encoding'));
      return c.body(new Uint8Array(body), 200, headers);
    });
  }

  // Ingestion (Segment API, /v1/events): its own auth (Basic, writeKey), limits and problems.
  if (opts.realtime) {
    registerIngestRoutes(app as never, {
      config,
      keys,
      limiter,
      metrics,
      realtime: opts.realtime,
      requestsPerSecond: limits.requestsPerSecond,
    });
  }

  /** Admission to /v1: a valid key, within its rate limit. */
  const admit = (authorization: string | undefined): Principal => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    const principal = m ? keys.verify(m[1]!) : undefined;
    if (!principal) {
      metrics.reject('unauthorized');
      throw new ApiError(
        401,
        m ? 'auth.invalid_key' : 'auth.missing_key',
        m ? 'the API key is not valid' : 'an API key is required: Authorization: Bearer <key>',
        { headers: { 'www-authenticate': 'Bearer realm="tagverse"' } },
      );
    }
    const wait = limiter.take(principal.keyId);
    if (wait > 0) {
      metrics.reject('rate_limited');
      throw new ApiError(
        429,
        'rate_limited',
        `rate limit of ${limits.requestsPerSecond} requests/s for this key exceeded; retry in ${wait} s`,
        { headers: { 'retry-after': String(wait) } },
      );
    }
    return principal;
  };
  const authorize = (p: Principal, permission: Permission): void => {
    if (!allows(p.role, permission)) {
      metrics.reject('forbidden');
      throw new ApiError(403, 'auth.forbidden', `the ${p.role} role cannot do this (needs ${permission})`);
    }
  };

  // Every /v1 route: a valid key, within its rate limit; the store is pinned for the whole request.
  app.use('/v1/*', async (c, next) => {
    c.set('principal', admit(c.req.header('authorization')));
    // Pinned: real-time changes wait while a request reads the store across turns (segments in slices).
    c.set('store', holder.acquire());
    try {
      await next();
    } finally {
      holder.release();
    }
  });

  const need =
    (permission: Permission): MiddlewareHandler<Env> =>
    async (c, next) => {
      authorize(c.get('principal'), permission);
      await next();
    };
  const tooLarge = (c: Context): never => {
    metrics.reject('body_too_large');
    // The rest of the body is not read, so the connection cannot carry another request: say so
    // (Connection: close) rather than let a client reuse a socket the server is about to drop.
    const outgoing = (c.env as Partial<HttpBindings> | undefined)?.outgoing;
    if (outgoing) outgoing.shouldKeepAlive = false;
    throw new ApiError(
      413,
      'request.too_large',
      `the request body is larger than ${limits.maxBodyBytes} bytes`,
      {
        field: 'body',
      },
    );
  };
  const honoBodyLimit = bodyLimit({ maxSize: limits.maxBodyBytes, onError: tooLarge });
  /**
   * The body size limit, and the body read once: under the Node server the bytes come straight from
   * the socket's request stream and are handed to the validator as text (hono's body cache), instead
   * of through a WHATWG Request and its streams — the larger part of a small POST's CPU time. Elsewhere
   * (app.request in tests), hono's bodyLimit. Same limits, same 413.
   */
  const limitBody: MiddlewareHandler = async (c, next) => {
    const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming;
    if (!incoming || incoming.readableEnded || c.req.method === 'GET' || c.req.method === 'HEAD') {
      return honoBodyLimit(c, next);
    }
    const declared = incoming.headers['content-length'];
    if (
      declared !== undefined &&
      !incoming.headers['transfer-encoding'] &&
      Number(declared) > limits.maxBodyBytes
    ) {
      return tooLarge(c);
    }
    const body = await readLimited(incoming, limits.maxBodyBytes);
    if (body === 'too_large') return tooLarge(c);
    // TextDecoder: what Request#text() does (UTF-8, a leading BOM dropped, bad bytes replaced).
    // hono keeps promises in its body cache (its types say values): json() then parses this text.
    (c.req.bodyCache as { text?: Promise<string> }).text = Promise.resolve(utf8.decode(body));
    await next();
  };

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key: `tagverse keys create --role viewer` prints one.',
  });
  const security = [{ bearer: [] }];

  // ---- profiles ----------------------------------------------------------------------------------
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/profiles/{id}',
      tags: ['profiles'],
      summary:
        "An entity's tags: all, some (?tags=), one category (?category=), or as of a past time (?as_of=)",
      security,
      middleware: [need('profiles:read')] as const,
      request: { params: S.ProfileParams, query: S.ProfileQuery },
      responses: {
        200: json(S.ProfileSchema, 'Tag values grouped by category'),
        404: problemResponse('Unknown entity, tag or category'),
        ...ERRORS,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const q = c.req.valid('query');
      const tags = q.tags
        ?.split(',')
        .map((t) => t.trim())
        .filter((t) => t !== '');
      if (q.as_of !== undefined) {
        const p = await gate.run(() => profileAsOf(config, id, { asOf: q.as_of! }));
        const pick = (list: readonly { name: string }[]) =>
          list.filter((t) => !tags || tags.includes(t.name));
        const categories = Object.fromEntries(
          Object.entries(p.categories)
            .filter(([cat]) => q.category === undefined || cat === q.category)
            .map(([cat, list]) => [cat, pick(list)]),
        );
        return c.json({ ...p, categories } as z.infer<typeof S.ProfileSchema>, 200);
      }
      const store = c.get('store');
      const body = store.profileBytes(id, {
        ...(tags ? { tags } : {}),
        ...(q.category !== undefined ? { category: q.category } : {}),
      });
      // Written straight from the columns (store.profileBytes). The server answers most of these
      // requests before the app (lean-profile.ts); this is the same answer for the rest.
      return c.body(body as Uint8Array<ArrayBuffer>, 200, { 'content-type': 'application/json' }) as never;
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/profiles/{id}/explain/{tag}',
      tags: ['profiles'],
      summary: 'Why an entity has a tag value: the aggregates that decided it and the events behind them',
      security,
      middleware: [need('profiles:read')] as const,
      request: { params: S.ExplainParams, query: S.ExplainQuery },
      responses: {
        200: json(S.EvidenceSchema, 'The evidence'),
        404: problemResponse('Unknown entity or tag'),
        ...ERRORS,
      },
    }),
    async (c) => {
      const { id, tag } = c.req.valid('param');
      const { as_of } = c.req.valid('query');
      const ev = await gate.run(() =>
        explain(config, id, tag, { ...(as_of !== undefined ? { asOf: as_of } : {}) }),
      );
      return c.json(ev as z.infer<typeof S.EvidenceSchema>, 200);
    },
  );

  // ---- catalog -----------------------------------------------------------------------------------
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/tags',
      tags: ['catalog'],
      summary: 'The tag catalog with coverage',
      security,
      middleware: [need('tags:read')] as const,
      request: { query: S.TagListQuery },
      responses: { 200: json(S.TagListSchema, 'Tags in catalog order'), ...ERRORS },
    }),
    (c) => c.json({ tags: listTags(c.get('store'), c.req.valid('query')) }, 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/tags/{name}',
      tags: ['catalog'],
      summary: 'One tag: definition, version, owner, status, coverage and the distribution of its values',
      security,
      middleware: [need('tags:read')] as const,
      request: { params: S.TagParams },
      responses: { 200: json(S.TagDetailSchema, 'The tag'), 404: problemResponse('Unknown tag'), ...ERRORS },
    }),
    (c) => {
      const { name } = c.req.valid('param');
      const d = tagDetail(c.get('store'), name);
      if (!d) throw new ApiError(404, 'tags.not_found', `unknown tag '${name}'`, { field: 'name' });
      return c.json(d as z.infer<typeof S.TagDetailSchema>, 200);
    },
  );

  // ---- segments ----------------------------------------------------------------------------------
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/segments/preview',
      tags: ['segments'],
      summary: 'Count an expression’s members, with a sample of ids and the time it took',
      security,
      middleware: [need('segments:read'), limitBody] as const,
      request: { body: { content: { 'application/json': { schema: S.PreviewBody } }, required: true } },
      responses: {
        200: json(S.PreviewSchema, 'The preview'),
        422: problemResponse('Took too long'),
        ...ERRORS,
      },
    }),
    async (c) => {
      const b = c.req.valid('json');
      const store = c.get('store');
      const r = await runSegment(config, store, b.expression, segmentLimits);
      const sample = [...r.members.rangeUint32Array(0, b.sample ?? 10)].map((o) => store.ids[o]!);
      return c.json(
        {
          expression: b.expression,
          count: r.members.size,
          total: store.size,
          share: store.size === 0 ? 0 : r.members.size / store.size,
          sample,
          elapsedMs: Math.round(r.elapsedMs * 1000) / 1000,
          buildId: store.info.buildId,
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/segments',
      tags: ['segments'],
      summary: 'Saved segments (segments/*.yaml)',
      security,
      middleware: [need('segments:read')] as const,
      responses: { 200: json(S.SegmentListSchema, 'Saved segments by name'), ...ERRORS },
    }),
    (c) => {
      const r = listSavedSegments(config);
      return c.json({ segments: [...r.segments], problems: [...r.problems] }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/segments',
      tags: ['segments'],
      summary: 'Save a segment (created, or replaced when the name exists); the expression is checked first',
      security,
      middleware: [need('segments:write'), limitBody] as const,
      request: { body: { content: { 'application/json': { schema: S.SaveSegmentBody } }, required: true } },
      responses: {
        200: json(S.SavedSegmentSchema, 'Replaced'),
        201: json(S.SavedSegmentSchema, 'Created'),
        409: problemResponse('Defined in a file holding several segments'),
        ...ERRORS,
      },
    }),
    (c) => {
      const b = c.req.valid('json');
      compileSegment(config, c.get('store'), b.expression, segmentLimits);
      const r = saveSegment(config, b);
      return c.json(r.segment, r.created ? 201 : 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/segments/{name}',
      tags: ['segments'],
      summary: 'A saved segment with its current count',
      security,
      middleware: [need('segments:read')] as const,
      request: { params: S.SegmentParams },
      responses: {
        200: json(S.SegmentWithCountSchema, 'The segment'),
        404: problemResponse('No such segment'),
        ...ERRORS,
      },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const store = c.get('store');
      const seg = getSavedSegment(config, name);
      const r = await runSegment(config, store, seg.expression, segmentLimits);
      return c.json(
        {
          ...seg,
          count: r.members.size,
          elapsedMs: Math.round(r.elapsedMs * 1000) / 1000,
          buildId: store.info.buildId,
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/segments/{name}',
      tags: ['segments'],
      summary: 'Delete a saved segment',
      security,
      middleware: [need('segments:write')] as const,
      request: { params: S.SegmentParams },
      responses: { 204: { description: 'Deleted' }, 404: problemResponse('No such segment'), ...ERRORS },
    }),
    (c) => {
      deleteSegment(config, c.req.valid('param').name);
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/segments/{name}/members',
      tags: ['segments'],
      summary: 'Members of a saved segment: a JSON page, or all of them streamed as CSV or JSONL',
      security,
      middleware: [need('segments:read')] as const,
      request: { params: S.SegmentParams, query: S.MembersQuery },
      responses: {
        200: {
          description: 'Members in entity order',
          content: {
            'application/json': { schema: S.MemberPageSchema },
            'text/csv': { schema: { type: 'string' } },
            'application/x-ndjson': { schema: { type: 'string' } },
          },
        },
        404: problemResponse('No such segment'),
        409: problemResponse('Cursor from an older build'),
        ...ERRORS,
      },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const q = c.req.valid('query');
      const store = c.get('store');
      const seg = getSavedSegment(config, name);
      const r = await runSegment(config, store, seg.expression, segmentLimits);
      const format = q.format ?? 'json';
      if (format === 'json') {
        const limit = q.limit ?? 1000;
        if (limit > 10_000) {
          throw new ApiError(400, 'request.invalid', 'query.limit: a JSON page holds at most 10000 ids', {
            field: 'query.limit',
          });
        }
        const page = memberPage(store, r.members, q.cursor, limit);
        return c.json(
          { ...page, ids: [...page.ids], count: r.members.size, buildId: store.info.buildId },
          200,
        );
      }
      const chunks = exportMembers(store, r.members, format, {
        ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
        ...(q.limit !== undefined ? { limit: q.limit } : {}),
      });
      // Pull the first chunk now so a bad cursor is a 409 problem, not a broken stream.
      const first = chunks.next();
      const encoder = new TextEncoder();
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          if (!first.done) controller.enqueue(encoder.encode(first.value));
        },
        pull(controller) {
          const n = chunks.next();
          if (n.done) controller.close();
          else controller.enqueue(encoder.encode(n.value));
        },
      });
      return new Response(stream, {
        status: 200,
        headers: {
          'content-type':
            format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
          'content-disposition': `attachment; filename="${name}.${format}"`,
          'x-segment-count': String(r.members.size),
          'x-build-id': String(store.info.buildId),
        },
      }) as never;
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/segments/overlap',
      tags: ['segments'],
      summary: 'Overlap between saved segments and/or expressions: counts, pairwise intersections, all, any',
      security,
      middleware: [need('segments:read'), limitBody] as const,
      request: { body: { content: { 'application/json': { schema: S.OverlapBody } }, required: true } },
      responses: {
        200: json(S.OverlapSchema, 'The overlap'),
        404: problemResponse('No such segment'),
        ...ERRORS,
      },
    }),
    async (c) => {
      const b = c.req.valid('json');
      const store = c.get('store');
      const started = performance.now();
      const inputs = [
        ...(b.segments ?? []).map((n) => ({ name: n, expression: getSavedSegment(config, n).expression })),
        ...(b.expressions ?? []),
      ];
      if (inputs.length < 2) {
        throw new ApiError(400, 'request.invalid', 'body: give at least two segments or expressions', {
          field: 'body',
        });
      }
      const named = [];
      for (const s of inputs) {
        named.push({
          name: s.name,
          members: (await runSegment(config, store, s.expression, segmentLimits)).members,
        });
      }
      const o = overlap(named);
      return c.json(
        {
          segments: [...o.segments],
          matrix: o.matrix.map((r) => [...r]),
          all: o.all,
          any: o.any,
          elapsedMs: Math.round((performance.now() - started) * 1000) / 1000,
          buildId: store.info.buildId,
        },
        200,
      );
    },
  );

  // ---- store ---------------------------------------------------------------------------------------
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/store',
      tags: ['store'],
      summary: 'What the server serves: build, entities, tags, when it was loaded',
      security,
      middleware: [need('tags:read')] as const,
      responses: { 200: json(S.StoreStatusSchema, 'The served store'), ...ERRORS },
    }),
    (c) => c.json(storeStatus(holder, c.get('store')), 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/admin/reload',
      tags: ['store'],
      summary: 'Load the latest build now (the server also watches the warehouse and reloads by itself)',
      security,
      middleware: [need('store:admin')] as const,
      request: { query: S.ReloadQuery },
      responses: { 200: json(S.ReloadSchema, 'Reloaded or already current'), ...ERRORS },
    }),
    async (c) => {
      const r = await holder.reload({ force: c.req.valid('query').force === 'true' });
      return c.json(r, 200);
    },
  );

  // ---- what the web console reads besides the above (console-routes.ts) ----------------------------
  registerConsoleRoutes(app, {
    config,
    gate,
    need,
    security,
    errors: ERRORS,
    json,
    problem: problemResponse,
  });

  // ---- recommendations and decisions (src/offers/routes.ts) ------------------------------------------
  registerActionRoutes(app, {
    service: new ActionService(config, { warehouse: (fn) => gate.run(fn) }),
    need,
    limitBody,
    security,
    errors: ERRORS,
    problem: problemResponse,
  });

  // ---- operations (no key) -------------------------------------------------------------------------
  app.get('/healthz', (c) => c.json({ ok: true, version: VERSION }));
  app.get('/readyz', (c) => {
    const s = holder.current;
    // Live tags that stopped being evaluated (the evaluation worker died) make the server not ready:
    // it still answers, but with values that no longer follow the events it acknowledges.
    const stopped = opts.realtime?.runtime?.status().evaluator.error;
    if (stopped !== undefined) {
      return c.json(
        { ready: false, reason: `live tags are not evaluated: ${stopped}`, buildId: s.info.buildId },
        503,
      );
    }
    return c.json({ ready: true, buildId: s.info.buildId, entities: s.size });
  });
  app.get('/metrics', (c) =>
    c.body(
      metrics.text(holder, () => opts.realtime?.runtime?.status()),
      200,
      { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' },
    ),
  );
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Tagverse API',
      version: VERSION,
      description:
        'Profiles, the tag catalog and segments, served from the in-memory tag store. Every /v1 route needs an API key (Authorization: Bearer ...). Errors are application/problem+json with a stable `code`.',
    },
  });
  app.get('/docs', (c) => c.html(DOCS_HTML));
  app.get('/docs/init.js', (c) =>
    c.body(DOCS_INIT, 200, { 'content-type': 'text/javascript; charset=utf-8' }),
  );
  app.get('/docs/:file', (c) => {
    const a = docsAsset(c.req.param('file'));
    if (!a) throw new ApiError(404, 'route.not_found', 'no such file');
    return c.body(a.body as Uint8Array<ArrayBuffer>, 200, {
      'content-type': a.type,
      'cache-control': 'public, max-age=86400',
    });
  });

  // GET /v1/profiles/{id} in front of the app (declared and documented above, answered the same way).
  const profileRoute = leanProfileRoute({
    holder,
    metrics,
    maxUrlLength: limits.maxUrlLength,
    admit,
    authorize,
    problem,
  });

  return { app, metrics, profileRoute };
}

export function storeStatus(holder: StoreHolder, s: TagStore): z.infer<typeof S.StoreStatusSchema> {
  return {
    project: s.info.project,
    entityName: s.info.entityName,
    entities: s.size,
    tags: s.tags.size,
    buildId: s.info.buildId,
    asOf: new Date(Math.floor(s.info.asOfMicros / 1000)).toISOString(),
    loadedFrom: s.info.loadedFrom,
    loadedAt: s.info.loadedAt,
    loadMs: s.info.loadMs,
    reloads: holder.reloads,
    ...(holder.lastError !== undefined ? { lastReloadError: holder.lastError } : {}),
  };
}
