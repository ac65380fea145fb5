/**
 * Load `tagverse.yaml` into a resolved, typed project config (defaults applied, paths absolute),
 * collecting every problem with its position instead of stopping at the first.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { durationSeconds } from '../lang/parser.js';
import { didYouMeanSuffix } from '../util/did-you-mean.js';
import { type Problem, ProjectError } from '../util/problems.js';
import { YamlFile } from '../util/yaml-locator.js';
import { zodIssuesToProblems } from '../util/zod-problems.js';
import {
  type ApiRole,
  type ColumnType,
  type CsvOptions,
  DEFAULT_CATEGORIES,
  type FileFormat,
  type ProjectConfigInput,
  ProjectConfigSchema,
  type RealtimeInput,
  type SegmentEventRuleInput,
  type SourceConfigInput,
} from './schema.js';

export const CONFIG_FILE = 'tagverse.yaml';
export const DEFAULT_WAREHOUSE = '.tagverse/warehouse.duckdb';
export const DEFAULT_MAX_REJECT_RATIO = 0.01;

export interface ColumnSpec {
  /** Name inside Tagverse (after renaming). */
  readonly name: string;
  /** Name in the file. */
  readonly from: string;
  readonly type?: ColumnType;
  readonly description?: string;
}

export interface LookupJoin {
  readonly source: string;
  readonly on: string;
  readonly columns?: readonly string[];
  readonly prefix: string;
}

interface SourceBase {
  readonly name: string;
  readonly description?: string;
  /** Patterns as written in the config, relative to the project folder. */
  readonly files: readonly string[];
  readonly format?: FileFormat;
  readonly csv: CsvOptions;
  readonly columns: readonly ColumnSpec[];
  readonly keepUnlistedColumns: boolean;
  /** File columns to leave out. */
  readonly excludeColumns: readonly string[];
}
export interface EventsSource extends SourceBase {
  readonly kind: 'events';
  readonly entityKey: string;
  readonly timestamp: { readonly column: string; readonly format?: string; readonly timezone: string };
  readonly eventId?: string;
  readonly lookups: readonly LookupJoin[];
}
export interface ProfileSource extends SourceBase {
  readonly kind: 'profile';
  readonly entityKey: string;
  readonly lookups: readonly LookupJoin[];
}
export interface LookupSource extends SourceBase {
  readonly kind: 'lookup';
  readonly key: string;
}
export type SourceConfig = EventsSource | ProfileSource | LookupSource;

export interface ApiKeyRecord {
  readonly id: string;
  readonly role: ApiRole;
  /** `sha256$<salt>$<hex>` */
  readonly hash: string;
  readonly name?: string;
  readonly createdAt?: string;
}

export interface ApiLimits {
  readonly maxBodyBytes: number;
  readonly maxUrlLength: number;
  readonly maxExpressionLength: number;
  readonly maxExpressionDepth: number;
  readonly queryTimeoutMs: number;
  readonly requestsPerSecond: number;
  readonly burst: number;
}

export const DEFAULT_API_LIMITS: ApiLimits = {
  maxBodyBytes: 1024 * 1024,
  maxUrlLength: 8192,
  maxExpressionLength: 10_000,
  maxExpressionDepth: 64,
  queryTimeoutMs: 5000,
  requestsPerSecond: 100,
  burst: 200,
};

/** A rule turning Segment calls (track, page, screen, group) into rows of an events source. */
export interface SegmentEventRule {
  /** Event (or page/screen) names taken; undefined = every one. */
  readonly events?: readonly string[];
  readonly source: string;
  /** Column -> dotted path into the message, as configured (defaults are added by the mapper). */
  readonly columns: Readonly<Record<string, string>>;
}

export interface SegmentMapping {
  readonly track: readonly SegmentEventRule[];
  readonly page: readonly SegmentEventRule[];
  readonly screen: readonly SegmentEventRule[];
  readonly group: readonly SegmentEventRule[];
  readonly identify?: { readonly source: string; readonly columns: Readonly<Record<string, string>> };
  readonly anonymous: 'entity' | 'ignore';
}

export interface NatsConfig {
  readonly url: string;
  readonly stream: string;
  readonly subjects: readonly string[];
  readonly durable: string;
  readonly batch: number;
  /** How long a delivered message may stay unacknowledged before NATS delivers it again. */
  readonly ackWaitMs: number;
}

