/**
 * The shape of `tagverse.yaml`, as zod schemas. This is the single source of truth:
 * validation, TypeScript types and the published JSON Schema (schema/tagverse.schema.json) all come from here.
 */
import { z } from 'zod';

/** Names that become table or column names inside the warehouse: lower snake case. */
export const IDENTIFIER = /^[a-z][a-z0-9_]{0,62}$/;
const identifier = (what: string) =>
  z
    .string()
    .regex(IDENTIFIER, `${what} must be lower_snake_case: a letter, then letters, digits or '_' (max 63)`);

/**
 * Column types, engine-neutral. Each dialect maps them to its own types.
 * `timestamp` is an instant (stored in UTC); naive values are read in the source's time zone.
 */
export const COLUMN_TYPES = ['string', 'integer', 'double', 'boolean', 'date', 'timestamp'] as const;
const DECIMAL = /^decimal\((\d{1,2}),\s*(\d{1,2})\)$/;
export const ColumnTypeSchema = z
  .string()
  .refine((t) => (COLUMN_TYPES as readonly string[]).includes(t) || DECIMAL.test(t), {
    message: `type must be one of ${COLUMN_TYPES.join(', ')} or decimal(p,s)`,
  })
  // Editors autocomplete from the JSON Schema: list the choices there.
  .meta({ anyOf: [{ enum: [...COLUMN_TYPES] }, { pattern: DECIMAL.source }] })
  .describe('Column type: string, integer, double, boolean, date, timestamp or decimal(p,s).');
export type ColumnType = (typeof COLUMN_TYPES)[number] | `decimal(${number},${number})`;

export const FILE_FORMATS = ['csv', 'tsv', 'parquet', 'jsonl'] as const;
export type FileFormat = (typeof FILE_FORMATS)[number];

const ColumnSchema = z
  .strictObject({
    type: ColumnTypeSchema.optional(),
    from: z
      .string()
      .min(1)
      .optional()
      .describe('Name of the column in the file, when it differs from the name used in Tagverse.'),
    description: z.string().optional(),
  })
  .describe('A column: its type, the file column it is read from, a description.');

const CsvOptionsSchema = z
  .strictObject({
    delimiter: z.string().min(1).max(4).optional().describe("Field separator (default ',' or tab for TSV)."),
    header: z.boolean().optional().describe('Whether the first line names the columns (default true).'),
    quote: z.string().max(1).optional().describe("Quote character (default '\"')."),
    escape: z.string().max(1).optional().describe('Escape character inside quotes (default: the quote).'),
    null_values: z
      .union([z.string(), z.array(z.string())])
      .optional()
      .describe("Text(s) that stand for a missing value (default: the empty string), e.g. ['', ' ', 'NA']."),
    skip: z.number().int().min(0).optional().describe('Lines to skip before the header.'),
  })
  .describe('How CSV/TSV files are read; sensible defaults are detected.');

const FilesSchema = z
  .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
  .describe(
    'File paths or globs relative to the project folder (CSV, CSV.gz, TSV, Parquet, JSONL/NDJSON; .gz allowed).',
  );

const commonSourceFields = {
  description: z.string().optional(),
  files: FilesSchema,
  format: z
    .enum(FILE_FORMATS)
    .optional()
    .describe('File format; by default inferred from the extension (.csv, .tsv, .parquet, .jsonl, .ndjson).'),
  csv: CsvOptionsSchema.optional(),
  columns: z
    .record(identifier('A column name'), ColumnSchema)
    .optional()
    .describe('Columns to type or rename; other columns in the files are kept with detected types.'),
  exclude_columns: z
    .array(z.string().min(1))
    .optional()
    .describe('File columns to leave out (e.g. leaked or irrelevant columns).'),
  keep_unlisted_columns: z
    .boolean()
    .optional()
    .describe('Keep file columns not listed under `columns` (default true).'),
};

const TimestampSchema = z
  .strictObject({
    column: z.string().min(1).describe('The column holding the event time.'),
    format: z
      .string()
      .optional()
      .describe("strptime format, e.g. '%d/%m/%Y %H:%M'. Default: ISO 8601 (with or without offset)."),
    timezone: z
      .string()
      .optional()
      .describe('IANA time zone for values without an offset (default: the project timezone).'),
  })
  .describe('Which column holds the event time and how to read it.');

const LookupJoinSchema = z
  .strictObject({
    source: identifier('A lookup source name').describe('A source of kind `lookup`.'),
    on: z.string().min(1).describe("The column of this source matched against the lookup's key."),
    columns: z
      .array(z.string().min(1))
      .optional()
      .describe('Lookup columns to bring in (default: all but the key).'),
    prefix: z.string().optional().describe('Prefix for the joined column names (default none).'),
  })
  .describe('Enrich this source with columns of a lookup source.');

