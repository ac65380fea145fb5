/**
 * One entity's tag values as the reference evaluator reads them: segment expressions (eligibility of
 * recommendations and offers) evaluated for a single entity straight from the store's columns, with
 * the same semantics as segments (null is not true).
 */
import type { ProjectConfig } from '../config/project.js';
import type { RefValue } from '../lang/functions.js';
import type { Expr } from '../lang/ir.js';
import { refValue } from '../online/columns.js';
import type { TagStore } from '../online/store.js';
import { evalExpr, type Scope } from '../reference/expression.js';
import { compileSegment, type SegmentLimits } from '../segments/segment.js';
import { TagverseError } from '../util/problems.js';

export function entityScope(store: TagStore, ordinal: number): Scope {
  const missing = (what: string): never => {
    throw new TagverseError('segment.unsupported', `${what} cannot be read by a segment`);
  };
  return {
    asOfMicros: store.entityAsOf?.[ordinal] ?? store.info.asOfMicros,
    timezone: store.program.timezone,
    column: () => missing('an event column'),
    agg: () => missing('an aggregate'),
    tag: (name) => {
      const col = store.tags.get(name);
      return col ? refValue(col, ordinal) : null;
    },
    profile: (source, column) => {
      const col = store.profiles.get(`${source}.${column}`);
      return col ? refValue(col, ordinal) : null;
    },
  };
}

/**
 * One reusable scope per store whose ordinal moves (entityMatches runs for many offers per decision:
 * no closures per call). Evaluation is synchronous, so one cursor per store is never shared by two
 * evaluations at once.
 */
class EntityCursor implements Scope {
  asOfMicros = 0;
  readonly timezone: string;
  ordinal = 0;
  constructor(private readonly store: TagStore) {
    this.timezone = store.program.timezone;
  }
  at(ordinal: number): this {
    this.ordinal = ordinal;
    const t = this.store.entityAsOf?.[ordinal];
    this.asOfMicros = t === undefined || Number.isNaN(t) ? this.store.info.asOfMicros : t;
    return this;
  }
  column(): never {
    throw new TagverseError('segment.unsupported', 'an event column cannot be read by a segment');
  }
  agg(): never {
    throw new TagverseError('segment.unsupported', 'an aggregate cannot be read by a segment');
  }
  tag(name: string): RefValue {
    const col = this.store.tags.get(name);
    return col ? refValue(col, this.ordinal) : null;
  }
  profile(source: string, column: string): RefValue {
    const col = this.store.profiles.get(`${source}.${column}`);
    return col ? refValue(col, this.ordinal) : null;
  }
}
const cursors = new WeakMap<TagStore, EntityCursor>();

/** Checked expressions per store (a reload brings a new store, so its tags are checked again). */
const compiled = new WeakMap<TagStore, Map<string, Expr>>();

/** Is the segment expression true for this entity? (Compiled once per store and text.) */
export function entityMatches(
  config: ProjectConfig,
  store: TagStore,
  ordinal: number,
  text: string,
  limits?: SegmentLimits,
): boolean {
  let byText = compiled.get(store);
  if (!byText) {
    byText = new Map();
    compiled.set(store, byText);
  }
  let expr = byText.get(text);
  if (!expr) {
    expr = compileSegment(config, store, text, limits);
    byText.set(text, expr);
  }
  let cursor = cursors.get(store);
  if (!cursor) {
    cursor = new EntityCursor(store);
    cursors.set(store, cursor);
  }
  // An entity real time has not evaluated (NaN or no entry) reads the build's as-of time.
  return evalExpr(expr, cursor.at(ordinal)) === true;
}
