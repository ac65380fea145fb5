/**
 * Read-only routes the web console needs beyond profiles, the catalog and segments (see
 * docs/console.md): who the caller is (`/v1/me`, so the UI can hide what the role cannot do), the
 * sources and builds (overview), a tag's versions, coverage over time and lineage (tag page), an
 * entity's events (customer 360) and the profile attributes segments can name (segment builder).
 * Same conventions as every /v1 route: a key, one permission, problem+json errors, documented in
 * /openapi.json. Warehouse reads go through the gate like explanations.
 */
import { existsSync } from 'node:fs';
import { createRoute, type OpenAPIHono, type z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { ProjectConfig } from '../config/project.js';
import { loadOfferDefinitions } from '../offers/definition.js';
import { distribution } from '../online/catalog.js';
import type { TagStore } from '../online/store.js';
import { loadRecsDefinitions } from '../recs/definition.js';
import { recsPath } from '../recs/model-file.js';
import { registerModelRoutes } from './console-models.js';
import * as S from './console-schemas.js';
import type { Principal } from './keys.js';
import { ApiError } from './problem.js';
import { type Permission, ROLE_PERMISSIONS } from './roles.js';
import { ProfileParams, TagParams } from './schemas.js';
import type { WarehouseGate } from './warehouse-gate.js';
import { entityEvents, recentBuilds, sourcesStatus, tagHistory, WarehouseMemo } from './warehouse-reads.js';

export type ConsoleEnv = { Variables: { principal: Principal; store: TagStore } };
type Env = ConsoleEnv;

export interface ConsoleRouteContext {
  readonly config: ProjectConfig;
  readonly gate: WarehouseGate;
  readonly need: (permission: Permission) => MiddlewareHandler<Env>;
  readonly security: { bearer: never[] }[];
  /** The error responses every /v1 route documents (400, 401, 403, ...). */
  readonly errors: Record<number, unknown>;
  readonly json: <T extends z.ZodType>(
    schema: T,
    description: string,
  ) => { description: string; content: { 'application/json': { schema: T } } };
  readonly problem: (description: string) => unknown;
}

// biome-ignore lint/suspicious/noExplicitAny: route typing is checked where each route is declared
type AnyResponses = any;

export function registerConsoleRoutes(app: OpenAPIHono<Env>, ctx: ConsoleRouteContext): void {
  const { config, gate, need, security, json, problem } = ctx;
  const errors = ctx.errors as AnyResponses;
  const memo = new WarehouseMemo(config.engine.path);

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/me',
      tags: ['keys'],
      summary: 'The calling key: its id, role and permissions (any valid key may ask)',
      security,
      responses: { 200: json(S.MeSchema, 'The key'), ...errors },
    }),
    (c) => {
      const p = c.get('principal');
      return c.json(
        {
          keyId: p.keyId,
          ...(p.name !== undefined ? { name: p.name } : {}),
          role: p.role,
          permissions: [...ROLE_PERMISSIONS[p.role]],
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/sources',
      tags: ['store'],
      summary: 'Each source: rows, rejected rows by reason, files, last load, event time range; recent loads',
      security,
      middleware: [need('tags:read')] as const,
      responses: { 200: json(S.SourcesSchema, 'Sources and loads'), ...errors },
    }),
    async (c) => c.json(await memo.get('sources', () => gate.run(() => sourcesStatus(config))), 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/builds',
      tags: ['store'],
      summary: 'The latest tag builds, newest first',
      security,
      middleware: [need('tags:read')] as const,
      request: { query: S.BuildsQuery },
      responses: { 200: json(S.BuildsSchema, 'Builds'), ...errors },
    }),
    async (c) => {
      const { limit } = c.req.valid('query');
      const n = limit ?? 20;
      return c.json(await memo.get(`builds:${n}`, () => gate.run(() => recentBuilds(config, n))), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/tags/{name}/history',
      tags: ['catalog'],
      summary: "A tag's recorded versions and its coverage at every time its history was written",
      security,
      middleware: [need('tags:read')] as const,
      request: { params: TagParams },
      responses: {
        200: json(S.TagHistorySchema, 'Versions and coverage over time'),
        404: problem('Unknown tag'),
        ...errors,
      },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const meta = c.get('store').meta.get(name);
      if (!meta) throw new ApiError(404, 'tags.not_found', `unknown tag '${name}'`, { field: 'name' });
      return c.json(
        await memo.get(`history:${name}`, () => gate.run(() => tagHistory(config, name, meta.type))),
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/tags/{name}/lineage',
      tags: ['catalog'],
      summary: 'What a tag reads and what reads it, transitively: nodes and edges',
      security,
      middleware: [need('tags:read')] as const,
      request: { params: TagParams },
      responses: {
        200: json(S.LineageSchema, 'The dependency graph around the tag'),
        404: problem('Unknown tag'),
        ...errors,
      },
    }),
    (c) => {
      const { name } = c.req.valid('param');
      const store = c.get('store');
      if (!store.meta.has(name))
        throw new ApiError(404, 'tags.not_found', `unknown tag '${name}'`, { field: 'name' });
      return c.json(lineage(store, name), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/profiles/{id}/events',
      tags: ['profiles'],
      summary: "An entity's most recent events from one events source (every column of the source)",
      security,
      middleware: [need('profiles:read')] as const,
      request: { params: ProfileParams, query: S.EventsQuery },
      responses: {
        200: json(S.EventsSchema, 'Events, newest first'),
        404: problem('Unknown events source'),
        ...errors,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const q = c.req.valid('query');
      const r = await gate.run(() =>
        entityEvents(config, id, {
          ...(q.source !== undefined ? { source: q.source } : {}),
          ...(q.limit !== undefined ? { limit: q.limit } : {}),
        }),
      );
      return c.json(r as z.infer<typeof S.EventsSchema>, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/attributes',
      tags: ['catalog'],
      summary: 'Profile attributes segments can name, with their types and most common values',
      security,
      middleware: [need('tags:read')] as const,
      responses: { 200: json(S.AttributesSchema, 'Profile attributes'), ...errors },
    }),
    (c) => c.json({ attributes: attributes(c.get('store')) }, 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/actions',
      tags: ['catalog'],
      summary: 'The recommenders (trained or not) and the number of offers the project defines',
      security,
      middleware: [need('tags:read')] as const,
      responses: { 200: json(S.ActionsSchema, 'Recommenders and offers'), ...errors },
    }),
    (c) => c.json(actions(config), 200),
  );

  registerModelRoutes(app, ctx);
}

