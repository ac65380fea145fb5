/**
 * The HTTP API's request and response schemas (zod). The same objects validate requests and generate
 * /openapi.json (OpenAPI 3.1), so the documentation cannot drift from what the server accepts.
 */
import { z } from '@hono/zod-openapi';

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.string().openapi({ example: 'segment.invalid' }),
    detail: z.string(),
    field: z.string().optional(),
    problems: z
      .array(
        z.object({
          start: z.number().int(),
          end: z.number().int(),
          line: z.number().int(),
          col: z.number().int(),
          message: z.string(),
        }),
      )
      .optional(),
  })
  .openapi('Problem');

const TagValue = z
  .unknown()
  .openapi({ description: 'boolean, number, text, ISO time or date, or a list of {value, score}' });

export const ProfileSchema = z
  .object({
    entityId: z.string(),
    asOf: z.string(),
    source: z.enum(['current', 'history']),
    buildId: z.number().int().optional(),
    categories: z.record(
      z.string(),
      z.array(z.object({ name: z.string(), title: z.string(), type: z.string(), value: TagValue })),
    ),
  })
  .openapi('Profile');

const entityId = z
  .string()
  .min(1)
  .max(512)
  .openapi({ param: { name: 'id', in: 'path' }, example: 'C0000042' });

export const ProfileParams = z.object({ id: entityId });
export const ProfileQuery = z.object({
  tags: z.string().max(4096).optional().openapi({
    description: 'Comma-separated tag names (default: all tags)',
    example: 'golf_lover,spend_90d',
  }),
  category: z.string().max(128).optional().openapi({ description: 'Only tags of this category' }),
  as_of: z
    .string()
    .max(64)
    .optional()
    .openapi({ description: 'Values as they were at this time, from tag history (ISO date or date-time)' }),
});

export const ExplainParams = z.object({
  id: entityId,
  tag: z
    .string()
    .min(1)
    .max(128)
    .openapi({ param: { name: 'tag', in: 'path' }, example: 'golf_lover' }),
});
export const ExplainQuery = z.object({ as_of: z.string().max(64).optional() });

export const EvidenceSchema = z
  .object({
    entityId: z.string(),
    tag: z.object({
      name: z.string(),
      title: z.string(),
      description: z.string(),
      category: z.string(),
      type: z.string(),
      kind: z.string(),
      source: z.string().optional(),
    }),
    asOf: z.string(),
    value: TagValue,
    reason: z.string(),
    aggregates: z.array(
      z.object({
        call: z.string(),
        value: z.unknown(),
        window: z.object({ text: z.string(), from: z.string().optional(), to: z.string() }),
        events: z.array(
          z.object({
            eventId: z.string(),
            ts: z.string(),
            value: z.unknown(),
            label: z.unknown().optional(),
          }),
        ),
      }),
    ),
    inputs: z.array(z.object({ name: z.string(), kind: z.enum(['tag', 'profile']), value: z.unknown() })),
    /** Model tags: each feature's contribution to the entity's margin (src/models/explain.ts). */
    model: z
      .object({
        model: z.string(),
        version: z.number().int(),
        algorithm: z.string(),
        method: z.enum(['treeshap', 'coefficient_x_standardised_value']),
        objective: z.enum(['binary', 'regression']),
        expected: z.number(),
        margin: z.number(),
        score: z.number().nullable(),
        filtered: z.boolean(),
        contributions: z.array(
          z.object({
            feature: z.string(),
            value: z.union([z.number(), z.string()]).nullable(),
            contribution: z.number(),
          }),
        ),
      })
      .optional(),
  })
  .openapi('Evidence');

const CoverageSchema = z.object({
  nonNull: z.number(),
  trueShare: z.number().optional(),
  mean: z.number().optional(),
  distinct: z.number().optional(),
  top: z.string().nullable().optional(),
});

export const TagSummarySchema = z
  .object({
    name: z.string(),
    title: z.string(),
    description: z.string(),
    category: z.string(),
    owner: z.string(),
    status: z.string(),
    type: z.string(),
    kind: z.string(),
    version: z.string(),
    coverage: CoverageSchema,
  })
  .openapi('TagSummary');

export const TagListSchema = z.object({ tags: z.array(TagSummarySchema) }).openapi('TagList');
export const TagListQuery = z.object({
  category: z.string().max(128).optional(),
  status: z.enum(['draft', 'approved', 'deprecated']).optional(),
});
export const TagParams = z.object({
  name: z
    .string()
    .min(1)
    .max(128)
    .openapi({ param: { name: 'name', in: 'path' }, example: 'spend_90d' }),
});