/** The `realtime` section, defaults applied (docs/realtime.md). */
export interface RealtimeConfig {
  /** True when tagverse.yaml has a `realtime` section not turned off (`enabled: false`). */
  readonly enabled: boolean;
  /** Absolute folder of the write-ahead log. */
  readonly logDir: string;
  readonly segmentBytes: number;
  /** The longest logged messages wait before a flush into the warehouse. */
  readonly flushIntervalMs: number;
  /** A flush starts sooner once this many logged messages wait. */
  readonly flushRows: number;
  readonly commitIntervalMs: number;
  readonly dedupeWindowMs: number;
  /** The most messageIds the dedupe window remembers (the oldest go first past it). */
  readonly dedupeMaxIds: number;
  readonly refreshIntervalMs: number;
  /** Where live tags are evaluated: a worker thread (default) or the server's event loop. */
  readonly evaluator: 'worker' | 'inline';
  readonly clock: 'event' | 'wall';
  readonly maxEventBytes: number;
  readonly maxBatchBytes: number;
  readonly segment: SegmentMapping;
  readonly nats?: NatsConfig;
}

export interface ClickHouseConfig {
  readonly nodes: readonly string[];
  readonly cluster: string;
  readonly database: string;
  readonly user?: string;
  readonly password?: string;
}

function resolveClickHouse(
  c: NonNullable<NonNullable<ProjectConfigInput['engine']>['clickhouse']>,
): ClickHouseConfig {
  const user = process.env[c.user_env ?? 'CLICKHOUSE_USER'];
  const password = process.env[c.password_env ?? 'CLICKHOUSE_PASSWORD'];
  return {
    nodes: c.nodes,
    cluster: c.cluster ?? 'tagverse',
    database: c.database ?? 'tagverse',
    ...(user ? { user } : {}),
    ...(password ? { password } : {}),
  };
}

export interface ProjectConfig {
  /** Absolute project folder. */
  readonly dir: string;
  /** Absolute path of tagverse.yaml. */
  readonly file: string;
  readonly name: string;
  readonly description?: string;
  readonly timezone: string;
  readonly entity: { readonly name: string; readonly idType: 'string' | 'integer' };
  readonly engine: {
    readonly kind: 'duckdb' | 'clickhouse';
    /** The local DuckDB file (with kind clickhouse it stages ingests and holds the tag tables). */
    readonly path: string;
    /** The cluster, when kind is clickhouse (credentials read from the environment). */
    readonly clickhouse?: ClickHouseConfig;
    readonly threads?: number;
    readonly memoryLimit?: string;
  };
  readonly settings: { readonly maxRejectRatio: number; readonly asOf: string };
  readonly categories: readonly { name: string; description?: string; owner?: string }[];
  readonly sources: ReadonlyMap<string, SourceConfig>;
  /** The HTTP API: keys (hashed) and limits, defaults applied. */
  readonly api: {
    readonly keys: readonly ApiKeyRecord[];
    readonly limits: ApiLimits;
    /** How often every page of the served store is read (ms; 0: never). See src/online/warm.ts. */
    readonly warmPeriodMs: number;
  };
  /** Real time (ingestion, write-ahead log, live tags), defaults applied. */
  readonly realtime: RealtimeConfig;
  /** Triggers: absolute folder of trigger files and of their delivery logs. */
  readonly triggers: { readonly dir: string; readonly logDir: string };
}

export interface LoadResult {
  readonly config?: ProjectConfig;
  readonly problems: readonly Problem[];
  /** The parsed file, for callers that add positioned problems of their own. */
  readonly yaml?: YamlFile;
}

/** True when `tz` is an IANA time zone this runtime knows. */
export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * Read and validate `DIR/tagverse.yaml`. Never throws for user mistakes: returns them as problems
 * (the config is returned only when there are no errors).
 */