const EventsSourceSchema = z
  .strictObject({
    kind: z.literal('events'),
    ...commonSourceFields,
    entity_key: z.string().min(1).describe('Column holding the entity id.'),
    timestamp: z
      .union([z.string().min(1), TimestampSchema])
      .describe('The event time column (or its options).'),
    event_id: z
      .string()
      .min(1)
      .optional()
      .describe('Column holding a unique event id (used for evidence and dedupe).'),
    lookups: z.array(LookupJoinSchema).optional(),
  })
  .describe('Timestamped facts about entities (transactions, clicks, calls).');

const ProfileSourceSchema = z
  .strictObject({
    kind: z.literal('profile'),
    ...commonSourceFields,
    entity_key: z.string().min(1).describe('Column holding the entity id; one row per entity.'),
    lookups: z.array(LookupJoinSchema).optional(),
  })
  .describe('One row per entity: attributes such as age, region, plan.');

const LookupSourceSchema = z
  .strictObject({
    kind: z.literal('lookup'),
    ...commonSourceFields,
    key: z.string().min(1).describe('Column that events join on; one row per key.'),
  })
  .describe('A table that enriches events (MCC code -> category, product -> department).');

export const SourceSchema = z.discriminatedUnion('kind', [
  EventsSourceSchema,
  ProfileSourceSchema,
  LookupSourceSchema,
]);

const CategorySchema = z.strictObject({
  name: identifier('A category name'),
  description: z.string().optional(),
  owner: z.string().optional(),
});

export const DEFAULT_CATEGORIES = [
  { name: 'behavior', description: 'What the entity does: frequencies, amounts, habits.' },
  { name: 'preference', description: 'What the entity likes: categories, brands, cuisines, channels.' },
  { name: 'condition', description: 'What is true of the entity now: life stage, life events, status.' },
] as const;

/** Roles of API keys: what a key may do on the HTTP API (docs/api.md has the full table). */
export const API_ROLES = ['admin', 'editor', 'viewer', 'ingest'] as const;
export type ApiRole = (typeof API_ROLES)[number];

const ApiKeySchema = z
  .strictObject({
    id: z
      .string()
      .regex(/^[a-z0-9]{6,32}$/, 'a key id is 6 to 32 lowercase letters or digits')
      .describe('Public id of the key (the part after tvk_ in the key).'),
    role: z.enum(API_ROLES).describe('What the key may do: admin, editor, viewer or ingest.'),
    hash: z
      .string()
      .regex(
        /^sha256\$[A-Za-z0-9_-]{16,}\$[0-9a-f]{64}$/,
        'a key hash looks like sha256$<salt>$<64 hex digits>',
      )
      .describe(
        'Salted SHA-256 of the key, written by `tagverse keys create`; the key itself is never stored.',
      ),
    name: z.string().optional().describe('Who or what uses the key.'),
    created_at: z.string().optional(),
  })
  .describe('An API key, stored hashed.');

const ApiSchema = z
  .strictObject({
    keys: z.array(ApiKeySchema).optional().describe('API keys (also read from TAGVERSE_API_KEYS).'),
    limits: z
      .strictObject({
        max_body_bytes: z
          .number()
          .int()
          .min(1024)
          .optional()
          .describe('Largest request body (default 1 MiB).'),
        max_url_length: z.number().int().min(256).optional().describe('Longest request URL (default 8192).'),
        max_expression_length: z
          .number()
          .int()
          .min(16)
          .optional()
          .describe('Longest segment expression, in characters (default 10000).'),
        max_expression_depth: z
          .number()
          .int()
          .min(1)
          .optional()
          .describe('Deepest parenthesis nesting of a segment expression (default 64).'),
        query_timeout_ms: z
          .number()
          .int()
          .min(10)
          .optional()
          .describe('Time allowed to one segment evaluation or warehouse query (default 5000).'),
        requests_per_second: z
          .number()
          .positive()
          .optional()
          .describe('Sustained requests per second per API key (default 100).'),
        burst: z
          .number()
          .int()
          .min(1)
          .optional()
          .describe('Requests a key may make at once above the rate (default 200).'),
      })
      .optional(),
    warm_period_ms: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe(
        'Read every page of the served store once per this period, in small steps, so that a machine that takes idle memory back does not stall lookups on it (default 5000; 0 turns it off).',
      ),
  })
  .describe('The HTTP API (tagverse serve): keys, roles and limits.');

/** A duration in the tag language's units: `500s`, `30m`, `24h`, `7d`, `2w`. */
const DurationSchema = z
  .string()
  .regex(/^\d+(\.\d+)?[smhdw]$/, "a duration is a number and a unit: s, m, h, d or w (e.g. '24h')");

