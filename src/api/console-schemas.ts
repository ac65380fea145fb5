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

// ---- models (src/models: `tagverse train` writes each model's file and card) ---------------------

const finite = z.number().nullable().openapi({ description: 'null when undefined (e.g. AUC of one class)' });

export const ModelSummarySchema = z.object({
  name: z.string(),
  title: z.string(),
  description: z.string(),
  algorithm: z.string(),
  /** The definition file, relative to the project. */
  file: z.string(),
  state: z.enum(['untrained', 'trained', 'stale']).openapi({
    description: 'stale: the definition changed since the model was trained',
  }),
  version: z.number().int().optional(),
  trainedAt: instant.optional(),
  objective: z.enum(['binary', 'regression']).optional(),
  auc: finite.optional(),
  prAuc: finite.optional(),
  rmse: finite.optional(),
  rows: z.number().int().optional(),
  features: z.number().int().optional(),
  /** The tags the model publishes (`<name>_score`, `<name>_decile`). */
  tags: z.array(z.string()),
});

export const ModelsSchema = z
  .object({
    models: z.array(ModelSummarySchema),
    /** Model definitions that could not be read, as `file:line:col: message`. */
    problems: z.array(z.string()),
  })
  .openapi('Models');

const GainsRowSchema = z.object({
  decile: z.number().int(),
  count: z.number().int(),
  minScore: finite,
  rate: finite,
  cumulativeGain: finite,
  lift: finite,
  cumulativeLift: finite,
});

const CalibrationBinSchema = z.object({
  bin: z.number().int(),
  count: z.number().int(),
  meanPredicted: finite,
  observedRate: finite,
});

export const ModelCardSchema = z
  .object({
    name: z.string(),
    version: z.number().int(),
    trainedAt: instant,
    algorithm: z.string(),
    objective: z.enum(['binary', 'regression']),
    mode: z.enum(['point_in_time', 'static']),
    label: z.object({
      text: z.string(),
      from: z.string().optional(),
      where: z.string().optional(),
      horizon: z.string().optional(),
    }),
    filter: z.string().nullable(),
    cutoffs: z.array(z.string()),
    rows: z.object({
      total: z.number().int(),
      train: z.number().int(),
      validation: z.number().int(),
      byCutoff: z.array(z.object({ cutoff: z.string(), rows: z.number().int(), labelMean: finite })),
      unlabelled: z.number().int(),
    }),
    validation: z.object({
      method: z.enum(['last_cutoff', 'holdout']),
      cutoff: z.string().optional(),
      holdout: z.number().optional(),
    }),
    /** On the validation rows. Binary: auc, prAuc, logLoss, brier, baseRate; regression: rmse, mae, r2. */
    metrics: z.object({
      kind: z.enum(['binary', 'regression']),
      rows: z.number().int(),
      positives: z.number().int().optional(),
      baseRate: finite.optional(),
      auc: finite.optional(),
      prAuc: finite.optional(),
      logLoss: finite.optional(),
      brier: finite.optional(),
      mean: finite.optional(),
      rmse: finite.optional(),
      mae: finite.optional(),
      r2: finite.optional(),
      bestF1: z
        .object({ threshold: finite, precision: finite, recall: finite, f1: finite })
        .partial()
        .optional(),
      calibration: z.array(CalibrationBinSchema).optional(),
      gains: z.array(GainsRowSchema),
    }),
    /** With baselines (binary models): the model and each baseline tag on the validation rows. */
    comparison: z
      .array(
        z.object({
          name: z.string(),
          auc: finite,
          prAuc: finite,
          threshold: finite,
          f1: finite,
          precision: finite,
          recall: finite,
        }),
      )
      .optional(),
    topFeatures: z.array(z.object({ name: z.string(), importance: finite, share: finite })),
    features: z.array(z.string()),
    warnings: z.array(z.string()),
  })
  .openapi('ModelCard');

export const ModelDetailSchema = z
  .object({
    model: ModelSummarySchema.extend({
      category: z.string().optional(),
      owner: z.string().optional(),
      status: z.string().optional(),
    }),
    /** null until the model is trained. */
    card: ModelCardSchema.nullable(),
    /**
     * Binary models: the ROC curve at the decile cut-offs of the validation gains table (the card
     * keeps deciles, not every validation score): false and true positive rates of "score in the top
     * d deciles", from (0, 0) to (1, 1).
     */
    roc: z.array(z.object({ fpr: z.number(), tpr: z.number() })),
  })
  .openapi('ModelDetail');

export const ModelParams = z.object({
  name: z
    .string()
    .max(128)
    .openapi({ param: { name: 'name', in: 'path' }, example: 'churn_60d' }),
});

export const ActionsSchema = z
  .object({
    recommenders: z.array(
      z.object({
        name: z.string(),
        /** Whether its model file exists (`tagverse recs train`): only then does it recommend. */
        trained: z.boolean(),
      }),
    ),
    /** Offers defined in offers/*.yaml (POST /v1/decide ranks them). */
    offers: z.number().int(),
  })
  .openapi('Actions');
