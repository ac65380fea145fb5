/**
 * HTTP routes for acting on tags: `GET /v1/recommendations/{id}` (permission recs:read) and
 * `POST /v1/decide` (permission offers:decide: a decision uses budget and caps, so viewers may not).
 * Registered by src/api/app.ts beside the other /v1 routes; same keys, limits and problem+json.
 */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { Principal } from '../api/keys.js';
import { ApiError } from '../api/problem.js';
import type { Permission } from '../api/roles.js';
import type { TagStore } from '../online/store.js';
import { TagverseError } from '../util/problems.js';
import type { ActionService } from './service.js';

type Env = { Variables: { principal: Principal; store: TagStore } };

export interface ActionRouteContext {
  readonly service: ActionService;
  readonly need: (permission: Permission) => MiddlewareHandler<Env>;
  readonly limitBody: MiddlewareHandler;
  readonly security: { bearer: never[] }[];
  readonly errors: Record<number, unknown>;
  readonly problem: (description: string) => unknown;
}

const ID = z.string().min(1).max(256);

export const RecommendationParams = z.object({
  id: ID.openapi({ param: { name: 'id', in: 'path' }, example: 'C0000042' }),
});
export const RecommendationQuery = z.object({
  k: z.coerce.number().int().min(1).max(1000).optional().openapi({ example: 10 }),
  recommender: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,62}$/)
    .optional(),
});
export const RecommendationSchema = z
  .object({
    entityId: z.string(),
    recommender: z.string(),
    version: z.number(),
    algorithm: z.string(),
    eligible: z.boolean(),
    coldStart: z.boolean(),
    items: z.array(
      z.object({ item: z.string(), rank: z.number(), score: z.number(), reasons: z.array(z.string()) }),
    ),
  })
  .openapi('Recommendations');

const Location = z.union([
  z.strictObject({ lat: z.number().min(-90).max(90), lon: z.number().min(-180).max(180) }),
  z.strictObject({ city: z.string().min(1).max(200) }),
]);
export const DecideBody = z
  .strictObject({
    entityId: ID,
    context: z
      .object({
        time: z.string().max(64).optional().openapi({ example: '2025-11-20T12:30:00+09:00' }),
        timezone: z.string().max(64).optional(),
        channel: z.string().max(64).optional().openapi({ example: 'app' }),
        location: Location.optional(),
        weather: z.string().max(64).optional(),
      })
      .catchall(z.unknown())
      .optional(),
    limit: z.number().int().min(1).max(50).optional(),
    dryRun: z.boolean().optional(),
  })
  .openapi('DecideRequest');
export const DecisionSchema = z
  .object({
    entityId: z.string(),
    decidedAt: z.string(),
    localTime: z.string(),
    offers: z.array(
      z.object({
        id: z.string(),
        title: z.string(),
        score: z.number(),
        value: z.object({ kind: z.string(), amount: z.number().optional(), currency: z.string().optional() }),
        channels: z.array(z.string()).optional(),
        reasons: z.array(z.string()),
        place: z.object({ id: z.string(), km: z.number(), city: z.string().optional() }).optional(),
      }),
    ),
    considered: z.number(),
    eligible: z.number(),
    granted: z.boolean(),
    buildId: z.number(),
  })
  .openapi('Decision');

// biome-ignore lint/suspicious/noExplicitAny: route typing is checked where each route is declared
type AnyResponses = any;

/** Library errors of these routes as HTTP problems (not-trained and no-offers are 404s). */
function asApiError(e: unknown): unknown {
  if (e instanceof TagverseError && !(e instanceof ApiError)) {
    if (e.code === 'recs.not_trained' || e.code === 'recs.none' || e.code === 'offers.none') {
      return new ApiError(404, e.code, e.message);
    }
    if (e.code === 'recs.ambiguous')
      return new ApiError(400, e.code, e.message, { field: 'query.recommender' });
    if (e.code === 'request.invalid') return new ApiError(400, e.code, e.message, { field: 'body.context' });
  }
  return e;
}

export function registerActionRoutes(app: OpenAPIHono<Env>, ctx: ActionRouteContext): void {
  const { service, need, security, problem } = ctx;
  const errors = ctx.errors as AnyResponses;
  const json = <T extends z.ZodType>(schema: T, description: string) => ({
    description,
    content: { 'application/json': { schema } },
  });

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/recommendations/{id}',
      tags: ['recommendations'],
      summary:
        "An entity's top items from a trained recommender, after its filters (eligibility, repeats, bought)",
      security,
      middleware: [need('recs:read')] as const,
      request: { params: RecommendationParams, query: RecommendationQuery },
      responses: {
        200: json(RecommendationSchema, 'The recommendations'),
        404: problem('No such recommender, or not trained yet') as AnyResponses,
        ...errors,
      },
    }),
    (c) => {
      const { id } = c.req.valid('param');
      const q = c.req.valid('query');
      try {
        const r = service.recommender(q.recommender);
        const res = r.recommend(id, { k: q.k ?? 10, ...(r.needsStore ? { store: c.get('store') } : {}) });
        return c.json(res as z.infer<typeof RecommendationSchema>, 200);
      } catch (e) {
        throw asApiError(e);
      }
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/decide',
      tags: ['offers'],
      summary:
        'The best offers for an entity in a live context, with scores and reasons; grants them (budgets, caps)',
      security,
      middleware: [need('offers:decide'), ctx.limitBody] as const,
      request: { body: { content: { 'application/json': { schema: DecideBody } }, required: true } },
      responses: {
        200: json(DecisionSchema, 'The decision'),
        404: problem('Unknown entity, or no offers') as AnyResponses,
        ...errors,
      },
    }),
    async (c) => {
      const b = c.req.valid('json');
      try {
        const engine = await service.offers();
        const d = engine.decide(c.get('store'), b);
        return c.json(d as z.infer<typeof DecisionSchema>, 200);
      } catch (e) {
        throw asApiError(e);
      }
    },
  );
}