export function loadProject(dir: string): LoadResult {
  const absDir = path.resolve(dir);
  const file = path.join(absDir, CONFIG_FILE);
  if (!existsSync(file)) {
    return {
      problems: [
        {
          file: CONFIG_FILE,
          line: 1,
          col: 1,
          severity: 'error',
          message: `no ${CONFIG_FILE} in ${absDir} (create one with 'tagverse init')`,
        },
      ],
    };
  }
  const yaml = new YamlFile(CONFIG_FILE, readFileSync(file, 'utf8'));
  const problems: Problem[] = [...yaml.parseProblems];
  if (problems.some((p) => p.severity === 'error')) return { problems, yaml };
  const data = yaml.toJS();
  const parsed = ProjectConfigSchema.safeParse(data ?? {});
  if (!parsed.success) {
    problems.push(...zodIssuesToProblems(parsed.error.issues, yaml, ProjectConfigSchema, data));
    return { problems, yaml };
  }
  const input = parsed.data;
  problems.push(...crossCheck(input, yaml));
  if (problems.some((p) => p.severity === 'error')) return { problems, yaml };
  return { config: resolve(input, absDir, file), problems, yaml };
}

/** Like loadProject, but throws a ProjectError listing every problem. */
export function requireProject(dir: string): ProjectConfig {
  const { config, problems } = loadProject(dir);
  if (!config) throw new ProjectError(problems);
  return config;
}

/** Checks that need more than one key at a time: references between sources, names, time zones. */
function crossCheck(input: ProjectConfigInput, yaml: YamlFile): Problem[] {
  const problems: Problem[] = [];
  if (input.timezone !== undefined && !isValidTimeZone(input.timezone)) {
    problems.push(
      yaml.problem(
        ['timezone'],
        `unknown time zone '${input.timezone}' (use an IANA name like 'Europe/Paris')`,
      ),
    );
  }
  const sources = input.sources as Record<string, SourceConfigInput>;
  const lookupNames = Object.entries(sources)
    .filter(([, s]) => s.kind === 'lookup')
    .map(([n]) => n);
  for (const [name, src] of Object.entries(sources)) {
    const at = (...p: (string | number)[]) => ['sources', name, ...p];
    const froms = new Map<string, string>();
    for (const [col, spec] of Object.entries(src.columns ?? {})) {
      const from = spec.from ?? col;
      const other = froms.get(from);
      if (other !== undefined) {
        problems.push(
          yaml.problem(
            at('columns', col),
            `columns '${other}' and '${col}' both read file column '${from}'`,
            { key: true },
          ),
        );
      }
      froms.set(from, col);
    }
    if (src.kind === 'events') {
      const ts = typeof src.timestamp === 'string' ? { column: src.timestamp } : src.timestamp;
      if ('timezone' in ts && ts.timezone !== undefined && !isValidTimeZone(ts.timezone)) {
        problems.push(yaml.problem(at('timestamp', 'timezone'), `unknown time zone '${ts.timezone}'`));
      }
      const declared = src.columns?.[ts.column]?.type;
      if (declared !== undefined && declared !== 'timestamp') {
        problems.push(
          yaml.problem(
            at('columns', ts.column, 'type'),
            `the timestamp column '${ts.column}' must have type timestamp, not ${declared}`,
          ),
        );
      }
    }
    if (src.kind !== 'lookup') {
      (src.lookups ?? []).forEach((lk, i) => {
        if (!(lk.source in sources)) {
          problems.push(
            yaml.problem(
              at('lookups', i, 'source'),
              `unknown source '${lk.source}'${didYouMeanSuffix(lk.source, lookupNames)}`,
            ),
          );
        } else if (sources[lk.source]!.kind !== 'lookup') {
          problems.push(
            yaml.problem(
              at('lookups', i, 'source'),
              `source '${lk.source}' is of kind ${sources[lk.source]!.kind}, not lookup`,
            ),
          );
        }
      });
    }
    if (src.format === undefined) {
      const patterns = Array.isArray(src.files) ? src.files : [src.files];
      patterns.forEach((p, i) => {
        if (formatFromPath(p) === undefined) {
          problems.push(
            yaml.problem(
              Array.isArray(src.files) ? at('files', i) : at('files'),
              `cannot tell the format of '${p}' from its extension; set 'format' (${['csv', 'tsv', 'parquet', 'jsonl'].join(', ')})`,
            ),
          );
        }
      });
    }
  }
  problems.push(...checkRealtime(input, yaml));
  return problems;
}

