/**
 * Schemas of the read-only routes the web console needs beyond profiles, the catalog and segments:
 * who the caller is, the state of the sources and builds, a tag's history and lineage, an entity's
 * events, and the profile attributes segments can use. Like schemas.ts, the same objects validate
 * requests and generate /openapi.json.
 */
import { z } from '@hono/zod-openapi';

export const MeSchema = z
  .object({
    keyId: z.string(),
    name: z.string().optional(),
    role: z.enum(['admin', 'editor', 'viewer', 'ingest']),
    permissions: z.array(z.string()),
  })
  .openapi('Me');

const instant = z.string().openapi({ description: 'ISO 8601 time (UTC)' });

export const SourceStatusSchema = z.object({
  name: z.string(),
  kind: z.enum(['events', 'profile', 'lookup']),
  description: z.string().optional(),
  /** Rows in the warehouse now. */
  rows: z.number().int(),
  /** Rows rejected over every load still recorded, and by reason. */
  rejected: z.number().int(),
  rejectsByKind: z.array(z.object({ kind: z.string(), count: z.number().int() })),
  files: z.number().int(),
  lastLoadedAt: instant.nullable(),
  /** Events sources: the oldest and newest event time (freshness of the data). */
  firstEventAt: instant.nullable().optional(),
  lastEventAt: instant.nullable().optional(),
});

export const SourcesSchema = z
  .object({
    sources: z.array(SourceStatusSchema),
    loads: z.array(
      z.object({
        loadId: z.number().int(),
        startedAt: instant,
        finishedAt: instant,
        sources: z.array(z.string()),
        filesLoaded: z.number().int(),
        rowsLoaded: z.number().int(),
        rowsRejected: z.number().int(),
      }),
    ),
  })
  .openapi('Sources');

export const BuildsQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .optional()
    .openapi({ description: 'Most builds (default 20)' }),
});

export const BuildsSchema = z
  .object({
    builds: z.array(
      z.object({
        buildId: z.number().int(),
        asOf: instant,
        startedAt: instant,
        finishedAt: instant,
        durationMs: z.number(),
        tags: z.number().int(),
        entities: z.number().int(),
      }),
    ),
  })
  .openapi('Builds');

export const TagHistorySchema = z
  .object({
    tag: z.string(),
    versions: z.array(
      z.object({
        version: z.number().int(),
        hash: z.string(),
        recordedAt: instant,
        buildId: z.number().int(),
        definition: z.record(z.string(), z.unknown()),
      }),
    ),
    coverage: z
      .array(
        z.object({
          at: instant,
          entities: z.number().int(),
          nonNull: z.number().int(),
          /** Booleans: entities where it was true. */
          true: z.number().int().optional(),
        }),
      )
      .openapi({ description: 'From tag history: entities with a value at each time history was written' }),
  })
  .openapi('TagHistory');

const LineageNode = z.object({
  name: z.string(),
  title: z.string(),
  category: z.string(),
  kind: z.string(),
  type: z.string(),
  status: z.string(),
  /** Steps from the tag: negative upstream (what it reads), positive downstream (what reads it). */
  depth: z.number().int(),
});

export const LineageSchema = z
  .object({
    tag: z.string(),
    nodes: z.array(LineageNode),
    edges: z.array(z.object({ from: z.string(), to: z.string() })).openapi({
      description: '`to` reads `from`',
    }),
  })
  .openapi('TagLineage');

export const EventsQuery = z.object({
  source: z.string().max(128).optional().openapi({ description: 'Events source (default: the first)' }),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(5000)
    .optional()
    .openapi({ description: 'Most recent events to return (default 500)' }),
});

export const EventsSchema = z
  .object({
    entityId: z.string(),
    source: z.string(),
    sources: z.array(z.string()).openapi({ description: 'Every events source of the project' }),
    timeColumn: z.string(),
    columns: z.array(z.object({ name: z.string(), type: z.string() })),
    total: z.number().int(),
    events: z.array(z.record(z.string(), z.unknown())).openapi({ description: 'Newest first' }),
  })
  .openapi('EntityEvents');

export const AttributesSchema = z
  .object({
    attributes: z.array(
      z.object({
        name: z.string().openapi({ description: 'How a segment names it (qualified when ambiguous)' }),
        source: z.string(),
        column: z.string(),
        type: z.string(),
        nonNull: z.number().int(),
        values: z
          .array(z.object({ value: z.string(), count: z.number().int() }))
          .optional()
          .openapi({ description: 'Text attributes: the most common values' }),
        min: z.union([z.number(), z.string()]).nullable().optional(),
        max: z.union([z.number(), z.string()]).nullable().optional(),
      }),
    ),
  })
  .openapi('Attributes');