/** A path into a Segment message: `properties.amount`, `context.location.city`, `messageId`. */
const MessagePathSchema = z
  .string()
  .regex(/^[A-Za-z_$][\w$-]*(\.[\w$-]+)*$/, 'a message path is dotted names, e.g. properties.amount')
  .describe('A dotted path into the Segment message, e.g. properties.amount or context.location.city.');

const SegmentEventRuleSchema = z
  .strictObject({
    events: z
      .union([z.literal('*'), z.array(z.string().min(1)).min(1)])
      .optional()
      .describe("Event names (track) or page/screen names this rule takes; '*' (default) takes every one."),
    source: identifier('A source name').describe('The events source the rows go to.'),
    columns: z
      .record(z.string().min(1), MessagePathSchema)
      .optional()
      .describe(
        'Column -> message path. Unlisted columns read properties.<column>; the entity key, timestamp and event id are filled in.',
      ),
  })
  .describe('Which Segment calls become rows of an events source, and how their fields become columns.');

const SegmentProfileRuleSchema = z
  .strictObject({
    source: identifier('A source name').describe('The profile source identify traits update.'),
    columns: z
      .record(z.string().min(1), MessagePathSchema)
      .optional()
      .describe(
        'Column -> message path. Unlisted columns read traits.<column>; the entity key is filled in.',
      ),
  })
  .describe('How identify calls update a profile source.');

const SegmentMappingSchema = z
  .strictObject({
    track: z.array(SegmentEventRuleSchema).optional(),
    page: z.array(SegmentEventRuleSchema).optional(),
    screen: z.array(SegmentEventRuleSchema).optional(),
    group: z.array(SegmentEventRuleSchema).optional(),
    identify: SegmentProfileRuleSchema.optional(),
    anonymous: z
      .enum(['entity', 'ignore'])
      .optional()
      .describe(
        "Calls with only an anonymousId (no userId, no alias): 'entity' (default) uses the anonymousId as the entity id, 'ignore' drops them.",
      ),
  })
  .describe('The Segment tracking API (/v1/track, /v1/identify, ...): which calls feed which sources.');

const NatsSchema = z
  .strictObject({
    url: z.string().min(1).describe('NATS server URL, e.g. nats://127.0.0.1:4222.'),
    stream: z.string().min(1).describe('JetStream stream name (created when missing).'),
    subjects: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe('Subjects of the stream (default [<stream lower case>.events]).'),
    durable: z.string().min(1).optional().describe('Durable consumer name (default tagverse).'),
    batch: z.number().int().min(1).max(10_000).optional().describe('Messages fetched at once (default 500).'),
    ack_wait: DurationSchema.optional().describe(
      'How long a delivered message may stay unacknowledged before it is delivered again (default 30s; used when the consumer is created).',
    ),
  })
  .describe(
    'Consume Segment-shaped events from a NATS JetStream stream (a durable pull consumer, at least once, deduplicated by messageId).',
  );

const RealtimeSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .optional()
      .describe(
        'Serve ingestion routes and update tags as events arrive (default true when this section is present).',
      ),
    log_dir: z
      .string()
      .optional()
      .describe('Write-ahead log folder, relative to the project (default .tagverse/wal).'),
    segment_bytes: z
      .number()
      .int()
      .min(1024)
      .optional()
      .describe('Size at which the write-ahead log starts a new file (default 64 MiB).'),
    flush_interval_ms: z
      .number()
      .int()
      .min(10)
      .optional()
      .describe('The longest logged events wait before they are written into the warehouse (default 10000).'),
    flush_rows: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe('Write into the warehouse sooner, once this many logged messages wait (default 50000).'),
    commit_interval_ms: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe('How often new events are evaluated into the served tags (default 20).'),
    dedupe_window: DurationSchema.optional().describe(
      'How long a messageId is remembered to drop duplicates (default 24h).',
    ),
    dedupe_max_ids: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe(
        'The most messageIds remembered (about 100 bytes each; default 5000000): past it the oldest are forgotten before the window ends, so a sustained high rate shortens the window instead of exhausting memory.',
      ),
    refresh_interval: DurationSchema.optional().describe(
      'Every entity is re-evaluated at least this often, so windows move with time (default 1h).',
    ),
    evaluator: z
      .enum(['worker', 'inline'])
      .optional()
      .describe(
        "Where live tags are evaluated: 'worker' (default; a worker thread, so evaluation and requests use two cores and a profile read never waits behind an evaluation) or 'inline' (the server's event loop; for a single core).",
      ),
    clock: z
      .enum(['event', 'wall'])
      .optional()
      .describe(
        "The as-of time of real-time values: 'event' (the newest event time seen, like settings.as_of latest_event) or 'wall' (now). Default: wall when settings.as_of is 'now', else event.",
      ),
    max_event_bytes: z.number().int().min(256).optional().describe('Largest event (default 32 KiB).'),
    max_batch_bytes: z.number().int().min(1024).optional().describe('Largest batch body (default 500 KiB).'),
    segment: SegmentMappingSchema.optional(),
    nats: NatsSchema.optional(),
  })
  .describe('Real time: Segment-compatible ingestion, the write-ahead log, live tags (tagverse serve).');