/** The Segment mapping must name sources of the right kind. */
function checkRealtime(input: ProjectConfigInput, yaml: YamlFile): Problem[] {
  const problems: Problem[] = [];
  const sources = input.sources as Record<string, SourceConfigInput>;
  const seg = input.realtime?.segment;
  if (!seg) return problems;
  const kindNames = (kind: string) =>
    Object.entries(sources)
      .filter(([, s]) => s.kind === kind)
      .map(([n]) => n);
  for (const call of ['track', 'page', 'screen', 'group'] as const) {
    (seg[call] ?? []).forEach((rule: SegmentEventRuleInput, i: number) => {
      const src = sources[rule.source];
      if (src?.kind !== 'events') {
        problems.push(
          yaml.problem(
            ['realtime', 'segment', call, i, 'source'],
            src
              ? `source '${rule.source}' is of kind ${src.kind}; ${call} calls feed an events source`
              : `unknown source '${rule.source}'${didYouMeanSuffix(rule.source, kindNames('events'))}`,
          ),
        );
      }
    });
  }
  if (seg.identify) {
    const src = sources[seg.identify.source];
    if (src?.kind !== 'profile') {
      problems.push(
        yaml.problem(
          ['realtime', 'segment', 'identify', 'source'],
          src
            ? `source '${seg.identify.source}' is of kind ${src.kind}; identify traits update a profile source`
            : `unknown source '${seg.identify.source}'${didYouMeanSuffix(seg.identify.source, kindNames('profile'))}`,
        ),
      );
    }
  }
  return problems;
}

/** The file format implied by a path's extension (`.gz` is looked through), if any. */
export function formatFromPath(p: string): FileFormat | undefined {
  const lower = p.toLowerCase().replace(/\.(gz|zst)$/, '');
  if (lower.endsWith('.csv')) return 'csv';
  if (lower.endsWith('.tsv') || lower.endsWith('.tab')) return 'tsv';
  if (lower.endsWith('.parquet')) return 'parquet';
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson') || lower.endsWith('.json')) return 'jsonl';
  return undefined;
}

function resolve(input: ProjectConfigInput, dir: string, file: string): ProjectConfig {
  const timezone = input.timezone ?? 'UTC';
  const sources = new Map<string, SourceConfig>();
  for (const [name, src] of Object.entries(input.sources as Record<string, SourceConfigInput>)) {
    const base = {
      name,
      ...(src.description !== undefined ? { description: src.description } : {}),
      files: Array.isArray(src.files) ? src.files : [src.files],
      ...(src.format !== undefined ? { format: src.format } : {}),
      csv: src.csv ?? {},
      columns: Object.entries(src.columns ?? {}).map(([colName, c]) => ({
        name: colName,
        from: c.from ?? colName,
        ...(c.type !== undefined ? { type: c.type as ColumnType } : {}),
        ...(c.description !== undefined ? { description: c.description } : {}),
      })),
      keepUnlistedColumns: src.keep_unlisted_columns ?? true,
      excludeColumns: src.exclude_columns ?? [],
    };
    const lookups = (src.kind === 'lookup' ? [] : (src.lookups ?? [])).map((l) => ({
      source: l.source,
      on: l.on,
      ...(l.columns !== undefined ? { columns: l.columns } : {}),
      prefix: l.prefix ?? '',
    }));
    if (src.kind === 'events') {
      const ts = typeof src.timestamp === 'string' ? { column: src.timestamp } : src.timestamp;
      sources.set(name, {
        ...base,
        kind: 'events',
        entityKey: src.entity_key,
        timestamp: {
          column: ts.column,
          ...('format' in ts && ts.format !== undefined ? { format: ts.format } : {}),
          timezone: ('timezone' in ts ? ts.timezone : undefined) ?? timezone,
        },
        ...(src.event_id !== undefined ? { eventId: src.event_id } : {}),
        lookups,
      });
    } else if (src.kind === 'profile') {
      sources.set(name, { ...base, kind: 'profile', entityKey: src.entity_key, lookups });
    } else {
      sources.set(name, { ...base, kind: 'lookup', key: src.key });
    }
  }
  const engine = input.engine ?? {};
  return {
    dir,
    file,
    name: input.name,
    ...(input.description !== undefined ? { description: input.description } : {}),
    timezone,
    entity: { name: input.entity.name, idType: input.entity.id_type ?? 'string' },
    engine: {
      kind: engine.kind ?? 'duckdb',
      path: path.resolve(dir, engine.path ?? DEFAULT_WAREHOUSE),
      ...(engine.clickhouse !== undefined ? { clickhouse: resolveClickHouse(engine.clickhouse) } : {}),
      ...(engine.threads !== undefined ? { threads: engine.threads } : {}),
      ...(engine.memory_limit !== undefined ? { memoryLimit: engine.memory_limit } : {}),
    },
    settings: {
      maxRejectRatio: input.settings?.max_reject_ratio ?? DEFAULT_MAX_REJECT_RATIO,
      asOf: input.settings?.as_of ?? 'latest_event',
    },
    categories: input.categories ?? DEFAULT_CATEGORIES.map((c) => ({ ...c })),
    sources,
    api: resolveApi(input.api),
    realtime: resolveRealtime(input.realtime, dir, input.settings?.as_of ?? 'latest_event'),
    triggers: {
      dir: path.resolve(dir, input.triggers?.dir ?? 'triggers'),
      logDir: path.resolve(dir, input.triggers?.log_dir ?? '.tagverse/triggers'),
    },
  };
}