/**
 * What the project can act with, from its files: so the console asks for recommendations and offers
 * only when there are some (a request bound to fail would still show as an error in the browser).
 */
export function actions(config: ProjectConfig): z.infer<typeof S.ActionsSchema> {
  return {
    recommenders: loadRecsDefinitions(config.dir).recs.map((r) => ({
      name: r.input.name,
      trained: existsSync(recsPath(config, r.input.name)),
    })),
    offers: loadOfferDefinitions(config.dir, config.timezone).offers.length,
  };
}

/** The tags `name` reads (depth < 0) and the tags that read it (depth > 0), with every edge among them. */
export function lineage(store: TagStore, name: string): z.infer<typeof S.LineageSchema> {
  const readers = new Map<string, string[]>();
  for (const m of store.meta.values())
    for (const d of m.dependsOn) readers.set(d, [...(readers.get(d) ?? []), m.name]);
  const depth = new Map<string, number>([[name, 0]]);
  const walk = (start: string, next: (n: string) => readonly string[], sign: number) => {
    let frontier = [start];
    for (let step = 1; frontier.length > 0; step++) {
      const following: string[] = [];
      for (const n of frontier)
        for (const m of next(n))
          if (!depth.has(m) && store.meta.has(m)) {
            depth.set(m, sign * step);
            following.push(m);
          }
      frontier = following;
    }
  };
  walk(name, (n) => store.meta.get(n)?.dependsOn ?? [], -1);
  walk(name, (n) => readers.get(n) ?? [], 1);
  const nodes = [...depth].map(([n, d]) => {
    const m = store.meta.get(n)!;
    return {
      name: n,
      title: m.title,
      category: m.category,
      kind: m.kind,
      type: m.type,
      status: m.status,
      depth: d,
    };
  });
  const edges: { from: string; to: string }[] = [];
  for (const n of depth.keys())
    for (const d of store.meta.get(n)!.dependsOn) if (depth.has(d)) edges.push({ from: d, to: n });
  return { tag: name, nodes, edges };
}

/** Profile attributes by the name a segment uses (the column, qualified when two sources share it). */
export function attributes(store: TagStore): z.infer<typeof S.AttributesSchema>['attributes'] {
  const entries = [...store.profiles].map(([key, col]) => {
    const dot = key.indexOf('.');
    return { key, source: key.slice(0, dot), column: key.slice(dot + 1), col };
  });
  const uses = new Map<string, number>();
  for (const e of entries) uses.set(e.column, (uses.get(e.column) ?? 0) + 1);
  return entries.map((e) => {
    const d = distribution(store, e.col, 1, 20);
    const nulls = d.null;
    return {
      name: (uses.get(e.column) ?? 0) > 1 || store.meta.has(e.column) ? e.key : e.column,
      source: e.source,
      column: e.column,
      type: e.col.valueType,
      nonNull: store.size - nulls,
      ...(d.kind === 'top_values' ? { values: [...d.values] } : {}),
      ...(d.kind === 'histogram' ? { min: d.min, max: d.max } : {}),
    };
  });
}
