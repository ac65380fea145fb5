/**
 * A build plan: the few set-based statements that compute a set of tags as of a time T.
 *
 * 1. One grouped scan per events source computing every plain aggregate of every tag on that source
 *    (conditional aggregation, one FILTER/-If per aggregate): the cost grows with sources, not tags.
 * 2. One query per dedicated aggregate: a grouped query per top/argmax aggregate (rank values per
 *    entity), and one per affinity, recurrence and shift aggregate, built by the dialect (statement
 *    kind `top` for all of them).
 * 3. The entity universe: every entity with an event at or before T or a profile row.
 * 4. Assembly: entities LEFT JOIN aggregates and profiles, then tag expressions layer by layer in
 *    dependency order (a tag's layer is one more than the deepest tag it reads).
 *
 * Only events with time <= T are read; windows are bounds relative to T, written as literal instants.
 */
import {
  type Aggregate,
  type Expr,
  forEachNode,
  RECURRENCE_FIELDS,
  SHIFT_FIELDS,
  type TagIR,
  type TagName,
  type TagProgram,
  type ValueType,
  type Window,
} from '../lang/ir.js';
import type { AggregateSql, Dialect, JoinSelect } from './dialect.js';
import { compileExpr, type Resolver } from './expression.js';

export const ENTITY = '_tv_entity';
const EVENT_ALIAS = 'e';

export interface PlanStatement {
  readonly name: string;
  readonly kind: 'aggregates' | 'top' | 'entities' | 'assemble';
  /** Temp table the statement creates. */
  readonly table: string;
  /** The SELECT the table is made of. */
  readonly select: string;
}

export interface BuildPlan {
  readonly asOfMicros: number;
  readonly tags: readonly TagIR[];
  readonly statements: readonly PlanStatement[];
  /** Table holding one row per entity: `_tv_entity` and one column per tag. */
  readonly output: string;
}

export interface PlanOptions {
  readonly dialect: Dialect;
  /** Schema-qualified SQL name of a source's view. */
  readonly sourceTable: (source: string) => string;
  /** Entity id SQL type. */
  readonly entityType: string;
  /** Prefix of the temp tables (lets several plans coexist). */
  readonly prefix?: string;
  /**
   * SQL name of a source holding every entity, when `sourceTable` holds only some (a shard's local
   * table): affinity populations read it. Default: `sourceTable`.
   */
  readonly populationTable?: (source: string) => string;
  /** Restrict to one entity (SQL literal of its id): what `explain` and profile lookups use. */
  readonly entity?: string;
  /** Also output every aggregate column (`_tv_<id>`), for explanations. */
  readonly keepAggregates?: boolean;
}

/** The tags named plus every tag they depend on, in program (dependency) order. */
export function closure(program: TagProgram, names?: readonly string[]): TagIR[] {
  if (!names || names.length === 0) return [...program.tags];
  const byName = new Map(program.tags.map((t) => [t.name as string, t]));
  const companions = new Map<string, string[]>();
  for (const t of program.tags) {
    if (t.companionOf) companions.set(t.companionOf, [...(companions.get(t.companionOf) ?? []), t.name]);
  }
  const wanted = new Set<string>();
  // A tag comes with what it reads and with its companion outputs (a cycle with its next due date):
  // they are one definition and must not drift apart.
  const add = (n: string) => {
    if (wanted.has(n)) return;
    const t = byName.get(n);
    if (!t) return;
    wanted.add(n);
    for (const d of t.dependsOn) add(d);
    if (t.companionOf) add(t.companionOf);
    for (const c of companions.get(n) ?? []) add(c);
  };
  for (const n of names) add(n);
  return program.tags.filter((t) => wanted.has(t.name));
}

export const aggColumn = (id: string, field?: string) =>
  field === undefined ? `_tv_${id}` : `_tv_${id}__${field}`;

/** Aggregates computed by a query of their own rather than in the shared scan. */
const DEDICATED = new Set<Aggregate['fn']>(['top', 'argmax', 'affinity', 'recurrence', 'shift']);