function rules(list: readonly SegmentEventRuleInput[] | undefined): SegmentEventRule[] {
  return (list ?? []).map((r) => ({
    ...(r.events !== undefined && r.events !== '*' ? { events: r.events } : {}),
    source: r.source,
    columns: r.columns ?? {},
  }));
}

function resolveRealtime(rt: RealtimeInput | undefined, dir: string, asOf: string): RealtimeConfig {
  const seg = rt?.segment;
  const nats = rt?.nats;
  return {
    // Real time runs when the section is there (and not turned off).
    enabled: rt !== undefined && (rt.enabled ?? true),
    logDir: path.resolve(dir, rt?.log_dir ?? '.tagverse/wal'),
    segmentBytes: rt?.segment_bytes ?? 64 * 1024 * 1024,
    // Each flush opens, checkpoints and closes the warehouse (~0.4 s of CPU however few its rows): at
    // moderate rates a longer interval saves most of that; at high rates flush_rows bounds the backlog.
    flushIntervalMs: rt?.flush_interval_ms ?? 10_000,
    flushRows: rt?.flush_rows ?? 50_000,
    commitIntervalMs: rt?.commit_interval_ms ?? 20,
    dedupeWindowMs: durationSeconds(rt?.dedupe_window ?? '24h') * 1000,
    dedupeMaxIds: rt?.dedupe_max_ids ?? 5_000_000,
    refreshIntervalMs: durationSeconds(rt?.refresh_interval ?? '1h') * 1000,
    evaluator: rt?.evaluator ?? 'worker',
    clock: rt?.clock ?? (asOf === 'now' ? 'wall' : 'event'),
    maxEventBytes: rt?.max_event_bytes ?? 32 * 1024,
    maxBatchBytes: rt?.max_batch_bytes ?? 500 * 1024,
    segment: {
      track: rules(seg?.track),
      page: rules(seg?.page),
      screen: rules(seg?.screen),
      group: rules(seg?.group),
      ...(seg?.identify
        ? { identify: { source: seg.identify.source, columns: seg.identify.columns ?? {} } }
        : {}),
      anonymous: seg?.anonymous ?? 'entity',
    },
    ...(nats
      ? {
          nats: {
            url: nats.url,
            stream: nats.stream,
            subjects: nats.subjects ?? [`${nats.stream.toLowerCase()}.events`],
            durable: nats.durable ?? 'tagverse',
            batch: nats.batch ?? 500,
            ackWaitMs: durationSeconds(nats.ack_wait ?? '30s') * 1000,
          },
        }
      : {}),
  };
}

function resolveApi(api: ProjectConfigInput['api']): ProjectConfig['api'] {
  const l = api?.limits ?? {};
  const d = DEFAULT_API_LIMITS;
  return {
    keys: (api?.keys ?? []).map((k) => ({
      id: k.id,
      role: k.role,
      hash: k.hash,
      ...(k.name !== undefined ? { name: k.name } : {}),
      ...(k.created_at !== undefined ? { createdAt: k.created_at } : {}),
    })),
    limits: {
      maxBodyBytes: l.max_body_bytes ?? d.maxBodyBytes,
      maxUrlLength: l.max_url_length ?? d.maxUrlLength,
      maxExpressionLength: l.max_expression_length ?? d.maxExpressionLength,
      maxExpressionDepth: l.max_expression_depth ?? d.maxExpressionDepth,
      queryTimeoutMs: l.query_timeout_ms ?? d.queryTimeoutMs,
      requestsPerSecond: l.requests_per_second ?? d.requestsPerSecond,
      burst: l.burst ?? d.burst,
    },
    warmPeriodMs: api?.warm_period_ms ?? 5000,
  };
}
