/**
 * What the real-time runtime reads from the warehouse when it starts: the columns of every source
 * (so messages can be typed and rows appended), the lookup tables (so a live event is joined like
 * `main.<source>` joins it), the profiles, and each entity's events as far back as the tags' windows
 * reach, streamed chunk by chunk into the incremental engine in event order.
 *
 * Only the columns the tags read are kept in memory for past events (strings interned per column),
 * which is what bounds the runtime's memory: events x columns read.
 */
import type { DuckDBVector } from '@duckdb/node-api';
import type { EventsSource, ProjectConfig } from '../config/project.js';
import { PROVENANCE_COLUMNS } from '../ingest/column-plan.js';
import type { Aggregate, TagProgram } from '../lang/ir.js';
import { valueTypeOfDuck } from '../lang/schemas.js';
import { ident, qualified } from '../warehouse/sql.js';
import { duckdbType } from '../warehouse/types.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import type { EntityId, IncomingEvent } from './engine.js';
import { Interner } from './interner.js';
import type { SourceShape } from './mapping.js';
import { type Cell, cellKind, evaluatorValue } from './records.js';

const DAY_US = 86_400_000_000;

/**
 * The raw-table columns of every events and profile source: from the warehouse when the source was
 * loaded, else from its declared columns (the role columns typed by their role).
 */
export async function sourceShapes(wh: Warehouse, config: ProjectConfig): Promise<Map<string, SourceShape>> {
  const out = new Map<string, SourceShape>();
  for (const src of config.sources.values()) {
    if (src.kind === 'lookup') continue;
    let columns = (await wh.columns('raw', src.name))
      .filter((c) => !(PROVENANCE_COLUMNS as readonly string[]).includes(c.name))
      .map((c) => ({ name: c.name, type: c.type }));
    if (columns.length === 0) {
      const declared = new Map(src.columns.map((c) => [c.name, c.type ? duckdbType(c.type) : 'VARCHAR']));
      declared.set(src.entityKey, config.entity.idType === 'integer' ? 'BIGINT' : 'VARCHAR');
      if (src.kind === 'events') {
        declared.set(src.timestamp.column, 'TIMESTAMP WITH TIME ZONE');
        if (src.eventId !== undefined && !declared.has(src.eventId)) declared.set(src.eventId, 'VARCHAR');
      }
      columns = [...declared].map(([name, type]) => ({ name, type }));
    }
    out.set(src.name, {
      name: src.name,
      kind: src.kind,
      columns,
      entityKey: src.entityKey,
      ...(src.kind === 'events' ? { timeColumn: src.timestamp.column } : {}),
      ...(src.kind === 'events' && src.eventId !== undefined ? { eventId: src.eventId } : {}),
    });
  }
  return out;
}

/** SQL reading a column as the tag evaluators hold it (times µs, dates days, numbers doubles). */
function evaluatorSql(column: string, duckType: string): string | undefined {
  const q = ident(column);
  switch (valueTypeOfDuck(duckType)) {
    case 'time':
      return `CAST(epoch_us(${q}) AS DOUBLE)`;
    case 'date':
      return `CAST(${q} - DATE '1970-01-01' AS DOUBLE)`;
    case 'number':
      return `CAST(${q} AS DOUBLE)`;
    case 'string':
    case 'boolean':
      return q;
    default:
      return undefined;
  }
}

/** Joins a live row with the lookups of its source, as the `main.<source>` view does. */
export class Lookups {
  private constructor(
    /** lookup source -> key (as text) -> row (evaluator values). */
    private readonly tables: ReadonlyMap<string, ReadonlyMap<string, Readonly<Record<string, unknown>>>>,
    private readonly config: ProjectConfig,
  ) {}

  static async load(wh: Warehouse, config: ProjectConfig): Promise<Lookups> {
    const tables = new Map<string, Map<string, Record<string, unknown>>>();
    for (const src of config.sources.values()) {
      if (src.kind !== 'lookup') continue;
      const cols = (await wh.columns('raw', src.name)).filter(
        (c) => !(PROVENANCE_COLUMNS as readonly string[]).includes(c.name),
      );
      if (cols.length === 0) continue;
      const select = cols.flatMap((c) => {
        const sql = c.name === src.key ? `CAST(${ident(c.name)} AS VARCHAR)` : evaluatorSql(c.name, c.type);
        return sql ? [`${sql} AS ${ident(c.name)}`] : [];
      });
      const rows = await wh.objects(`SELECT ${select.join(', ')} FROM ${qualified('raw', src.name)}`);
      const byKey = new Map<string, Record<string, unknown>>();
      for (const r of rows) {
        const k = r[src.key];
        // The view joins every match; keys are unique after ingest (later rows replace earlier ones).
        if (k !== null && k !== undefined) byKey.set(String(k), r);
      }
      tables.set(src.name, byKey);
    }
    return new Lookups(tables, config);
  }