/** The output fields of a multi-output aggregate (recurrence, shift); none for the others. */
export function multiOutputFields(a: Aggregate): string[] {
  if (a.fn === 'recurrence') return Object.keys(RECURRENCE_FIELDS);
  if (a.fn === 'shift') return Object.keys(SHIFT_FIELDS);
  return [];
}
const profileColumn = (source: string, column: string) => `_tv_p__${source}__${column}`;

function windowCondition(w: Window, time: string, asOf: number, d: Dialect): string | undefined {
  switch (w.kind) {
    case 'ever':
      return undefined;
    case 'last':
      return `${time} > ${d.instant(asOf - w.seconds * 1e6)}`;
    case 'between':
      return `${time} > ${d.instant(asOf - w.fromSeconds * 1e6)} AND ${time} <= ${d.instant(asOf - w.toSeconds * 1e6)}`;
  }
}

/** Earliest instant any of the windows can reach (undefined when one of them is `ever`). */
function earliest(windows: readonly Window[], asOf: number): number | undefined {
  let min = asOf;
  for (const w of windows) {
    if (w.kind === 'ever') return undefined;
    min = Math.min(min, asOf - (w.kind === 'last' ? w.seconds : w.fromSeconds) * 1e6);
  }
  return min;
}

function profilesIn(e: Expr | undefined, out: Set<string>): void {
  forEachNode(e, (x) => {
    if (x.kind === 'profile') out.add(x.source);
  });
}

function profileColumnsIn(e: Expr, out: Map<string, { source: string; column: string }>): void {
  forEachNode(e, (x) => {
    if (x.kind === 'profile')
      out.set(profileColumn(x.source, x.column), { source: x.source, column: x.column });
  });
}

