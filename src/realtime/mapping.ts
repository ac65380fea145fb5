/**
 * Segment calls -> effects on sources, as `realtime.segment` in tagverse.yaml says:
 *
 * - `track`, `page`, `screen`, `group`: the first rule whose `events` name the call (the event name,
 *   or the page/screen name) makes a row of its events source. The entity key is the caller's entity
 *   (below), the timestamp column the corrected event time, the event id column the messageId; every
 *   other column reads the path the rule gives, else `properties.<column>` (`traits.<column>` for group).
 * - `identify`: the traits given update those columns of the entity's profile row; an anonymousId sent
 *   along is linked to the userId.
 * - `alias`: previousId is linked to userId.
 *
 * The entity of a call: its userId, else its anonymousId (or the call is ignored, with
 * `anonymous: ignore`), each followed through the links made by alias and identify. Links count from
 * the moment they are made: earlier rows keep the id they arrived with.
 *
 * A value that does not fit its column's type rejects the row with the reason (tagverse.rejects), the
 * way file ingest rejects a line; the message is still accepted.
 */
import type { ProjectConfig, SegmentEventRule } from '../config/project.js';
import { TagverseError } from '../util/problems.js';
import {
  type Cell,
  type CellKind,
  type ColumnShape,
  cellKind,
  type Effect,
  type RejectEffect,
  toCell,
} from './records.js';
import { atPath, type SegmentMessage } from './segment-message.js';

/** The columns of a source's raw table, and the columns that play a role. */
export interface SourceShape {
  readonly name: string;
  readonly kind: 'events' | 'profile';
  readonly columns: readonly ColumnShape[];
  readonly entityKey: string;
  readonly timeColumn?: string;
  readonly eventId?: string;
}

interface CompiledColumn {
  readonly name: string;
  readonly kind: CellKind;
  /** The path read, or the role that fills it. */
  readonly from: readonly string[] | 'entity' | 'time' | 'message_id';
}

interface CompiledRule {
  readonly events?: ReadonlySet<string>;
  readonly source: string;
  readonly columns: readonly CompiledColumn[];
}

/** Who an id belongs to now (alias and identify links, followed to the end). */
export interface IdentityResolver {
  resolve(id: string): string;
}

function compileRule(
  rule: SegmentEventRule,
  shape: SourceShape,
  defaultRoot: 'properties' | 'traits',
  where: string,
): CompiledRule {
  const names = new Set(shape.columns.map((c) => c.name));
  for (const col of Object.keys(rule.columns)) {
    if (!names.has(col)) {
      throw new TagverseError(
        'realtime.bad_mapping',
        `${where}: source '${shape.name}' has no column '${col}' (columns: ${[...names].join(', ')})`,
      );
    }
  }
  const columns = shape.columns.map((c): CompiledColumn => {
    const kind = cellKind(c.type);
    const path = rule.columns[c.name];
    if (path !== undefined) return { name: c.name, kind, from: path.split('.') };
    if (c.name === shape.entityKey) return { name: c.name, kind, from: 'entity' };
    if (c.name === shape.timeColumn) return { name: c.name, kind, from: 'time' };
    if (c.name === shape.eventId) return { name: c.name, kind, from: 'message_id' };
    return { name: c.name, kind, from: [defaultRoot, c.name] };
  });
  return {
    ...(rule.events ? { events: new Set(rule.events) } : {}),
    source: shape.name,
    columns,
  };
}

export class SegmentMapper {
  private readonly rules: Record<'track' | 'page' | 'screen' | 'group', CompiledRule[]>;
  private readonly identify?: CompiledRule;
  private readonly anonymous: 'entity' | 'ignore';
  private readonly integerIds: boolean;

  constructor(
    config: ProjectConfig,
    readonly shapes: ReadonlyMap<string, SourceShape>,
  ) {
    const seg = config.realtime.segment;
    const shapeOf = (source: string, where: string): SourceShape => {
      const s = shapes.get(source);
      if (!s) {
        throw new TagverseError(
          'realtime.bad_mapping',
          `${where}: source '${source}' has no columns yet (ingest it once, or declare its columns in tagverse.yaml)`,
        );
      }
      return s;
    };
    const compile = (call: 'track' | 'page' | 'screen' | 'group') =>
      seg[call].map((r, i) =>
        compileRule(
          r,
          shapeOf(r.source, `realtime.segment.${call}[${i}]`),
          call === 'group' ? 'traits' : 'properties',
          `realtime.segment.${call}[${i}]`,
        ),
      );
    this.rules = {
      track: compile('track'),
      page: compile('page'),
      screen: compile('screen'),
      group: compile('group'),
    };
    if (seg.identify) {
      this.identify = compileRule(
        { source: seg.identify.source, columns: seg.identify.columns },
        shapeOf(seg.identify.source, 'realtime.segment.identify'),
        'traits',
        'realtime.segment.identify',
      );
    }
    this.anonymous = seg.anonymous;
    this.integerIds = config.entity.idType === 'integer';
  }