  /** Per source: each lookup's table, join column and (lookup column, prefixed name) pairs, worked out once. */
  private readonly plans = new Map<
    string,
    {
      table: ReadonlyMap<string, Readonly<Record<string, unknown>>>;
      on: string;
      columns: [string, string][];
    }[]
  >();

  /** The lookup columns a row of `source` gets (prefixed as configured). */
  join(source: string, row: Record<string, unknown>): void {
    let plan = this.plans.get(source);
    if (!plan) {
      plan = [];
      const src = this.config.sources.get(source);
      if (src && src.kind !== 'lookup') {
        for (const lk of src.lookups) {
          const table = this.tables.get(lk.source);
          if (!table) continue;
          const keySrc = this.config.sources.get(lk.source);
          const lkKey = keySrc?.kind === 'lookup' ? keySrc.key : undefined;
          // Every row of a lookup has the same columns (one SELECT loaded them).
          const wanted = lk.columns ?? Object.keys(this.anyRow(lk.source)).filter((c) => c !== lkKey);
          plan.push({ table, on: lk.on, columns: wanted.map((c) => [c, `${lk.prefix}${c}`]) });
        }
      }
      this.plans.set(source, plan);
    }
    for (const { table, on, columns } of plan) {
      const key = row[on];
      const hit = key === null || key === undefined ? undefined : table.get(String(key));
      for (const [c, name] of columns) row[name] = hit?.[c] ?? null;
    }
  }

  /** A row (or column names) of a lookup. */
  anyRow(source: string): Readonly<Record<string, unknown>> {
    const t = this.tables.get(source);
    if (!t) return {};
    for (const r of t.values()) return r;
    return {};
  }

  /** Every row of a lookup (trigger enrichments search it). */
  rows(source: string): Iterable<Readonly<Record<string, unknown>>> {
    return this.tables.get(source)?.values() ?? [];
  }
}

const kindsOfShape = new WeakMap<SourceShape, { name: string; kind: ReturnType<typeof cellKind> }[]>();

/** A shape's columns with their cell kinds (parsed from the SQL type once per shape). */
function columnKinds(shape: SourceShape): { name: string; kind: ReturnType<typeof cellKind> }[] {
  let kinds = kindsOfShape.get(shape);
  if (!kinds) {
    kinds = shape.columns.map((c) => ({ name: c.name, kind: cellKind(c.type) }));
    kindsOfShape.set(shape, kinds);
  }
  return kinds;
}

/** The event row as the tags and triggers read it: raw cells as evaluator values, with lookup columns. */
export function evaluatorRow(
  shape: SourceShape,
  cells: Readonly<Record<string, Cell>>,
  lookups: Lookups,
): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const c of columnKinds(shape)) row[c.name] = evaluatorValue(cells[c.name] ?? null, c.kind);
  lookups.join(shape.name, row);
  return row;
}

/** Columns of each events source that the tags read (row expressions of their aggregates). */
export function columnsRead(program: TagProgram): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const visit = (source: string, v: unknown): void => {
    if (v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) {
      for (const x of v) visit(source, x);
      return;
    }
    const o = v as Record<string, unknown>;
    if (o.kind === 'column' && typeof o.column === 'string') {
      let set = out.get(source);
      if (!set) {
        set = new Set();
        out.set(source, set);
      }
      set.add(o.column);
    }
    for (const x of Object.values(o)) visit(source, x);
  };
  for (const t of program.tags) for (const a of t.aggregates) visit(a.source, a);
  return out;
}

/** How far back (µs) the aggregates of each source read; Infinity for `ever`. */
export function lookbackBySource(program: TagProgram): Map<string, number> {
  const out = new Map<string, number>();
  const reach = (a: Aggregate) =>
    a.window.kind === 'ever'
      ? Number.POSITIVE_INFINITY
      : (a.window.kind === 'last' ? a.window.seconds : a.window.fromSeconds) * 1e6;
  for (const t of program.tags) {
    for (const a of t.aggregates) out.set(a.source, Math.max(out.get(a.source) ?? 0, reach(a)));
  }
  return out;
}

