/**
 * Trigger definitions: `triggers/*.yaml`, each a YAML list (or one mapping) of triggers.
 *
 * ```yaml
 * - name: airport_cuisine_nearby
 *   description: A foodie pays at an airport away from home; suggest restaurants of their cuisine.
 *   on: event                      # enter | leave | event
 *   source: transactions           # event triggers: the events source
 *   when: event.category = 'airport' and event.city <> home_city_90d and size(cuisine_affinity) > 0
 *   include:
 *     nearby:
 *       lookup: merchants
 *       where: merchants.category = 'restaurant' and merchants.cuisine = top_value(cuisine_affinity)
 *       near: { lat: event.lat, lon: event.lon }
 *       limit: 5
 *   webhook: { url: '${AIRPORT_WEBHOOK_URL}', secret: '${AIRPORT_WEBHOOK_SECRET}' }
 *   cap: { max: 1, per: 24h }
 *   quiet_hours: { from: '22:00', to: '08:00' }
 * ```
 *
 * Expressions are the tag language, checked by the same checker as segments (entity context: tags and
 * profile attributes). An event trigger's `when` also reads the event's columns as `event.<column>`
 * (the columns of its source's view, lookups included): they are offered to the checker as a profile
 * source named `event`. An include's `where` reads the lookup's columns as `<lookup>.<column>` the
 * same way. Problems are reported as `file:line:col` at the offending character.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isScalar } from 'yaml';
import { z } from 'zod';
import type { ProjectConfig } from '../../config/project.js';
import { IDENTIFIER } from '../../config/schema.js';
import { checkExpression } from '../../lang/checker.js';
import type { Expr, TagProgram, ValueType } from '../../lang/ir.js';
import { durationSeconds } from '../../lang/parser.js';
import type { ColumnValueType, SourceSchema, SourceSchemas } from '../../lang/schemas.js';
import { getSavedSegment } from '../../segments/saved.js';
import { didYouMeanSuffix } from '../../util/did-you-mean.js';
import type { Problem } from '../../util/problems.js';
import { YamlFile, type YamlPath } from '../../util/yaml-locator.js';
import { scalarMapper } from '../../util/yaml-text-position.js';
import { zodIssuesToProblems } from '../../util/zod-problems.js';

/** The name under which an event trigger's expressions read the event's columns. */
export const EVENT_SCOPE = 'event';

const DURATION = /^\d+(\.\d+)?[smhdw]$/;
const CLOCK = /^([01]\d|2[0-3]):[0-5]\d$/;
const expression = z
  .union([z.string().min(1, 'an expression cannot be empty'), z.boolean()])
  .transform((v) => String(v));

const IncludeSchema = z.strictObject({
  lookup: z.string().min(1).describe('A lookup source whose rows are offered.'),
  where: expression
    .optional()
    .describe('Which rows (lookup columns as <lookup>.<column>, event.<column>, tags).'),
  near: z
    .strictObject({
      lat: expression.describe('Latitude to measure from (an expression, e.g. event.lat).'),
      lon: expression.describe('Longitude to measure from.'),
      columns: z
        .tuple([z.string(), z.string()])
        .optional()
        .describe("The lookup's latitude and longitude columns (default [lat, lon])."),
    })
    .optional()
    .describe('Order rows by distance from a point (nearest first), adding distance_km.'),
  limit: z.number().int().min(1).max(100).optional().describe('Rows kept (default 5).'),
  columns: z.array(z.string().min(1)).optional().describe('Lookup columns in the payload (default all).'),
});