  /** The effects of one checked message (nothing when no rule takes it). */
  effects(m: SegmentMessage, ids: IdentityResolver): Effect[] {
    const raw = m.raw;
    const fx: Effect[] = [];
    if (m.type === 'alias') {
      const from = String(raw.previousId);
      const to = ids.resolve(m.userId!);
      if (from !== to) fx.push({ k: 'alias', from, to });
      return fx;
    }
    if (m.type === 'identify' && m.userId !== undefined && m.anonymousId !== undefined) {
      const to = ids.resolve(m.userId);
      if (m.anonymousId !== to && ids.resolve(m.anonymousId) !== to)
        fx.push({ k: 'alias', from: m.anonymousId, to });
    }
    const entity = this.entityOf(m, ids);
    if (entity === undefined) return fx;
    if (m.type === 'identify') {
      if (!this.identify) return fx;
      const r = this.cells(this.identify, m, entity, true);
      fx.push('reject' in r ? r.reject : { k: 'profile', source: this.identify.source, entity, row: r.row });
      return fx;
    }
    const name =
      m.type === 'track'
        ? String(raw.event)
        : m.type === 'group'
          ? String(raw.groupId)
          : String(raw.name ?? '');
    const rule = this.rules[m.type].find((r) => !r.events || r.events.has(name));
    if (!rule) return fx;
    const r = this.cells(rule, m, entity, false);
    fx.push('reject' in r ? r.reject : { k: 'row', source: rule.source, entity, time: m.time, row: r.row });
    return fx;
  }

  /** A row already shaped as the source's columns (POST /v1/events), checked and typed the same way. */
  nativeRow(
    source: string,
    input: Readonly<Record<string, unknown>>,
    messageId: string | undefined,
  ): { fx: Effect; id?: string } {
    const shape = this.shapes.get(source);
    if (shape?.kind !== 'events') {
      throw new TagverseError('realtime.unknown_source', `'${source}' is not an events source with columns`);
    }
    const row: Record<string, Cell> = {};
    const reject = (column: string | null, kind: RejectEffect['kind'], reason: string): { fx: Effect } => ({
      fx: { k: 'reject', source, kind, column, reason, raw: JSON.stringify(input) },
    });
    const known = new Set(shape.columns.map((c) => c.name));
    for (const key of Object.keys(input)) {
      if (!known.has(key)) return reject(key, 'unreadable_value', `unknown column '${key}' of '${source}'`);
    }
    for (const c of shape.columns) {
      const r = toCell(input[c.name], cellKind(c.type));
      if (!r.ok) return reject(c.name, 'unreadable_value', `column '${c.name}': ${r.reason}`);
      row[c.name] = r.value;
    }
    const entity = row[shape.entityKey];
    if (entity === null || entity === undefined)
      return reject(shape.entityKey, 'missing_key', `the entity key '${shape.entityKey}' is missing`);
    const time = row[shape.timeColumn!];
    if (typeof time !== 'number')
      return reject(shape.timeColumn!, 'bad_timestamp', `the timestamp '${shape.timeColumn}' is missing`);
    const id = shape.eventId !== undefined ? row[shape.eventId] : messageId;
    if (shape.eventId !== undefined && (id === null || id === undefined))
      return reject(shape.eventId, 'missing_event_id', `the event id '${shape.eventId}' is missing`);
    return {
      fx: { k: 'row', source, entity: String(entity), time, row },
      ...(id !== null && id !== undefined ? { id: String(id) } : {}),
    };
  }

  private entityOf(m: SegmentMessage, ids: IdentityResolver): string | undefined {
    if (m.userId !== undefined) return ids.resolve(m.userId);
    const anon = ids.resolve(m.anonymousId!);
    if (anon !== m.anonymousId) return anon;
    return this.anonymous === 'entity' ? anon : undefined;
  }

  private cells(
    rule: CompiledRule,
    m: SegmentMessage,
    entity: string,
    partial: boolean,
  ): { row: Record<string, Cell> } | { reject: RejectEffect } {
    const row: Record<string, Cell> = {};
    const fail = (column: string | null, kind: RejectEffect['kind'], reason: string) => ({
      reject: {
        k: 'reject' as const,
        source: rule.source,
        kind,
        column,
        reason,
        raw: JSON.stringify(m.raw),
      },
    });
    if (this.integerIds && !/^-?\d+$/.test(entity)) {
      const key = rule.columns.find((c) => c.from === 'entity')?.name ?? null;
      return fail(key, 'missing_key', `the entity id ${JSON.stringify(entity)} is not an integer`);
    }
    for (const c of rule.columns) {
      let v: unknown;
      if (c.from === 'entity') v = this.integerIds ? Number(entity) : entity;
      else if (c.from === 'time') v = m.time / 1000;
      else if (c.from === 'message_id') v = m.messageId;
      else {
        v = atPath(m.raw, c.from);
        if (partial && v === undefined) continue;
      }
      const r = toCell(v, c.kind);
      if (!r.ok) return fail(c.name, 'unreadable_value', `column '${c.name}': ${r.reason}`);
      row[c.name] = r.value;
    }
    return { row };
  }
}