/** Keep only the columns in `keep` (the entity key and time are always kept). */
export function project(
  row: Readonly<Record<string, unknown>>,
  keep: ReadonlySet<string> | undefined,
): Record<string, unknown> {
  if (!keep) return { ...row };
  const out: Record<string, unknown> = {};
  for (const c of keep) out[c] = row[c] ?? null;
  return out;
}

function itemOf(vector: DuckDBVector, i: number): unknown {
  const v = vector.getItem(i);
  return typeof v === 'bigint' ? Number(v) : v;
}

export interface LoadedEvents {
  readonly events: number;
  /** Newest event time loaded (µs), or -Infinity. */
  readonly maxTime: number;
  readonly entities: ReadonlySet<EntityId>;
}

/**
 * Stream every events source's rows from `fromMicros` on (per source: the newest event minus its
 * lookback and `retainMicros`) into the engine, in (time, file, row) order; then the profiles.
 */
export async function loadEngineState(
  wh: Warehouse,
  config: ProjectConfig,
  program: TagProgram,
  engine: {
    add(ev: IncomingEvent): unknown;
    setProfiles(source: string, rows: readonly Readonly<Record<string, unknown>>[]): void;
  },
  asOfMicros: number,
  opts: {
    retainMicros?: number;
    entityOf: (key: unknown) => EntityId;
    onProgress?: (events: number) => void;
  },
): Promise<LoadedEvents> {
  const retain = opts.retainMicros ?? 7 * DAY_US;
  const needed = columnsRead(program);
  const lookback = lookbackBySource(program);
  let total = 0;
  let maxTime = Number.NEGATIVE_INFINITY;
  const entities = new Set<EntityId>();
  for (const source of program.eventSources) {
    const src = config.sources.get(source) as EventsSource | undefined;
    const viewColumns = await wh.columns('main', source);
    if (!src || viewColumns.length === 0) continue;
    const key = program.entityKeys[source]!;
    const time = program.timeColumns[source]!;
    const types = new Map(viewColumns.map((c) => [c.name, c.type]));
    const cols = [...(needed.get(source) ?? [])].filter((c) => c !== key && c !== time && types.has(c));
    const exprs = cols.map((c) => evaluatorSql(c, types.get(c)!) ?? 'NULL');
    const reach = lookback.get(source) ?? 0;
    const where = Number.isFinite(reach)
      ? `WHERE ${ident(time)} > make_timestamptz(${Math.floor(asOfMicros - reach - retain)})`
      : '';
    const result = await wh.connection.stream(
      `SELECT ${ident(key)}, CAST(epoch_us(${ident(time)}) AS DOUBLE), "_file_id", "_row"${exprs.map((e) => `, ${e}`).join('')}
       FROM ${qualified('main', source)} ${where} ORDER BY ${ident(time)}, "_file_id", "_row"`,
    );
    const interners = cols.map(() => new Interner());
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      const n = chunk.rowCount;
      const vectors = Array.from({ length: 4 + cols.length }, (_, i) => chunk.getColumnVector(i));
      for (let i = 0; i < n; i++) {
        const k = itemOf(vectors[0]!, i);
        const t = itemOf(vectors[1]!, i) as number | null;
        if (k === null || t === null) continue;
        const entity = opts.entityOf(k);
        const data: Record<string, unknown> = { [key]: entity, [time]: t };
        for (let c = 0; c < cols.length; c++) {
          const v = itemOf(vectors[4 + c]!, i);
          data[cols[c]!] = typeof v === 'string' ? interners[c]!.get(v) : v;
        }
        engine.add({
          source,
          entity,
          time: t,
          fileId: itemOf(vectors[2]!, i) as number,
          row: itemOf(vectors[3]!, i) as number,
          data,
        });
        entities.add(entity);
        if (t > maxTime) maxTime = t;
        total++;
      }
      opts.onProgress?.(total);
    }
  }
  for (const source of program.profiles) {
    const viewColumns = await wh.columns('main', source);
    if (viewColumns.length === 0) continue;
    const key = program.entityKeys[source]!;
    const select = viewColumns.flatMap((c) => {
      if (c.name === key) return [ident(c.name)];
      const sql = evaluatorSql(c.name, c.type);
      return sql && !(PROVENANCE_COLUMNS as readonly string[]).includes(c.name)
        ? [`${sql} AS ${ident(c.name)}`]
        : [];
    });
    const rows = await wh.objects(`SELECT ${select.join(', ')} FROM ${qualified('main', source)}`);
    for (const r of rows) r[key] = opts.entityOf(r[key]);
    engine.setProfiles(source, rows);
  }
  return { events: total, maxTime, entities };
}