const TriggersSettingsSchema = z
  .strictObject({
    dir: z
      .string()
      .optional()
      .describe('Folder of trigger files, relative to the project (default triggers).'),
    log_dir: z
      .string()
      .optional()
      .describe('Folder of the delivery outbox and the dead-letter log (default .tagverse/triggers).'),
  })
  .describe('Triggers (triggers/*.yaml): where they are and where deliveries are logged.');

export const ProjectConfigSchema = z
  .strictObject({
    $schema: z.string().optional(),
    version: z.literal(1).optional().describe('Config format version (1).'),
    name: identifier('The project name').describe('Project name (lower_snake_case).'),
    description: z.string().optional(),
    timezone: z
      .string()
      .optional()
      .describe(
        'IANA time zone used for calendar functions (hour, weekday, month) and naive timestamps. Default UTC.',
      ),
    entity: z
      .strictObject({
        name: identifier('The entity name').describe(
          'What an entity is called (customer, household, account).',
        ),
        id_type: z.enum(['string', 'integer']).optional().describe('Type of entity ids (default string).'),
      })
      .describe('The subject of personalization.'),
    engine: z
      .strictObject({
        kind: z
          .enum(['duckdb', 'clickhouse'])
          .optional()
          .describe(
            'Warehouse engine: duckdb (embedded, default) or clickhouse (a sharded cluster; see docs/clickhouse.md).',
          ),
        path: z
          .string()
          .optional()
          .describe('Warehouse file, relative to the project (default .tagverse/warehouse.duckdb).'),
        threads: z.number().int().min(1).optional().describe('Worker threads (default: all cores).'),
        memory_limit: z.string().optional().describe("Memory limit, e.g. '4GB' (default: engine default)."),
        clickhouse: z
          .strictObject({
            nodes: z
              .array(z.url())
              .min(1)
              .describe(
                'HTTP endpoint of one node per shard, e.g. http://ch1:8123/ (the shard key is the entity id).',
              ),
            cluster: z
              .string()
              .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
              .optional()
              .describe("Cluster name in the servers' remote_servers (default tagverse)."),
            database: z
              .string()
              .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
              .optional()
              .describe('Database holding the tables (default tagverse).'),
            user_env: z
              .string()
              .optional()
              .describe(
                'Environment variable with the user name (default CLICKHOUSE_USER; unset = default).',
              ),
            password_env: z
              .string()
              .optional()
              .describe('Environment variable with the password (default CLICKHOUSE_PASSWORD).'),
          })
          .optional()
          .describe('The ClickHouse cluster, when kind is clickhouse.'),
      })
      .refine((e) => e.kind !== 'clickhouse' || e.clickhouse !== undefined, {
        message: "engine kind 'clickhouse' needs 'clickhouse: { nodes: [...] }'",
        path: ['clickhouse'],
      })
      .optional(),
    settings: z
      .strictObject({
        max_reject_ratio: z
          .number()
          .min(0)
          .max(1)
          .optional()
          .describe('Largest share of rejected rows an ingest accepts before rolling back (default 0.01).'),
        as_of: z
          .string()
          .optional()
          .describe(
            "Default as-of time of builds: 'latest_event' (default: the newest event time in the data), 'now', or an ISO date/time.",
          ),
      })
      .optional(),
    categories: z
      .array(CategorySchema)
      .optional()
      .describe('Tag taxonomy. Default: behavior, preference, condition.'),
    api: ApiSchema.optional(),
    realtime: RealtimeSchema.optional(),
    triggers: TriggersSettingsSchema.optional(),
    sources: z
      .record(identifier('A source name'), SourceSchema)
      .refine((s) => Object.keys(s).length > 0, { message: 'at least one source is needed' })
      .describe('Where data comes from, by name.'),
  })
  .describe('A Tagverse project: tagverse.yaml.');

export type ProjectConfigInput = z.input<typeof ProjectConfigSchema>;
export type SourceConfigInput = z.infer<typeof SourceSchema>;
export type EventsSourceInput = z.infer<typeof EventsSourceSchema>;
export type ProfileSourceInput = z.infer<typeof ProfileSourceSchema>;
export type LookupSourceInput = z.infer<typeof LookupSourceSchema>;
export type LookupJoinInput = z.infer<typeof LookupJoinSchema>;
export type ColumnInput = z.infer<typeof ColumnSchema>;
export type CsvOptions = z.infer<typeof CsvOptionsSchema>;
export type RealtimeInput = z.infer<typeof RealtimeSchema>;
export type SegmentEventRuleInput = z.infer<typeof SegmentEventRuleSchema>;