const Bound = z.union([z.number(), z.string()]);
export const TagDetailSchema = TagSummarySchema.extend({
  dependsOn: z.array(z.string()),
  definition: z.record(z.string(), z.unknown()),
  buildId: z.number().int(),
  entities: z.number().int(),
  distribution: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('boolean'), true: z.number(), false: z.number(), null: z.number() }),
    z.object({
      kind: z.literal('histogram'),
      min: Bound.nullable(),
      max: Bound.nullable(),
      bins: z.array(z.object({ from: Bound, to: Bound, count: z.number() })),
      null: z.number(),
    }),
    z.object({
      kind: z.literal('top_values'),
      values: z.array(z.object({ value: z.string(), count: z.number() })),
      distinct: z.number(),
      null: z.number(),
    }),
  ]),
}).openapi('TagDetail');

const expression = z.string().openapi({
  example: "golf_lover and spend_90d > 1000 and region in ('Seoul', 'Busan') and not dormant_60d",
});

export const PreviewBody = z
  .object({
    expression,
    sample: z
      .number()
      .int()
      .min(0)
      .max(1000)
      .optional()
      .openapi({ description: 'Ids to return (default 10)' }),
  })
  .openapi('SegmentPreviewRequest');

export const PreviewSchema = z
  .object({
    expression: z.string(),
    count: z.number().int(),
    total: z.number().int(),
    share: z.number(),
    sample: z.array(z.string()),
    elapsedMs: z.number(),
    buildId: z.number().int(),
  })
  .openapi('SegmentPreview');

const segmentName = z
  .string()
  .regex(
    /^[a-z][a-z0-9_]{0,62}$/,
    "a segment name is lower_snake_case: a letter, then letters, digits or '_' (max 63)",
  )
  .openapi({ example: 'vip_golfers' });

export const SaveSegmentBody = z
  .object({
    name: segmentName,
    expression,
    description: z.string().max(4000).optional(),
    owner: z.string().max(200).optional(),
  })
  .openapi('SaveSegmentRequest');

export const SavedSegmentSchema = z
  .object({
    name: z.string(),
    expression: z.string(),
    description: z.string().optional(),
    owner: z.string().optional(),
    createdAt: z.string().optional(),
    updatedAt: z.string().optional(),
    file: z.string(),
  })
  .openapi('SavedSegment');

export const SegmentWithCountSchema = SavedSegmentSchema.extend({
  count: z.number().int(),
  elapsedMs: z.number(),
  buildId: z.number().int(),
}).openapi('SegmentWithCount');

export const SegmentListSchema = z
  .object({ segments: z.array(SavedSegmentSchema), problems: z.array(z.string()) })
  .openapi('SegmentList');

export const SegmentParams = z.object({
  name: segmentName.openapi({ param: { name: 'name', in: 'path' } }),
});

export const MembersQuery = z.object({
  format: z
    .enum(['json', 'csv', 'jsonl'])
    .optional()
    .openapi({ description: 'json (default): one page; csv, jsonl: streamed' }),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(10_000_000)
    .optional()
    .openapi({ description: 'Page size (json: default 1000, at most 10000); csv/jsonl: default all' }),
  cursor: z.string().max(2048).optional().openapi({ description: 'From the `next` of the previous page' }),
});

export const MemberPageSchema = z
  .object({
    ids: z.array(z.string()),
    next: z.string().optional(),
    count: z.number().int(),
    buildId: z.number().int(),
  })
  .openapi('MemberPage');

export const OverlapBody = z
  .object({
    segments: z.array(segmentName).max(20).optional().openapi({ description: 'Saved segments by name' }),
    expressions: z
      .array(z.object({ name: z.string().min(1).max(200), expression }))
      .max(20)
      .optional()
      .openapi({ description: 'Ad hoc expressions, each with a label' }),
  })
  .openapi('OverlapRequest');

export const OverlapSchema = z
  .object({
    segments: z.array(z.object({ name: z.string(), count: z.number().int() })),
    matrix: z.array(z.array(z.number().int())),
    all: z.number().int(),
    any: z.number().int(),
    elapsedMs: z.number(),
    buildId: z.number().int(),
  })
  .openapi('Overlap');

export const StoreStatusSchema = z
  .object({
    project: z.string(),
    entityName: z.string(),
    entities: z.number().int(),
    tags: z.number().int(),
    buildId: z.number().int(),
    asOf: z.string(),
    loadedFrom: z.enum(['warehouse', 'snapshot']),
    loadedAt: z.string(),
    loadMs: z.number(),
    reloads: z.number().int(),
    lastReloadError: z.string().optional(),
  })
  .openapi('StoreStatus');

export const ReloadSchema = z
  .object({ reloaded: z.boolean(), buildId: z.number().int(), entities: z.number().int(), ms: z.number() })
  .openapi('ReloadResult');

export const ReloadQuery = z.object({
  force: z
    .enum(['true', 'false'])
    .optional()
    .openapi({ description: 'Reload even when the build did not change' }),
});
