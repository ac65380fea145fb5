/**
 * What the write-ahead log holds: one record per accepted message, with everything decided at
 * acceptance (the resolved entity, the rows and their typed cells, the rejects), so that replaying
 * the log redoes exactly what was acknowledged, whatever the configuration or the aliases are by then.
 *
 * Cells are JSON-safe and typed by the warehouse column they go to: text, numbers (integers and
 * doubles), booleans, times as epoch microseconds, dates as `YYYY-MM-DD`, or null.
 */
import type { RejectKind } from '../ingest/metadata.js';
import { tagverseType } from '../warehouse/types.js';

export type Cell = string | number | boolean | null;

/** A row of an events source. `time` is the event time (µs), also in `row` under the time column. */
export interface RowEffect {
  readonly k: 'row';
  readonly source: string;
  readonly entity: string;
  readonly time: number;
  readonly row: Readonly<Record<string, Cell>>;
}

/** An update of some columns of an entity's profile row (identify traits): absent columns keep their value. */
export interface ProfileEffect {
  readonly k: 'profile';
  readonly source: string;
  readonly entity: string;
  readonly row: Readonly<Record<string, Cell>>;
}

/** `from` (an anonymous or previous id) is the same entity as `to` from now on. */
export interface AliasEffect {
  readonly k: 'alias';
  readonly from: string;
  readonly to: string;
}

/** A message that could not become a row, kept with its reason (like a rejected line of a file). */
export interface RejectEffect {
  readonly k: 'reject';
  readonly source: string;
  readonly kind: RejectKind;
  readonly column: string | null;
  readonly reason: string;
  readonly raw: string;
}

export type Effect = RowEffect | ProfileEffect | AliasEffect | RejectEffect;

/** Where a message came from. */
export type Via = 'http' | 'events' | 'nats';

/** One accepted message as logged. */
export interface LoggedMessage {
  /** Position in the log: increasing, never reused. */
  readonly seq: number;
  /** The messageId (made up when the client sent none; then `dedupe` is false). */
  readonly id: string;
  readonly dedupe: boolean;
  /** When the server received it, epoch ms. */
  readonly at: number;
  readonly via: Via;
  readonly fx: readonly Effect[];
}

/** A warehouse column a cell goes to. */
export interface ColumnShape {
  readonly name: string;
  /** DuckDB type of the raw table column. */
  readonly type: string;
}

export type CellKind = 'string' | 'integer' | 'double' | 'boolean' | 'date' | 'timestamp';

/** How a DuckDB column type is carried in a cell. */
export function cellKind(duckType: string): CellKind {
  const t = tagverseType(duckType);
  if (t === 'other') return 'string';
  if (t.startsWith('decimal')) return 'double';
  return t as CellKind;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * A JSON value as a cell of a column kind: `{ ok: true, value }`, or why it cannot be read.
 * Text takes numbers and booleans as their text; numbers take numeric text; times take ISO 8601 text
 * or epoch milliseconds; dates take `YYYY-MM-DD` (or the date of an ISO time).
 */
export function toCell(
  v: unknown,
  kind: CellKind,
): { ok: true; value: Cell } | { ok: false; reason: string } {
  if (v === undefined || v === null) return { ok: true, value: null };
  const bad = (what: string) => ({
    ok: false as const,
    reason: `cannot read ${JSON.stringify(v)?.slice(0, 80)} as ${what}`,
  });
  switch (kind) {
    case 'string':
      if (typeof v === 'string') return { ok: true, value: v };
      if (typeof v === 'number' || typeof v === 'boolean') return { ok: true, value: String(v) };
      return bad('text');
    case 'double': {
      const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
      return Number.isFinite(n) ? { ok: true, value: n } : bad('a number');
    }
    case 'integer': {
      const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
      return Number.isSafeInteger(n) ? { ok: true, value: n } : bad('an integer');
    }
    case 'boolean':
      if (typeof v === 'boolean') return { ok: true, value: v };
      if (v === 'true' || v === 1 || v === '1') return { ok: true, value: true };
      if (v === 'false' || v === 0 || v === '0') return { ok: true, value: false };
      return bad('a boolean');
    case 'timestamp': {
      const ms = typeof v === 'number' ? v : typeof v === 'string' ? Date.parse(v) : Number.NaN;
      return Number.isFinite(ms) ? { ok: true, value: Math.round(ms * 1000) } : bad('a time (ISO 8601)');
    }
    case 'date': {
      if (typeof v === 'string' && DATE.test(v) && !Number.isNaN(Date.parse(`${v}T00:00:00Z`)))
        return { ok: true, value: v };
      if (typeof v === 'string' && !Number.isNaN(Date.parse(v)))
        return { ok: true, value: new Date(Date.parse(v)).toISOString().slice(0, 10) };
      return bad('a date (YYYY-MM-DD)');
    }
  }
}

/** A cell as the tag evaluators read it: times in µs and numbers as they are, dates as days since 1970. */
export function evaluatorValue(c: Cell, kind: CellKind): unknown {
  if (c === null) return null;
  if (kind === 'date') return Math.round(Date.parse(`${c as string}T00:00:00Z`) / 86_400_000);
  return c;
}