export const TriggerSchema = z.strictObject({
  name: z.string().regex(IDENTIFIER, 'a trigger name is lower_snake_case'),
  title: z.string().optional(),
  description: z.string().min(1, 'describe what the trigger is for'),
  owner: z.string().optional(),
  on: z
    .enum(['enter', 'leave', 'event'])
    .describe('Fire when an entity enters or leaves `when`, or on an event.'),
  when: expression
    .optional()
    .describe('Boolean expression over tags and profile (event.<column> for event triggers).'),
  segment: z
    .string()
    .regex(IDENTIFIER)
    .optional()
    .describe('A saved segment instead of `when` (enter/leave).'),
  source: z
    .string()
    .regex(IDENTIFIER)
    .optional()
    .describe('Event triggers: the events source whose events are looked at.'),
  include: z.record(z.string().regex(IDENTIFIER), IncludeSchema).optional(),
  webhook: z.strictObject({
    url: z
      .string()
      .min(1)
      .describe('Where to POST; $' + '{ENV_VAR} is replaced from the environment.'),
    secret: z
      .string()
      .min(1)
      .describe('HMAC-SHA256 key for the signature header; $' + '{ENV_VAR} allowed.'),
    timeout_ms: z.number().int().min(100).max(60_000).optional(),
    max_attempts: z.number().int().min(1).max(20).optional(),
    backoff_ms: z.number().int().min(10).max(600_000).optional(),
    max_backoff_ms: z.number().int().min(10).max(3_600_000).optional(),
  }),
  cap: z
    .strictObject({
      max: z.number().int().min(1),
      per: z.string().regex(DURATION, 'a duration like 24h or 7d'),
    })
    .optional()
    .describe('At most `max` deliveries per entity within `per`.'),
  quiet_hours: z
    .strictObject({
      from: z.string().regex(CLOCK, 'a local time HH:MM'),
      to: z.string().regex(CLOCK, 'a local time HH:MM'),
      timezone: z
        .string()
        .optional()
        .describe(
          'An IANA zone, or a profile attribute holding the entity’s zone (default: the project zone).',
        ),
      during: z.enum(['delay', 'drop']).optional().describe('delay (default): deliver when they end; drop.'),
    })
    .optional(),
  status: z.enum(['active', 'paused']).optional(),
});

export type TriggerInput = z.infer<typeof TriggerSchema>;

export interface CompiledInclude {
  readonly name: string;
  readonly lookup: string;
  readonly where?: Expr;
  readonly near?: { readonly lat: Expr; readonly lon: Expr; readonly columns: readonly [string, string] };
  readonly limit: number;
  readonly columns?: readonly string[];
}

export interface Trigger {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly on: 'enter' | 'leave' | 'event';
  /** The condition (entity context; event triggers also read `event.<column>`). */
  readonly when: Expr;
  readonly whenText: string;
  readonly source?: string;
  readonly includes: readonly CompiledInclude[];
  readonly webhook: {
    readonly url: string;
    readonly secret: string;
    readonly timeoutMs: number;
    readonly maxAttempts: number;
    readonly backoffMs: number;
    readonly maxBackoffMs: number;
  };
  readonly cap?: { readonly max: number; readonly perMs: number };
  readonly quietHours?: {
    readonly from: number;
    readonly to: number;
    /** An IANA zone, or a profile attribute (`source.column`) holding one. */
    readonly zone:
      | { readonly kind: 'zone'; readonly tz: string }
      | { readonly kind: 'profile'; readonly source: string; readonly column: string };
    readonly during: 'delay' | 'drop';
  };
  readonly paused: boolean;
  /** Where it is defined, relative to the project. */
  readonly file: string;
}

export interface TriggerSet {
  readonly triggers: readonly Trigger[];
  readonly problems: readonly Problem[];
}

/** `${NAME}` references replaced from the environment; an unset one is a problem. */
export function substituteEnv(
  text: string,
  env: Readonly<Record<string, string | undefined>>,
): { text: string; missing: string[] } {
  const missing: string[] = [];
  const out = text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const v = env[name];
    if (v === undefined) {
      missing.push(name);
      return '';
    }
    return v;
  });
  return { text: out, missing };
}

function minutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h! * 60 + m!;
}

function isValidZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Schemas with extra pseudo-profile sources (event columns, lookup columns) for the checker. */
function withScope(schemas: SourceSchemas, extra: readonly SourceSchema[]): SourceSchemas {
  const out = new Map(schemas);
  for (const s of extra) out.set(s.name, s);
  return out;
}

function pseudoProfile(name: string, columns: ReadonlyMap<string, ColumnValueType>): SourceSchema {
  // An entity key no column has: every column is readable.
  return { name, kind: 'profile', columns, entityKey: '\u0000' };
}

/**
 * Load and check every trigger of the project against a program's tags and the source schemas.
 * @example
 *   const { triggers, problems } = loadTriggers(config, store.schemas, store.program);
 */
