/**
 * The reference evaluator: tag values for every entity as of a time T, computed from plain rows with
 * plain loops over the same IR the SQL compilers read. Slow and obviously correct; the other engines
 * are tested against it (test/lang/differential.test.ts).
 *
 * Entities: every entity with at least one event at or before T in any events source of the program,
 * plus every entity of every profile source (null keys excluded). Every entity gets every tag.
 */
import type { RefValue } from '../lang/functions.js';
import type { Expr, TagIR, TagProgram } from '../lang/ir.js';
import { aggregateValue, type EventRow } from './aggregate.js';
import { cell, evalExpr, type Scope } from './expression.js';
import {
  type AffinityStats,
  affinityList,
  affinityPopulation,
  affinityStats,
  recurrenceValue,
  shiftValue,
} from './kinds.js';

/** A row as a plain object keyed by column name. */
export type RefRow = Readonly<Record<string, unknown>>;

/**
 * Source rows. Time columns hold epoch microseconds, date columns days since 1970-01-01, numbers
 * JS numbers; event rows also carry `_file_id` and `_row` (the order of first/last after time).
 */
export interface ReferenceData {
  readonly events: Readonly<Record<string, readonly RefRow[]>>;
  readonly profiles: Readonly<Record<string, readonly RefRow[]>>;
}

/** An entity id as it appears in the entity key columns. */
export type EntityKey = string | number;

/** Tag values of one entity, by tag name. */
export type TagValues = Record<string, RefValue>;

function entityKey(row: RefRow, column: string): EntityKey | null {
  const v = cell(row, column);
  return v === null ? null : (v as EntityKey);
}

/**
 * Evaluate `tags` (in dependency order, e.g. `closure(program, names)`) for every entity as of
 * `asOfMicros`.
 * @example
 *   const values = evaluateTags(program, closure(program), data, Date.parse('2025-06-30T00:00:00Z') * 1000);
 *   values.get('c1')?.spend_90d; // 1250.5
 */
export function evaluateTags(
  program: TagProgram,
  tags: readonly TagIR[],
  data: ReferenceData,
  asOfMicros: number,
): Map<EntityKey, TagValues> {
  const tz = program.timezone;

  // Profile rows by entity (the first row wins if a key repeats).
  const profiles = new Map<string, Map<EntityKey, RefRow>>();
  for (const source of program.profiles) {
    const keyColumn = program.entityKeys[source]!;
    const byEntity = new Map<EntityKey, RefRow>();
    for (const row of data.profiles[source] ?? []) {
      const key = entityKey(row, keyColumn);
      if (key !== null && !byEntity.has(key)) byEntity.set(key, row);
    }
    profiles.set(source, byEntity);
  }

  // Events at or before T, by source and entity.
  const events = new Map<string, Map<EntityKey, EventRow[]>>();
  for (const source of program.eventSources) {
    const keyColumn = program.entityKeys[source]!;
    const timeColumn = program.timeColumns[source]!;
    const byEntity = new Map<EntityKey, EventRow[]>();
    for (const row of data.events[source] ?? []) {
      const key = entityKey(row, keyColumn);
      const time = cell(row, timeColumn);
      if (key === null || time === null || (time as number) > asOfMicros) continue;
      const list = byEntity.get(key) ?? [];
      list.push({
        time: time as number,
        fileId: (cell(row, '_file_id') ?? 0) as number,
        row: (cell(row, '_row') ?? 0) as number,
        data: row,
      });
      byEntity.set(key, list);
    }
    events.set(source, byEntity);
  }

  // The entity universe.
  const entities = new Set<EntityKey>();
  for (const byEntity of events.values()) for (const key of byEntity.keys()) entities.add(key);
  for (const byEntity of profiles.values()) for (const key of byEntity.keys()) entities.add(key);

  const rowScopeFor =
    (entity: EntityKey) =>
    (r: EventRow): Scope => ({
      asOfMicros,
      timezone: tz,
      column: (_source, column) => cell(r.data, column),
      profile: (source, column) => cell(profiles.get(source)?.get(entity), column),
      tag: () => {
        throw new Error('tags are not readable in row context');
      },
      agg: () => {
        throw new Error('aggregates are not readable in row context');
      },
    });

  // Affinity compares each entity with the whole population: compute everyone's stats first.
  const affinity = new Map<
    string,
    { stats: Map<EntityKey, AffinityStats>; population: Map<string, number> }
  >();
  for (const tag of tags) {
    for (const a of tag.aggregates) {
      if (a.fn !== 'affinity' || affinity.has(a.id)) continue;
      const stats = new Map<EntityKey, AffinityStats>();
      for (const [entity, rows] of events.get(a.source) ?? []) {
        stats.set(
          entity,
          affinityStats(a, rows, (e, r) => evalExpr(e, rowScopeFor(entity)(r)), asOfMicros, tz),
        );
      }
      affinity.set(a.id, { stats, population: affinityPopulation(stats.values()) });
    }
  }

  const out = new Map<EntityKey, TagValues>();
  for (const entity of entities) {
    const profile = (source: string, column: string) => cell(profiles.get(source)?.get(entity), column);
    const values: TagValues = {};
    const noAggregates = () => {
      throw new Error('aggregates are not readable in row context');
    };
    const rowScope = rowScopeFor(entity);
    void noAggregates;
    const evalRow = (e: Expr, r: EventRow) => evalExpr(e, rowScope(r));
    for (const tag of tags) {
      const aggs = new Map<string, RefValue>();
      const multi = new Map<string, Record<string, RefValue> | null>();
      for (const a of tag.aggregates) {
        const rows = events.get(a.source)?.get(entity) ?? [];
        if (a.fn === 'affinity') {
          const aff = affinity.get(a.id)!;
          const stats = aff.stats.get(entity);
          aggs.set(a.id, stats ? affinityList(a, stats, aff.population) : []);
        } else if (a.fn === 'recurrence') multi.set(a.id, recurrenceValue(a, rows, evalRow, asOfMicros, tz));
        else if (a.fn === 'shift') multi.set(a.id, shiftValue(a, rows, evalRow, asOfMicros));
        else aggs.set(a.id, aggregateValue(a, rows, evalRow, asOfMicros, tz));
      }
      const entityScope: Scope = {
        asOfMicros,
        timezone: tz,
        column: () => {
          throw new Error('event columns are not readable in entity context');
        },
        profile,
        tag: (name) => {
          if (!(name in values)) throw new Error(`tag ${name} is read before it is evaluated`);
          return values[name] ?? null;
        },
        agg: (id, field) => {
          if (field !== undefined) {
            if (!multi.has(id)) throw new Error(`aggregate ${id} is not an aggregate of tag ${tag.name}`);
            const v = multi.get(id);
            // No rows at all: the flags are false and the counts 0, like an empty cycle or shift.
            if (!v)
              return field === 'regular' || field === 'overdue' || field === 'changed'
                ? false
                : field === 'cycles'
                  ? 0
                  : null;
            return v[field] ?? null;
          }
          if (!aggs.has(id)) throw new Error(`aggregate ${id} is not an aggregate of tag ${tag.name}`);
          return aggs.get(id) ?? null;
        },
      };
      values[tag.name] = evalExpr(tag.value, entityScope);
    }
    out.set(entity, values);
  }
  return out;
}