/** Plan the computation of `tags` (already closed over dependencies) as of `asOfMicros`. */
export function planBuild(
  program: TagProgram,
  tags: readonly TagIR[],
  asOfMicros: number,
  opts: PlanOptions,
): BuildPlan {
  const d = opts.dialect;
  const q = d.ident;
  const prefix = opts.prefix ?? '_tv_';
  const asOf = d.instant(asOfMicros);
  const statements: PlanStatement[] = [];

  // All distinct aggregates, grouped by source.
  const aggs = new Map<string, Aggregate>();
  for (const t of tags) for (const a of t.aggregates) aggs.set(a.id, a);
  const bySource = new Map<string, Aggregate[]>();
  for (const a of aggs.values()) bySource.set(a.source, [...(bySource.get(a.source) ?? []), a]);

  const rowResolver = (profileAlias: (s: string) => string): Resolver => ({
    column: (_s, col) => `${EVENT_ALIAS}.${q(col)}`,
    profile: (s, col) => `${profileAlias(s)}.${q(col)}`,
    tag: () => {
      throw new Error('tags are not readable in row context');
    },
    agg: () => {
      throw new Error('aggregates are not readable in row context');
    },
    asOf: () => asOf,
  });

  const aggTables: { table: string; ids: string[] }[] = [];
  for (const [source, list] of [...bySource.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const key = program.entityKeys[source]!;
    const timeCol = program.timeColumns[source]!;
    const time = `${EVENT_ALIAS}.${q(timeCol)}`;
    const profiles = new Set<string>();
    for (const a of list) {
      profilesIn(a.arg, profiles);
      profilesIn(a.filter, profiles);
      profilesIn(a.by?.arg, profiles);
    }
    const pAlias = (s: string) => q(`p_${s}`);
    const joins = [...profiles]
      .sort()
      .map(
        (s) =>
          `LEFT JOIN ${opts.sourceTable(s)} AS ${pAlias(s)} ON ${pAlias(s)}.${q(program.entityKeys[s]!)} = ${EVENT_ALIAS}.${q(key)}`,
      )
      .join(' ');
    const r = rowResolver(pAlias);
    const rowSql = (x: Expr) => compileExpr(x, d, r, program.timezone);
    const conditionOf = (a: Aggregate) => {
      const parts = [
        windowCondition(a.window, time, asOfMicros, d),
        a.filter ? rowSql(a.filter) : undefined,
      ].filter((x): x is string => x !== undefined);
      return parts.length === 0 ? undefined : parts.join(' AND ');
    };
    const from = earliest(
      list.map((a) => a.window),
      asOfMicros,
    );
    const where = [
      `${time} <= ${asOf}`,
      ...(from !== undefined ? [`${time} > ${d.instant(from)}`] : []),
      ...(opts.entity !== undefined ? [`${EVENT_ALIAS}.${q(key)} = ${opts.entity}`] : []),
    ].join(' AND ');
    const plain = list.filter((a) => !DEDICATED.has(a.fn));
    if (plain.length > 0) {
      const table = `${prefix}agg_${source}`;
      // Each distinct row expression (a filter, an argument) is computed once per row in an inner
      // projection, however many aggregates share it: calendar functions are not cheap.
      const computed = new Map<string, string>();
      const X = 'x';
      const shared = (sqlText: string) => {
        let name = computed.get(sqlText);
        if (name === undefined) {
          name = `_x${computed.size}`;
          computed.set(sqlText, name);
        }
        return `${X}.${q(name)}`;
      };
      const xTime = `${X}."_t"`;
      const cols = plain.map((a) => {
        const parts = [
          windowCondition(a.window, xTime, asOfMicros, d),
          a.filter ? shared(rowSql(a.filter)) : undefined,
        ].filter((c): c is string => c !== undefined);
        const sql = d.aggregate({
          fn: a.fn as AggregateSql['fn'],
          ...(a.arg ? { arg: shared(rowSql(a.arg)), argType: a.arg.type } : {}),
          ...(parts.length > 0 ? { condition: parts.join(' AND ') } : {}),
          time: xTime,
          order: [`${X}."_f"`, `${X}."_r"`],
        });
        return `${sql} AS ${q(aggColumn(a.id))}`;
      });
      const projection = [
        `${EVENT_ALIAS}.${q(key)} AS "_k"`,
        `${time} AS "_t"`,
        `${EVENT_ALIAS}."_file_id" AS "_f"`,
        `${EVENT_ALIAS}."_row" AS "_r"`,
        ...[...computed].map(([sqlText, name]) => `${sqlText} AS ${q(name)}`),
      ];
      const inner = `SELECT ${projection.join(', ')} FROM ${opts.sourceTable(source)} AS ${EVENT_ALIAS} ${joins} WHERE ${where}`;
      statements.push({
        name: `aggregates of ${source} (${plain.length})`,
        kind: 'aggregates',
        table,
        select: `SELECT ${X}."_k" AS ${q(ENTITY)}, ${cols.join(', ')} FROM (${inner}) AS ${X} GROUP BY ${X}."_k"`,
      });
      aggTables.push({ table, ids: plain.map((a) => a.id) });
    }
    for (const a of list.filter((x) => x.fn === 'top' || x.fn === 'argmax')) {
      const table = `${prefix}top_${a.id}`;
      const condition = conditionOf(a);
      const dim = rowSql(a.arg!);
      const measure = d.rankMeasure(
        a.by ?? { fn: 'count' },
        a.by?.arg ? rowSql(a.by.arg) : undefined,
        time,
        program.timezone,
      );
      const innerWhere = [where, ...(condition ? [condition] : []), `${dim} IS NOT NULL`].join(' AND ');
      const inner = `SELECT ${EVENT_ALIAS}.${q(key)} AS ${q(ENTITY)}, ${dim} AS "v", ${measure} AS "s" FROM ${opts.sourceTable(source)} AS ${EVENT_ALIAS} ${joins} WHERE ${innerWhere} GROUP BY ${EVENT_ALIAS}.${q(key)}, ${dim}`;
      statements.push({
        name: `${a.fn} of ${source}`,
        kind: 'top',
        table,
        select: `SELECT ${q(ENTITY)}, ${d.topList('"v"', '"s"', a.fn === 'top' ? a.k : undefined)} AS ${q(aggColumn(a.id))} FROM (${inner}) AS ranked GROUP BY ${q(ENTITY)}`,
      });
      aggTables.push({ table, ids: [a.id] });
    }
    // Affinity, recurrence and shift: one query each, through the dialect (their shape differs per engine).
    for (const a of list.filter((x) => x.fn === 'affinity' || x.fn === 'recurrence' || x.fn === 'shift')) {
      const condition = conditionOf(a);
      const base = {
        from: `${opts.sourceTable(source)} AS ${EVENT_ALIAS} ${joins}`,
        entity: `${EVENT_ALIAS}.${q(key)}`,
        time,
        // The population of an affinity is every entity, so the entity filter is applied after it.
        where: [`${time} <= ${asOf}`, ...(condition ? [condition] : [])].join(' AND '),
        asOf,
        timezone: program.timezone,
        ...(opts.entity !== undefined ? { only: opts.entity } : {}),
        ...(opts.populationTable
          ? { populationFrom: `${opts.populationTable(source)} AS ${EVENT_ALIAS} ${joins}` }
          : {}),
      };
      const fields = multiOutputFields(a);
      const columns = Object.fromEntries(fields.map((f) => [f, aggColumn(a.id, f)]));
      const select =
        a.fn === 'affinity'
          ? d.affinitySelect({
              ...base,
              dim: rowSql(a.arg!),
              measure: a.affinity!.measure,
              ...(a.affinity!.measure.arg ? { measureArg: rowSql(a.affinity!.measure.arg) } : {}),
              params: a.affinity!,
              column: aggColumn(a.id),
            })
          : a.fn === 'recurrence'
            ? d.recurrenceSelect({
                ...base,
                ...(a.arg ? { dim: rowSql(a.arg) } : {}),
                params: a.recurrence!,
                columns,
              })
            : d.shiftSelect({
                ...base,
                dim: rowSql(a.arg!),
                params: a.shift!,
                baseline: windowCondition(a.shift!.baseline, time, asOfMicros, d) ?? 'TRUE',
                detection: windowCondition(a.shift!.detection, time, asOfMicros, d) ?? 'TRUE',
                columns,
              });
      const table = `${prefix}${a.fn}_${a.id}`;
      statements.push({ name: `${a.fn} of ${source}`, kind: 'top', table, select });
      aggTables.push({ table, ids: [a.id] });
    }
  }

  // Entity universe.
  const universe: string[] = [];
  for (const s of program.eventSources) {
    const key = program.entityKeys[s]!;
    const time = program.timeColumns[s]!;
    const only = opts.entity !== undefined ? ` AND ${q(key)} = ${opts.entity}` : '';
    universe.push(
      `SELECT ${q(key)} AS ${q(ENTITY)} FROM ${opts.sourceTable(s)} WHERE ${q(time)} <= ${asOf}${only}`,
    );
  }
  for (const s of program.profiles) {
    const key = q(program.entityKeys[s]!);
    const only = opts.entity !== undefined ? ` WHERE ${key} = ${opts.entity}` : '';
    universe.push(`SELECT ${key} AS ${q(ENTITY)} FROM ${opts.sourceTable(s)}${only}`);
  }
  const entities = `${prefix}entities`;
  statements.push({
    name: 'entities',
    kind: 'entities',
    table: entities,
    select: `SELECT DISTINCT ${q(ENTITY)} FROM (${universe.join(' UNION ALL ')}) AS u WHERE ${q(ENTITY)} IS NOT NULL`,
  });

  // Assembly: layer 0 = entity + aggregate + profile columns; then tags by dependency depth.
  const profileCols = new Map<string, { source: string; column: string }>();
  for (const t of tags) profileColumnsIn(t.value, profileCols);
  const layer0: JoinSelect['columns'][number][] = [{ alias: 'ent', column: ENTITY }];
  const joins: JoinSelect['joins'][number][] = [];
  aggTables.forEach((t, i) => {
    const alias = `g${i}`;
    joins.push({ table: t.table, alias, key: ENTITY });
    for (const id of t.ids) {
      const a = aggs.get(id)!;
      const fields = multiOutputFields(a);
      const types: Record<string, ValueType> = a.fn === 'recurrence' ? RECURRENCE_FIELDS : SHIFT_FIELDS;
      if (fields.length === 0) layer0.push({ alias, column: aggColumn(id), type: a.type });
      else for (const f of fields) layer0.push({ alias, column: aggColumn(id, f), type: types[f]! });
    }
  });
  const profileSources = [...new Set([...profileCols.values()].map((p) => p.source))].sort();
  for (const s of profileSources) {
    joins.push({ table: opts.sourceTable(s), alias: q(`p_${s}`), key: program.entityKeys[s]! });
  }
  for (const [col, p] of profileCols) layer0.push({ alias: q(`p_${p.source}`), column: p.column, as: col });

  // What an aggregate is for an entity without rows (absent from its table): see aggregates.ts.
  const zeroWhenEmpty = new Map<string, string>();
  for (const a of aggs.values()) {
    if (a.fn === 'count' || a.fn === 'distinct_count') zeroWhenEmpty.set(a.id, '0.0');
    else if (a.fn === 'sum') zeroWhenEmpty.set(a.id, '0.0');
    else if (a.fn === 'top' || a.fn === 'affinity') zeroWhenEmpty.set(a.id, d.emptyList());
    else if (a.fn === 'recurrence') {
      zeroWhenEmpty.set(`${a.id}.regular`, d.boolean(false));
      zeroWhenEmpty.set(`${a.id}.overdue`, d.boolean(false));
      zeroWhenEmpty.set(`${a.id}.cycles`, '0.0');
    } else if (a.fn === 'shift') zeroWhenEmpty.set(`${a.id}.changed`, d.boolean(false));
  }
  const entityResolver: Resolver = {
    column: () => {
      throw new Error('event columns are not readable in entity context');
    },
    profile: (s, c) => q(profileColumn(s, c)),
    tag: (n) => q(n),
    agg: (id, field) => {
      const zero = zeroWhenEmpty.get(field === undefined ? id : `${id}.${field}`);
      const col = q(aggColumn(id, field));
      const a = aggs.get(id)!;
      const typed = a.fn === 'count' || a.fn === 'distinct_count' ? d.toDouble(col) : col;
      return zero ? `COALESCE(${typed}, ${zero})` : typed;
    },
    asOf: () => asOf,
  };
  const level = new Map<TagName, number>();
  for (const t of tags) level.set(t.name, 1 + Math.max(0, ...t.dependsOn.map((x) => level.get(x) ?? 0)));
  const maxLevel = Math.max(0, ...level.values());
  // Each layer is its own table: nested in one query, an optimizer that merges projections would
  // inline every tag into the tags that read it, and chains of derived tags grow exponentially.
  let layer = `${prefix}layer0`;
  statements.push({
    name: 'join aggregates and profiles',
    kind: 'assemble',
    table: layer,
    select: d.leftJoinSelect({
      base: { table: entities, alias: 'ent', key: ENTITY },
      joins,
      columns: layer0,
    }),
  });
  for (let l = 1; l <= maxLevel; l++) {
    const cols = tags
      .filter((t) => level.get(t.name) === l)
      .map((t) => {
        const v = compileExpr(t.value, d, entityResolver, program.timezone);
        const typed = t.value.type === 'null' ? 'NULL' : t.value.type === 'number' ? d.toDouble(v) : v;
        return `${typed} AS ${q(t.name)}`;
      });
    const next = `${prefix}layer${l}`;
    statements.push({
      name: `tags of layer ${l} (${cols.length})`,
      kind: 'assemble',
      table: next,
      select: `SELECT *, ${cols.join(', ')} FROM ${layer}`,
    });
    layer = next;
  }
  const output = `${prefix}values`;
  statements.push({
    name: 'assemble tag values',
    kind: 'assemble',
    table: output,
    select: `SELECT ${q(ENTITY)}, ${[
      ...tags.map((t) => q(t.name)),
      ...(opts.keepAggregates
        ? [...aggs.values()].flatMap((a) => {
            const fields = multiOutputFields(a);
            return fields.length === 0
              ? [`${entityResolver.agg(a.id)} AS ${q(aggColumn(a.id))}`]
              : fields.map((f) => `${entityResolver.agg(a.id, f)} AS ${q(aggColumn(a.id, f))}`);
          })
        : []),
    ].join(', ')} FROM ${layer}`,
  });
  return { asOfMicros, tags, statements, output };
}

export interface ContributionOptions extends PlanOptions {
  /** SQL literal of the entity id. */
  readonly entity: string;
  /** Column holding a unique event id, if the source has one. */
  readonly eventIdColumn?: string;
  readonly limit: number;
}

/**
 * The events that made an aggregate's value for one entity, most decisive first: largest values for
 * sum/avg/max and sum-ranked top/argmax, smallest for min, earliest for first/first_time, latest
 * otherwise. Columns: event_id, ts, value.
 */
export function contributionsSql(
  program: TagProgram,
  a: Aggregate,
  asOfMicros: number,
  opts: ContributionOptions,
): string {
  const d = opts.dialect;
  const q = d.ident;
  const key = program.entityKeys[a.source]!;
  const time = `${EVENT_ALIAS}.${q(program.timeColumns[a.source]!)}`;
  const profiles = new Set<string>();
  profilesIn(a.arg, profiles);
  profilesIn(a.filter, profiles);
  profilesIn(a.by?.arg, profiles);
  const pAlias = (s: string) => q(`p_${s}`);
  const joins = [...profiles]
    .sort()
    .map(
      (s) =>
        `LEFT JOIN ${opts.sourceTable(s)} AS ${pAlias(s)} ON ${pAlias(s)}.${q(program.entityKeys[s]!)} = ${EVENT_ALIAS}.${q(key)}`,
    )
    .join(' ');
  const asOf = d.instant(asOfMicros);
  const r: Resolver = {
    column: (_s, col) => `${EVENT_ALIAS}.${q(col)}`,
    profile: (s, col) => `${pAlias(s)}.${q(col)}`,
    tag: () => {
      throw new Error('tags are not readable in row context');
    },
    agg: () => {
      throw new Error('aggregates are not readable in row context');
    },
    asOf: () => asOf,
  };
  const rowSql = (x: Expr) => compileExpr(x, d, r, program.timezone);
  const conds = [
    `${EVENT_ALIAS}.${q(key)} = ${opts.entity}`,
    `${time} <= ${asOf}`,
    windowCondition(a.window, time, asOfMicros, d),
    a.filter ? rowSql(a.filter) : undefined,
    a.arg && (a.fn === 'first' || a.fn === 'last' || a.fn === 'top' || a.fn === 'argmax')
      ? `${rowSql(a.arg)} IS NOT NULL`
      : undefined,
  ].filter((x): x is string => x !== undefined);
  const value =
    a.fn === 'top' || a.fn === 'argmax'
      ? a.by?.arg
        ? rowSql(a.by.arg)
        : 'NULL'
      : a.arg
        ? rowSql(a.arg)
        : 'NULL';
  const label = a.fn === 'top' || a.fn === 'argmax' ? rowSql(a.arg!) : 'NULL';
  const order =
    a.fn === 'sum' ||
    a.fn === 'avg' ||
    a.fn === 'max' ||
    ((a.fn === 'top' || a.fn === 'argmax') && a.by?.fn === 'sum')
      ? `${value} DESC NULLS LAST, ${time} DESC`
      : a.fn === 'min'
        ? `${value} ASC NULLS LAST, ${time} DESC`
        : a.fn === 'first' || a.fn === 'first_time'
          ? `${time} ASC, ${EVENT_ALIAS}."_file_id" ASC, ${EVENT_ALIAS}."_row" ASC`
          : `${time} DESC, ${EVENT_ALIAS}."_file_id" DESC, ${EVENT_ALIAS}."_row" DESC`;
  const id = opts.eventIdColumn
    ? `CAST(${EVENT_ALIAS}.${q(opts.eventIdColumn)} AS VARCHAR)`
    : `CAST(${EVENT_ALIAS}."_file_id" AS VARCHAR) || ':' || CAST(${EVENT_ALIAS}."_row" AS VARCHAR)`;
  return `SELECT ${id} AS event_id, ${time} AS ts, ${value} AS value, ${label} AS label FROM ${opts.sourceTable(a.source)} AS ${EVENT_ALIAS} ${joins} WHERE ${conds.join(' AND ')} ORDER BY ${order} LIMIT ${Math.max(1, Math.floor(opts.limit))}`;
}