export function loadTriggers(
  config: ProjectConfig,
  schemas: SourceSchemas,
  program: TagProgram,
  env: Readonly<Record<string, string | undefined>> = process.env,
): TriggerSet {
  const dir = config.triggers.dir;
  const problems: Problem[] = [];
  const triggers: Trigger[] = [];
  if (!existsSync(dir)) return { triggers, problems };
  const seen = new Set<string>();
  for (const f of readdirSync(dir).sort()) {
    if (!/\.ya?ml$/.test(f)) continue;
    const rel = path.relative(config.dir, path.join(dir, f));
    const file = new YamlFile(rel, readFileSync(path.join(dir, f), 'utf8'));
    problems.push(...file.parseProblems);
    if (file.parseProblems.some((p) => p.severity === 'error')) continue;
    const data = file.toJS();
    const list = Array.isArray(data) ? data : data === null || data === undefined ? [] : [data];
    list.forEach((item, i) => {
      const at: YamlPath = Array.isArray(data) ? [i] : [];
      const parsed = TriggerSchema.safeParse(item);
      if (!parsed.success) {
        problems.push(
          ...zodIssuesToProblems(
            parsed.error.issues.map((iss) => ({ ...iss, path: [...at, ...iss.path] })),
            file,
            TriggerSchema,
            data,
          ),
        );
        return;
      }
      const t = parsed.data;
      if (seen.has(t.name)) {
        problems.push(file.problem([...at, 'name'], `trigger '${t.name}' is defined twice`));
        return;
      }
      seen.add(t.name);
      const compiled = compileTrigger(config, schemas, program, env, file, at, t, problems);
      if (compiled) triggers.push(compiled);
    });
  }
  return { triggers, problems };
}

function compileTrigger(
  config: ProjectConfig,
  schemas: SourceSchemas,
  program: TagProgram,
  env: Readonly<Record<string, string | undefined>>,
  file: YamlFile,
  at: YamlPath,
  t: TriggerInput,
  problems: Problem[],
): Trigger | undefined {
  const before = problems.length;
  const fail = (p: YamlPath, message: string) => problems.push(file.problem([...at, ...p], message));
  if (config.sources.has(EVENT_SCOPE)) {
    fail(
      ['name'],
      `a source is named '${EVENT_SCOPE}', which triggers use for the event's columns: rename it`,
    );
  }
  // What `when` reads.
  let scope: SourceSchema[] = [];
  let eventSource: string | undefined;
  if (t.on === 'event') {
    const events = [...schemas.values()].filter((s) => s.kind === 'events');
    const src = t.source ?? (events.length === 1 ? events[0]!.name : undefined);
    const schema = src === undefined ? undefined : schemas.get(src);
    if (schema?.kind !== 'events') {
      fail(
        ['source'],
        t.source === undefined
          ? `an event trigger needs 'source' (the events source: ${events.map((e) => e.name).join(', ')})`
          : `'${t.source}' is not an events source${didYouMeanSuffix(
              t.source,
              events.map((e) => e.name),
            )}`,
      );
      return undefined;
    }
    scope = [pseudoProfile(EVENT_SCOPE, schema.columns)];
    eventSource = schema.name;
    if (t.segment !== undefined) fail(['segment'], "an event trigger takes 'when', not 'segment'");
  } else if (t.source !== undefined) {
    fail(['source'], `'source' is for event triggers; an ${t.on} trigger watches every change of the entity`);
  }
  let whenText = t.when;
  let whenAt: YamlPath = [...at, 'when'];
  if (whenText === undefined && t.segment !== undefined) {
    try {
      whenText = getSavedSegment(config, t.segment).expression;
      whenAt = [...at, 'segment'];
    } catch (e) {
      fail(['segment'], e instanceof Error ? e.message : String(e));
      return undefined;
    }
  }
  if (whenText === undefined) {
    fail([], "a trigger needs 'when' (an expression) or 'segment' (a saved segment's name)");
    return undefined;
  }
  if (t.when !== undefined && t.segment !== undefined)
    fail(['segment'], "give 'when' or 'segment', not both");
  const when = checkAt(
    config,
    withScope(schemas, scope),
    program,
    file,
    whenAt,
    whenText,
    'boolean',
    problems,
    t.when === undefined,
  );
  const includes: CompiledInclude[] = [];
  for (const [name, inc] of Object.entries(t.include ?? {})) {
    const lk = schemas.get(inc.lookup);
    if (lk?.kind !== 'lookup') {
      fail(
        ['include', name, 'lookup'],
        `'${inc.lookup}' is not a lookup source${didYouMeanSuffix(
          inc.lookup,
          [...schemas.values()].filter((s) => s.kind === 'lookup').map((s) => s.name),
        )}`,
      );
      continue;
    }
    const incScope = withScope(schemas, [...scope, pseudoProfile(inc.lookup, lk.columns)]);
    const where =
      inc.where === undefined
        ? undefined
        : checkAt(
            config,
            incScope,
            program,
            file,
            [...at, 'include', name, 'where'],
            inc.where,
            'boolean',
            problems,
          );
    let near: CompiledInclude['near'];
    if (inc.near) {
      const columns = inc.near.columns ?? ['lat', 'lon'];
      for (const c of columns) {
        if (lk.columns.get(c) !== 'number')
          fail(
            ['include', name, 'near'],
            `lookup '${inc.lookup}' has no number column '${c}' (set near.columns)`,
          );
      }
      const lat = checkAt(
        config,
        withScope(schemas, scope),
        program,
        file,
        [...at, 'include', name, 'near', 'lat'],
        inc.near.lat,
        'number',
        problems,
      );
      const lon = checkAt(
        config,
        withScope(schemas, scope),
        program,
        file,
        [...at, 'include', name, 'near', 'lon'],
        inc.near.lon,
        'number',
        problems,
      );
      if (lat && lon) near = { lat, lon, columns };
    }
    for (const c of inc.columns ?? []) {
      if (!lk.columns.has(c))
        fail(
          ['include', name, 'columns'],
          `lookup '${inc.lookup}' has no column '${c}'${didYouMeanSuffix(c, lk.columns.keys())}`,
        );
    }
    includes.push({
      name,
      lookup: inc.lookup,
      ...(where ? { where } : {}),
      ...(near ? { near } : {}),
      limit: inc.limit ?? 5,
      ...(inc.columns ? { columns: inc.columns } : {}),
    });
  }
  const url = substituteEnv(t.webhook.url, env);
  const secret = substituteEnv(t.webhook.secret, env);
  for (const m of [...url.missing, ...secret.missing]) {
    fail(['webhook'], `the environment variable ${m} is not set`);
  }
  if (url.missing.length === 0 && !/^https?:\/\/[^\s]+$/.test(url.text)) {
    fail(['webhook', 'url'], `the webhook URL must be http(s)://..., got '${url.text}'`);
  }
  let quietHours: Trigger['quietHours'];
  if (t.quiet_hours) {
    const q = t.quiet_hours;
    let zone: NonNullable<Trigger['quietHours']>['zone'] = { kind: 'zone', tz: config.timezone };
    if (q.timezone !== undefined) {
      if (isValidZone(q.timezone)) zone = { kind: 'zone', tz: q.timezone };
      else {
        const [source, column] = q.timezone.includes('.')
          ? q.timezone.split('.', 2)
          : [undefined, q.timezone];
        const profile = [...schemas.values()].find(
          (s) =>
            s.kind === 'profile' &&
            (source === undefined || s.name === source) &&
            s.columns.get(column!) === 'string',
        );
        if (profile) zone = { kind: 'profile', source: profile.name, column: column! };
        else
          fail(
            ['quiet_hours', 'timezone'],
            `'${q.timezone}' is neither an IANA time zone nor a text profile attribute`,
          );
      }
    }
    quietHours = { from: minutes(q.from), to: minutes(q.to), zone, during: q.during ?? 'delay' };
  }
  if (problems.length > before || !when) return undefined;
  return {
    name: t.name,
    title: t.title ?? t.name,
    description: t.description,
    on: t.on,
    when,
    whenText,
    ...(eventSource !== undefined ? { source: eventSource } : {}),
    includes,
    webhook: {
      url: url.text,
      secret: secret.text,
      timeoutMs: t.webhook.timeout_ms ?? 5000,
      maxAttempts: t.webhook.max_attempts ?? 6,
      backoffMs: t.webhook.backoff_ms ?? 500,
      maxBackoffMs: t.webhook.max_backoff_ms ?? 60_000,
    },
    ...(t.cap ? { cap: { max: t.cap.max, perMs: durationSeconds(t.cap.per) * 1000 } } : {}),
    ...(quietHours ? { quietHours } : {}),
    paused: t.status === 'paused',
    file: file.file,
  };
}

/** Check an expression field, reporting its problems at their place in the file. */
function checkAt(
  config: ProjectConfig,
  schemas: SourceSchemas,
  program: TagProgram,
  file: YamlFile,
  at: YamlPath,
  text: string,
  expected: ValueType,
  problems: Problem[],
  fromElsewhere = false,
): Expr | undefined {
  let r: ReturnType<typeof checkExpression>;
  try {
    r = checkExpression(config, schemas, program, text, expected);
  } catch (e) {
    problems.push(
      file.problem(at, `cannot check the expression: ${e instanceof Error ? e.message : String(e)}`),
    );
    return undefined;
  }
  if (r.problems.length === 0 && r.expr) return r.expr;
  const node = file.nodeAt(at);
  const range = node?.range;
  const map =
    !fromElsewhere && node && isScalar(node) && range && String(node.value) === text
      ? scalarMapper(file, text, range[0], range[1])
      : undefined;
  for (const p of r.problems) {
    if (map) {
      const { line, col } = map(p.start);
      problems.push(file.problemAtPos(line, col, p.end - p.start, p.message));
    } else {
      problems.push(
        file.problem(at, fromElsewhere ? `in the segment's expression: ${p.message}` : p.message),
      );
    }
  }
  return undefined;
}
