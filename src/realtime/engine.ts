/**
 * The incremental evaluator: the same tag IR as the SQL compilers and the reference evaluator,
 * evaluated per entity as events arrive.
 *
 * State per entity: for each events source, its events in (time, file, row) order, kept only as far
 * back as the program's longest window needs (aggregates over `ever` keep cumulative state instead);
 * for each aggregate, the range of those events inside its window at the entity's current as-of time.
 * Moving the as-of time forward admits and expires events at the window edges; a new event is added to
 * the ranges it falls in. Counts, sums, averages and shares update in O(1), as do the per-value scores
 * of top/argmax and affinity (count, sum or distinct local days); the other aggregates recompute from
 * their range when read (through the reference evaluator's own functions, so the meaning is the
 * same by construction); derived tags are re-evaluated from compiled closures. Aggregates over `ever`
 * that can be summarised fold the events compaction drops into a summary (isSummarized).
 *
 * The differential tests (test/realtime) check that values equal the batch SQL values at the same
 * as-of time for random streams and for the card pack.
 */
import type { ListItem, RefValue } from '../lang/functions.js';
import {
  type Aggregate,
  type Expr,
  forEachNode,
  type RankMeasure,
  type TagIR,
  type TagProgram,
  type Window,
} from '../lang/ir.js';
import { localDateDays } from '../lang/time.js';
import { aggregateValue, type EventRow, inWindow } from '../reference/aggregate.js';
import { cell } from '../reference/expression.js';
import {
  type AffinityStats,
  affinityItem,
  affinityList,
  affinityPopulation,
  affinityStats,
  type CycleStats,
  type PopulationShares,
  rankTop,
  recurrenceAt,
  recurrenceCycles,
  recurrenceSteadyUntil,
  recurrenceValue,
  shiftResult,
  shiftValue,
} from '../reference/kinds.js';
import { type ClosureEnv, type Compiled, compileClosure } from './closures.js';

export type EntityId = string | number;
export type TagValues = Record<string, RefValue>;

/** An event handed to the engine: its source, entity, time (epoch µs) and columns. */
export interface IncomingEvent {
  readonly source: string;
  readonly entity: EntityId;
  readonly time: number;
  /** Order after time among events with the same time (file id, row); arrival order by default. */
  readonly fileId?: number;
  readonly row?: number;
  readonly data: Readonly<Record<string, unknown>>;
}

/** One buffered event with its row-expression values cached (each evaluated once), by expression slot. */
interface Buffered extends EventRow {
  cache: RefValue[] | undefined;
}

/** A row expression compiled once: its closure, whether it reads as_of (then never cached), its cache slot. */
interface RowExpr {
  readonly f: Compiled;
  readonly readsAsOf: boolean;
  readonly slot: number;
}

const DAY_US = 86_400_000_000;

/** A window's lower bound at as-of T (rows with time > lo are inside); no allocation on the hot path. */
function lowerBound(w: Window, T: number): number {
  switch (w.kind) {
    case 'ever':
      return Number.NEGATIVE_INFINITY;
    case 'last':
      return T - w.seconds * 1e6;
    case 'between':
      return T - w.fromSeconds * 1e6;
  }
}

/** A window's upper bound at as-of T (rows with time <= hi are inside). */
function upperBound(w: Window, T: number): number {
  return w.kind === 'between' ? T - w.toSeconds * 1e6 : T;
}

const NO_AGGREGATES: readonly Aggregate[] = [];
const NO_SLOTS: readonly number[] = [];
const NO_ROWS: readonly Buffered[] = [];

function compareRows(a: EventRow, b: EventRow): number {
  return a.time - b.time || a.fileId - b.fileId || a.row - b.row;
}

/** Aggregates updated in O(1) per event instead of recomputed from their range. */
function isRunning(a: Aggregate): boolean {
  return (
    (a.fn === 'count' || a.fn === 'sum' || a.fn === 'share' || a.fn === 'avg') &&
    !(a.filter && readsAsOf(a.filter)) &&
    !(a.arg && readsAsOf(a.arg))
  );
}

/** How top / argmax rank values, and what affinity measures per value. */
const BY_COUNT: RankMeasure = { fn: 'count' };

function rankMeasureOf(a: Aggregate): RankMeasure {
  // Read for every row entering or leaving a range: no new object for the default measure.
  return a.fn === 'affinity' ? a.affinity!.measure : (a.by ?? BY_COUNT);
}

/**
 * top / argmax, and affinity, with nothing reading as_of: their per-value scores (rows, sum of the
 * measure, or distinct local days) are kept running; a read only sorts or lists the values.
 */
function isRankedRunning(a: Aggregate): boolean {
  if (a.fn !== 'top' && a.fn !== 'argmax' && a.fn !== 'affinity') return false;
  const m = rankMeasureOf(a);
  return !dependsOnT(a) && !(m.arg !== undefined && readsAsOf(m.arg));
}

/** One value of a running ranking: rows with it, its score, and (distinct days) rows per local day. */
interface RankGroup {
  rows: number;
  score: number;
  days: Map<number, number> | undefined;
}

/**
 * Aggregates over `ever` whose rows can be folded into a summary once they leave the buffer: running
 * ones and first/last times. Their source then keeps only what windowed aggregates need, instead of
 * every event since the server started.
 */
function isSummarized(a: Aggregate): boolean {
  return (
    a.window.kind === 'ever' &&
    (isRunning(a) || a.fn === 'first_time' || a.fn === 'last_time') &&
    !(a.filter && readsAsOf(a.filter))
  );
}

/** Running figures of rows: rows passing the filter, non-null args, true args, sum of args; first and last time. */
interface Sums {
  n: number;
  nonNull: number;
  hits: number;
  sum: number;
  first: number | null;
  last: number | null;
}

const noSums = (): Sums => ({ n: 0, nonNull: 0, hits: 0, sum: 0, first: null, last: null });

/** Aggregates whose value depends on T itself, not only on the rows of their window. */
function dependsOnT(a: Aggregate): boolean {
  return (
    a.fn === 'recurrence' ||
    // Its baseline and detection windows move with T inside the aggregate's range.
    a.fn === 'shift' ||
    (a.filter !== undefined && readsAsOf(a.filter)) ||
    (a.arg !== undefined && readsAsOf(a.arg)) ||
    (a.by?.arg !== undefined && readsAsOf(a.by.arg))
  );
}

/** An aggregate's value computed from its range as of `at`, valid while the range stays the same. */
/** One window of a running shift: its range in the buffer and the rows that count, per value. */
interface ShiftWindow {
  readonly w: Window;
  start: number;
  end: number;
  readonly counts: Map<string, number>;
}

/**
 * A shift whose baseline and detection windows do not overlap (each row counts in at most one) and
 * whose filter and dimension do not read as_of: it keeps running counts per value in both windows.
 */
function isShiftRunning(a: Aggregate): boolean {
  if (a.fn !== 'shift') return false;
  if ((a.filter && readsAsOf(a.filter)) || (a.arg && readsAsOf(a.arg))) return false;
  // A window as (T - from, T - to].
  const span = (w: Window): [number, number] =>
    w.kind === 'last'
      ? [w.seconds, 0]
      : w.kind === 'between'
        ? [w.fromSeconds, w.toSeconds]
        : [Number.POSITIVE_INFINITY, 0];
  const [bf, bt] = span(a.shift!.baseline);
  const [df, dt] = span(a.shift!.detection);
  return bt >= df || dt >= bf;
}

/** How an aggregate is kept (see the functions named), the same for every entity. */
interface AggregateKind {
  /** isRunning */
  readonly running: boolean;
  /** dependsOnT, except for a running shift: its windows move with the ranges, its counts with them. */
  readonly readsT: boolean;
  /** isSummarized */
  readonly summarized: boolean;
  /** isRankedRunning */
  readonly rankedRunning: boolean;
  /** Recurrence whose filter and argument do not read as_of: its cycles may be kept. */
  readonly keepsCycles: boolean;
  /** isShiftRunning */
  readonly shiftRunning: boolean;
}

function aggregateKind(a: Aggregate): AggregateKind {
  const shiftRunning = isShiftRunning(a);
  return {
    running: isRunning(a),
    readsT: dependsOnT(a) && !shiftRunning,
    summarized: isSummarized(a),
    rankedRunning: isRankedRunning(a),
    keepsCycles: a.fn === 'recurrence' && !(a.filter && readsAsOf(a.filter)) && !(a.arg && readsAsOf(a.arg)),
    shiftRunning,
  };
}

/**
 * The range of one window of one entity's buffer: rows [start, end) are inside it as of `at`. Shared by
 * every aggregate over that source and window (a card pack has ~120 aggregates over ~10 windows), so a
 * read moves ~10 ranges, and a row entering or leaving touches only the aggregates whose filter it passes.
 */
class WindowRange {
  start = 0;
  end = 0;
  /** As-of time the range was moved to (ranges only move forward). */
  at = Number.NEGATIVE_INFINITY;
}

/** One distinct (source, window) of the program's aggregates, and the aggregates over it (slots). */
interface WindowOf {
  readonly source: string;
  readonly w: Window;
  readonly slots: readonly number[];
}

/** The state of one aggregate for one entity: running sums and what is computed from its window's range. */
class AggState {
  /** Running count of rows passing the filter, of non-null args, of true args; sum of args. */
  n = 0;
  nonNull = 0;
  hits = 0;
  sum = 0;
  /**
   * Summarized aggregates (isSummarized): the rows already dropped from the buffer. The running
   * figures include them, and start from them again when the range is rebuilt.
   */
  readonly base: Sums = noSums();
  /** Running top / argmax (isRankedRunning): score per value of the dimension. */
  readonly groups: Map<RefValue, RankGroup> | undefined;
  /**
   * Value computed from the range (`cachedValue`, as of `cachedAt`), valid until the range changes (or
   * T, for values that read it). Fields rather than an object: set on every recomputation.
   */
  hasCached = false;
  cachedValue: RefValue = null;
  cachedAt = 0;
  /**
   * A value that reads T (readsT) stays cached for reads at as-of times below this, while the range
   * stays the same (recurrence: recurrenceSteadyUntil). Set with the cached value; -Infinity: every new T
   * recomputes.
   */
  steadyUntil = Number.NEGATIVE_INFINITY;
  /**
   * Recurrence: each value's cycle over the range, valid until the range changes; a read at a new T
   * only ranks them again (recurrenceAt). Undefined when the filter or argument reads as_of.
   */
  cycles: CycleStats[] | undefined;
  /** Whether `cycles` may be kept (recurrence whose filter and argument do not read as_of). */
  readonly keepsCycles: boolean;
  /** Running shift (isShiftRunning): the baseline's and the detection's ranges and counts. */
  readonly shift: { readonly b: ShiftWindow; readonly d: ShiftWindow } | undefined;
  /** The value depends on T itself (dependsOnT), beyond what moving ranges account for. */
  readonly readsT: boolean;
  /**
   * The value may differ from the one the entity's tags last read (rows entered or left the range).
   * Set through IncrementalEngine.markChanged, which also lists the slot in EntityState.changedSlots.
   */
  changed = false;

  readonly running: boolean;
  readonly summarized: boolean;

  constructor(
    readonly a: Aggregate,
    /** Its index in IncrementalEngine.aggregates and EntityState.aggs. */
    readonly slot: number,
    /** Its window's index in IncrementalEngine.windows and EntityState.ranges. */
    readonly window: number,
    /** What the aggregate is, worked out once per aggregate (not per entity: it walks expressions). */
    kind: AggregateKind,
  ) {
    this.running = kind.running;
    this.summarized = kind.summarized;
    this.readsT = kind.readsT;
    this.keepsCycles = kind.keepsCycles;
    this.groups = kind.rankedRunning ? new Map() : undefined;
    const subRange = (w: Window): ShiftWindow => ({ w, start: 0, end: 0, counts: new Map() });
    this.shift = kind.shiftRunning
      ? { b: subRange(a.shift!.baseline), d: subRange(a.shift!.detection) }
      : undefined;
  }

  /** Back to no row counted (its window's range is reset with it; see IncrementalEngine.resetWindow). */
  reset(): void {
    this.n = this.base.n;
    this.nonNull = this.base.nonNull;
    this.hits = this.base.hits;
    this.sum = this.base.sum;
    this.groups?.clear();
    this.hasCached = false;
    this.steadyUntil = Number.NEGATIVE_INFINITY;
    this.cycles = undefined;
    if (this.shift) {
      for (const x of [this.shift.b, this.shift.d]) {
        x.start = 0;
        x.end = 0;
        x.counts.clear();
      }
    }
  }
}

/** What a tag's value expression reads (entity context): aggregates, tags, the as-of time. */
interface TagInputs {
  /** Aggregate slots (see IncrementalEngine.slotOf). */
  readonly aggs: readonly number[];
  /** Input tags, by index (IncrementalEngine.tagIndex); -1 for a name not evaluated here (never changes). */
  readonly tags: readonly number[];
  readonly asOf: boolean;
}

class EntityState {
  /** Events by source, sorted. */
  readonly buffers = new Map<string, Buffered[]>();
  /** Aggregate states by slot (all created at the entity's first read). */
  readonly aggs: AggState[] = [];
  /** Window ranges by window index (IncrementalEngine.windows). */
  readonly ranges: WindowRange[] = [];
  /** Slots marked changed since the entity's last evaluation (their AggState.changed is true). */
  readonly changedSlots: number[] = [];
  /** As-of time of the current values. */
  asOf = Number.NEGATIVE_INFINITY;
  /** Whether `base` holds the values as of asOf (nothing changed since they were computed). */
  fresh = false;
  /** `base` as a record by tag name, made when first asked for (see IncrementalEngine.valuesAt). */
  record: TagValues | undefined;
  /**
   * The values last computed (as of asOf), by tag in program order, kept when events arrive: the next
   * read re-evaluates only the tags whose inputs changed since. Undefined after an invalidation (the
   * next read is full). An array, not a record: a card library has ~170 tags, and copying a record
   * that large (V8 keeps it as a dictionary) cost ~40 µs per evaluation.
   */
  base: RefValue[] | undefined;
  /**
   * Tags (indexes into `base`) whose value changed since the last IncrementalEngine.updateAt took
   * them, over however many computations; `all` when the whole values must be sent (first computation,
   * or one after an invalidation).
   */
  readonly unsent = new Set<number>();
  unsentAll = true;
  /** The row-expression reader of this entity's events (see IncrementalEngine.rowEval). */
  reader: ((x: Expr, r: EventRow) => RefValue) | undefined;
  arrivals = 0;
  /** Earliest event time ever added (events may since have left the buffers). */
  firstSeen = Number.POSITIVE_INFINITY;
  /** Reads as of times before this cannot be answered any more (events were dropped). */
  retainedFrom = Number.NEGATIVE_INFINITY;
  constructor(readonly id: EntityId) {}
}

export interface EngineOptions {
  /** Events are kept this long past the longest window, so slightly earlier reads stay exact (default 7 days). */
  readonly retainMicros?: number;
  /**
   * How affinity populations follow changes. `exact` (default): every read at a new as-of time, or
   * after any event, recomputes every entity's contribution at that time — what batch SQL computes,
   * at a cost proportional to all events. `incremental`: an entity's contribution is recomputed when
   * that entity is read, and the population totals are adjusted by the difference; other entities
   * count as of their own last read (`refreshPopulation` recomputes everyone). For a server that
   * reads a few entities per event.
   */
  readonly affinity?: 'exact' | 'incremental';
}

/** One affinity aggregate: every entity's contribution (value -> n, m) and the population from them. */
interface AffinityState {
  readonly a: Aggregate;
  /** The aggregate's slot in each entity's states. */
  readonly slot: number;
  readonly stats: Map<EntityId, AffinityStats>;
  dirty: boolean;
  at: number;
  /** Exact mode: the population shares, recomputed from `stats` when stale. */
  population: Map<string, number>;
  /** Incremental mode: sum of m per value and overall, over the contributions in `stats`. */
  readonly sums: Map<string, number>;
  total: number;
  /**
   * Incremental mode: the shares read from `sums` and `total` as they are now (values whose sum is not
   * positive have none). A view, not a copy: contributions change on nearly every read.
   */
  readonly shares: PopulationShares;
}

/** The environment of row expressions: the event at hand and its entity (set by rowEval). */
class RowEnv implements ClosureEnv {
  row: Buffered | undefined;
  entity: EntityState | undefined;
  constructor(
    private readonly profiles: ReadonlyMap<string, ReadonlyMap<EntityId, Readonly<Record<string, unknown>>>>,
  ) {}
  column(c: string): RefValue {
    return cell(this.row!.data as Record<string, unknown>, c);
  }
  profile(source: string, column: string): RefValue {
    return cell(
      this.profiles.get(source)?.get(this.entity!.id) as Record<string, unknown> | undefined,
      column,
    );
  }
  tag(): RefValue {
    throw new Error('tags are not readable in row context');
  }
  agg(): RefValue {
    throw new Error('aggregates are not readable in row context');
  }
  asOf(): number {
    return this.entity!.asOf;
  }
}

export class IncrementalEngine {
  private readonly entities = new Map<EntityId, EntityState>();
  private readonly profiles = new Map<string, Map<EntityId, Readonly<Record<string, unknown>>>>();
  private readonly aggregates: Aggregate[] = [];
  /** Per aggregate id: how it is kept (aggregateKind). */
  private readonly kindOf = new Map<string, AggregateKind>();
  /** Each aggregate's slot: its index in `aggregates` and in every entity's `aggs`. */
  private readonly slotOf = new Map<string, number>();
  /** The distinct windows of the aggregates (index: window id), and each slot's window. */
  private readonly windows: WindowOf[] = [];
  private readonly windowOfSlot: number[] = [];
  private readonly windowsBySource = new Map<string, number[]>();
  /** Slots whose value reads T itself (AggregateKind.readsT), and running shifts (their own sub-ranges). */
  private readonly readsTSlots: number[] = [];
  private readonly shiftSlots: number[] = [];
  /** 1 for affinity slots (their lists move with the population: re-read on every evaluation). */
  private readonly affinitySlot: Uint8Array;
  /** The population state of each affinity slot. */
  private readonly affinityOfSlot: (AffinityState | undefined)[] = [];
  /** During an evaluation: 1 for the slots changed since the entity's last one (from changedSlots). */
  private readonly changedNow: Uint8Array;
  /** During an evaluation: 1 for the tags whose value changed in it (listed in changedTagList). */
  private readonly changedTagNow: Uint8Array;
  private readonly changedTagList: number[] = [];
  /** Each slot's filter, compiled (a row entering a window is checked against it). */
  private readonly slotFilter: (RowExpr | undefined)[];
  /** The affinity aggregates of each source (their populations change with its events). */
  private readonly affinityBySource = new Map<string, Aggregate[]>();
  private readonly compiledTags: { tag: TagIR; value: Compiled; inputs: TagInputs }[];
  /** Each tag's index in compiledTags (and in an entity's `base`). */
  private readonly tagIndex: ReadonlyMap<string, number>;
  private readonly compiledRow = new Map<Expr, RowExpr>();
  /** Compiled row expressions by their structure (the slots of the row caches). */
  private readonly rowExprByText = new Map<string, RowExpr>();
  /** The one environment row expressions are evaluated in (see rowEval). */
  private readonly rowEnv: RowEnv;
  /** How far back each source's events are needed (µs); Infinity when an `ever` aggregate needs raw rows. */
  private readonly lookback = new Map<string, number>();
  /** Population state of affinity aggregates: per entity contributions and their totals. */
  private readonly affinity = new Map<string, AffinityState>();

  private readonly retainUs: number;
  private readonly incrementalAffinity: boolean;

  constructor(
    readonly program: TagProgram,
    readonly tags: readonly TagIR[] = program.tags,
    opts: EngineOptions = {},
  ) {
    this.retainUs = opts.retainMicros ?? 7 * DAY_US;
    this.incrementalAffinity = opts.affinity === 'incremental';
    const seen = new Set<string>();
    for (const t of tags) {
      for (const a of t.aggregates) {
        if (seen.has(a.id)) continue;
        seen.add(a.id);
        this.aggregates.push(a);
        const kind = aggregateKind(a);
        const summarized = kind.summarized;
        this.kindOf.set(a.id, kind);
        this.slotOf.set(a.id, this.aggregates.length - 1);
        const reach =
          a.window.kind === 'ever'
            ? summarized
              ? 0
              : Number.POSITIVE_INFINITY
            : (a.window.kind === 'last' ? a.window.seconds : a.window.fromSeconds) * 1e6;
        this.lookback.set(a.source, Math.max(this.lookback.get(a.source) ?? 0, reach));
        if (a.fn === 'affinity') {
          this.affinityBySource.set(a.source, [...(this.affinityBySource.get(a.source) ?? []), a]);
          const state: AffinityState = {
            a,
            slot: this.aggregates.length - 1,
            stats: new Map(),
            dirty: true,
            at: Number.NaN,
            population: new Map(),
            sums: new Map(),
            total: 0,
            shares: {
              get: (v) => {
                const m = state.sums.get(v);
                return m !== undefined && m > 0 ? m / state.total : undefined;
              },
            },
          };
          this.affinity.set(a.id, state);
        }
      }
    }
    this.tagIndex = new Map(tags.map((t, i) => [t.name as string, i]));
    this.compiledTags = tags.map((tag) => ({
      tag,
      value: compileClosure(tag.value, program.timezone),
      inputs: inputsOf(tag.value, this.slotOf, this.tagIndex),
    }));
    this.changedTagNow = new Uint8Array(tags.length);
    this.rowEnv = new RowEnv(this.profiles);
    const windowIds = new Map<string, number>();
    this.affinitySlot = new Uint8Array(this.aggregates.length);
    this.changedNow = new Uint8Array(this.aggregates.length);
    this.aggregates.forEach((a, slot) => {
      const key = `${a.source}\u0000${JSON.stringify(a.window)}`;
      let id = windowIds.get(key);
      if (id === undefined) {
        id = this.windows.length;
        windowIds.set(key, id);
        this.windows.push({ source: a.source, w: a.window, slots: [] });
        this.windowsBySource.set(a.source, [...(this.windowsBySource.get(a.source) ?? []), id]);
      }
      (this.windows[id]!.slots as number[]).push(slot);
      this.windowOfSlot.push(id);
      const kind = this.kindOf.get(a.id)!;
      if (kind.readsT) this.readsTSlots.push(slot);
      if (kind.shiftRunning) this.shiftSlots.push(slot);
      if (a.fn === 'affinity') this.affinitySlot[slot] = 1;
      this.affinityOfSlot.push(this.affinity.get(a.id));
    });
    this.slotFilter = this.aggregates.map((a) => (a.filter ? this.rowExpr(a.filter) : undefined));
  }

  /** Mark an aggregate's value as possibly changed for the entity's next evaluation. */
  private markChanged(e: EntityState, s: AggState): void {
    if (s.changed) return;
    s.changed = true;
    e.changedSlots.push(s.slot);
  }

  /** The entity's aggregate states, created (all at once) at its first read. */
  private statesOf(e: EntityState): AggState[] {
    if (e.aggs.length === 0) {
      for (let slot = 0; slot < this.aggregates.length; slot++) {
        const a = this.aggregates[slot]!;
        const s = new AggState(a, slot, this.windowOfSlot[slot]!, this.kindOf.get(a.id)!);
        e.aggs.push(s);
        this.markChanged(e, s);
      }
      for (let w = 0; w < this.windows.length; w++) e.ranges.push(new WindowRange());
    }
    return e.aggs;
  }

  /** Start a window's range over (its aggregates with it): the next read counts its rows again. */
  private resetWindow(e: EntityState, w: number): void {
    const r = e.ranges[w];
    if (!r) return;
    r.start = 0;
    r.end = 0;
    r.at = Number.NEGATIVE_INFINITY;
    for (const slot of this.windows[w]!.slots) {
      const s = e.aggs[slot]!;
      const aff = this.affinityOfSlot[slot];
      if (aff && s.groups && this.incrementalAffinity) {
        // Its running scores leave the population with it (they are counted again as the range refills).
        for (const [v, g] of s.groups) this.addShare(aff, v as string, -Math.max(0, g.score));
      }
      s.reset();
      this.markChanged(e, s);
    }
  }

  /** Incremental affinity: add `m` to a value's running sum in the population (and to the total). */
  private addShare(aff: AffinityState, v: string, m: number): void {
    if (m === 0) return;
    aff.sums.set(v, (aff.sums.get(v) ?? 0) + m);
    aff.total += m;
  }

  /**
   * The population shares an affinity aggregate's lists are scored against now (value -> share), for
   * diagnostics and tests. Incremental mode: each entity counts as of its last read.
   */
  populationShares(aggregateId: string): Map<string, number> {
    const aff = this.affinity.get(aggregateId);
    if (!aff) throw new Error(`no affinity aggregate '${aggregateId}'`);
    if (!this.incrementalAffinity) return new Map(aff.population);
    const out = new Map<string, number>();
    for (const v of aff.sums.keys()) {
      const share = aff.shares.get(v);
      if (share !== undefined) out.set(v, share);
    }
    return out;
  }

  /** Profile rows (one per entity) of a profile source. */
  setProfiles(source: string, rows: readonly Readonly<Record<string, unknown>>[]): void {
    const key = this.program.entityKeys[source]!;
    const byEntity = new Map<EntityId, Readonly<Record<string, unknown>>>();
    for (const r of rows) {
      const id = r[key];
      if (id === null || id === undefined || byEntity.has(id as EntityId)) continue;
      byEntity.set(typeof id === 'bigint' ? Number(id) : (id as EntityId), r);
    }
    this.profiles.set(source, byEntity);
    for (const e of this.entities.values()) this.invalidate(e);
  }

  /** Update (or add) one entity's profile row. */
  setProfile(source: string, entity: EntityId, row: Readonly<Record<string, unknown>>): void {
    if (!this.profiles.has(source)) this.profiles.set(source, new Map());
    this.profiles.get(source)!.set(entity, row);
    const e = this.entities.get(entity);
    if (e) this.invalidate(e);
  }

  /** Set some columns of an entity's profile row (the others keep their values; a new row has the key). */
  mergeProfile(source: string, entity: EntityId, set: Readonly<Record<string, unknown>>): void {
    const old = this.profileRow(source, entity) ?? {};
    this.setProfile(source, entity, { ...old, [this.program.entityKeys[source]!]: entity, ...set });
  }

  /** An entity's row of a profile source, as last set. */
  profileRow(source: string, entity: EntityId): Readonly<Record<string, unknown>> | undefined {
    return this.profiles.get(source)?.get(entity);
  }

  /** Entities the engine knows (with events or a profile). */
  entityIds(): EntityId[] {
    const ids = new Set<EntityId>(this.entities.keys());
    for (const p of this.profiles.values()) for (const k of p.keys()) ids.add(k);
    return [...ids];
  }

  /**
   * Add an event. Returns its entity. Values are recomputed when read (`valuesAt`), so a burst of
   * events for one entity costs one evaluation.
   */
  add(ev: IncomingEvent): EntityId {
    const buffer = this.bufferOf(ev.entity, ev.source);
    const e = this.entities.get(ev.entity)!;
    e.arrivals++;
    const rec: Buffered = {
      time: ev.time,
      fileId: ev.fileId ?? Number.MAX_SAFE_INTEGER,
      row: ev.row ?? e.arrivals,
      data: ev.data,
      cache: undefined,
    };
    // Usually the newest event: append; the ranges take it in when next advanced (every read advances
    // them first), so the aggregate states are not touched here: with many entities they are out of
    // the CPU's caches, and a read touches them anyway. Otherwise insert in order and rebuild this
    // source's ranges (their indexes moved).
    const last = buffer[buffer.length - 1];
    e.firstSeen = Math.min(e.firstSeen, rec.time);
    if (!last || compareRows(last, rec) <= 0) buffer.push(rec);
    else {
      let i = buffer.length;
      while (i > 0 && compareRows(buffer[i - 1]!, rec) > 0) i--;
      buffer.splice(i, 0, rec);
      for (const w of this.windowsBySource.get(ev.source) ?? NO_SLOTS) this.resetWindow(e, w);
    }
    for (const a of this.affinityBySource.get(ev.source) ?? NO_AGGREGATES)
      this.affinity.get(a.id)!.dirty = true;
    e.fresh = false;
    return ev.entity;
  }

  /** All tag values of an entity as of T (T must not go backwards for an entity, else it is rebuilt). */
  valuesAt(entity: EntityId, T: number): TagValues {
    const e = this.evaluate(entity, T);
    if (!e.record) {
      const record: TagValues = {};
      const base = e.base!;
      for (let i = 0; i < this.compiledTags.length; i++) record[this.compiledTags[i]!.tag.name] = base[i]!;
      e.record = record;
    }
    return e.record;
  }

  /**
   * What to send of an entity's values as of T: with `changedOnly`, the tags whose value changed since
   * the last updateAt of this entity (whatever other reads computed meanwhile); else, or when the
   * whole values are due (the first computation, or one after an invalidation), every tag. Cheaper
   * than valuesAt when few tags change.
   */
  updateAt(entity: EntityId, T: number, changedOnly: boolean): TagValues {
    const e = this.evaluate(entity, T);
    let out: TagValues;
    if (!changedOnly || e.unsentAll) out = this.valuesAt(entity, T);
    else {
      out = {};
      const base = e.base!;
      for (const i of e.unsent) out[this.compiledTags[i]!.tag.name] = base[i]!;
    }
    e.unsent.clear();
    e.unsentAll = false;
    return out;
  }

  /** Bring an entity's values (`base`) to as-of T, re-evaluating only what may have changed. */
  private evaluate(entity: EntityId, T: number): EntityState {
    let e = this.entities.get(entity);
    if (!e) {
      e = new EntityState(entity);
      this.entities.set(entity, e);
    }
    if (e.fresh && e.asOf === T && (this.incrementalAffinity || !this.affinityStale(T))) return e;
    if (T < e.asOf) {
      if (T < e.retainedFrom) {
        throw new Error(
          `cannot read entity ${String(entity)} as of ${new Date(T / 1000).toISOString()}: its events before ${new Date(e.retainedFrom / 1000).toISOString()} are no longer kept`,
        );
      }
      this.invalidate(e);
    }
    const prevT = e.asOf;
    const moved = T !== prevT;
    // Row expressions may read as_of: it is T while the ranges move.
    e.asOf = T;
    const aggs = this.statesOf(e);
    for (let w = 0; w < this.windows.length; w++) this.advance(e, w, T);
    for (const slot of this.shiftSlots) this.advanceShift(e, aggs[slot]!, T);
    if (moved) {
      for (const slot of this.readsTSlots) {
        // A value that reads T may differ at a new T, unless known steady up to it (decided here, before
        // the first tag reading it recomputes it: the others must be re-evaluated too).
        const s = aggs[slot]!;
        if (!(s.hasCached && T < s.steadyUntil)) this.markChanged(e, s);
      }
    }
    if (this.incrementalAffinity) this.updateContribution(e, T);
    else this.refreshAffinity(T);
    const aggValue = (id: string, field?: string): RefValue => this.aggregateOf(e, id, field, T);
    const base = e.base;
    // Re-evaluate only the tags whose inputs may have changed since `base` was computed: aggregates
    // whose range changed (events arrived, or entered and left the window as T moved), aggregates
    // whose value reads T itself (when T moved), affinity lists (they move with the population), the
    // as-of time, and tags whose value changed (in program order, so inputs come first).
    const tags = this.compiledTags;
    // Updated in place: nothing outside the engine holds `base` (valuesAt and updateAt hand out copies),
    // and a copy per evaluation would be ~1.4 KB surviving until the entity's next one.
    const values: RefValue[] = base ?? new Array(tags.length).fill(null);
    const tagIndex = this.tagIndex;
    const env: ClosureEnv = {
      column: () => {
        throw new Error('event columns are not readable in entity context');
      },
      profile: (source, column) =>
        cell(this.profiles.get(source)?.get(entity) as Record<string, unknown> | undefined, column),
      tag: (name) => {
        const i = tagIndex.get(name);
        return i === undefined ? null : (values[i] ?? null);
      },
      agg: aggValue,
      asOf: () => T,
    };
    if (!base) {
      for (let i = 0; i < tags.length; i++) values[i] = tags[i]!.value(env);
      e.unsentAll = true;
    } else {
      const changedTags = this.changedTagList;
      // Which aggregates changed, in an array of the engine's (read per tag input; the states are
      // scattered in memory). Cleared below.
      const changedNow = this.changedNow;
      for (const slot of e.changedSlots) changedNow[slot] = 1;
      for (let i = 0; i < tags.length; i++) {
        const { value, inputs } = tags[i]!;
        if (!this.mayChange(inputs, moved)) continue;
        const v = value(env);
        if (!sameValue(v, base[i] ?? null)) {
          values[i] = v;
          this.changedTagNow[i] = 1;
          changedTags.push(i);
          e.unsent.add(i);
        }
      }
      for (const slot of e.changedSlots) changedNow[slot] = 0;
      for (const i of changedTags) this.changedTagNow[i] = 0;
      changedTags.length = 0;
    }
    for (const slot of e.changedSlots) e.aggs[slot]!.changed = false;
    e.changedSlots.length = 0;
    e.base = values;
    e.record = undefined;
    e.fresh = true;
    this.compact(e, T);
    return e;
  }

  /** Whether a tag's inputs may have changed since the entity's base values were computed. */
  private mayChange(inputs: TagInputs, moved: boolean): boolean {
    if (inputs.asOf && moved) return true;
    for (const slot of inputs.aggs)
      if (this.changedNow[slot] === 1 || this.affinitySlot[slot] === 1) return true;
    for (const t of inputs.tags) if (this.changedTagNow[t] === 1) return true;
    return false;
  }

  /** How many events of a source the engine holds for an entity (compaction drops what no window needs). */
  bufferedEvents(entity: EntityId, source: string): number {
    return this.entities.get(entity)?.buffers.get(source)?.length ?? 0;
  }

  /** Values of every known entity as of T. */
  allValuesAt(T: number): Map<EntityId, TagValues> {
    const out = new Map<EntityId, TagValues>();
    for (const id of this.entityIds()) {
      if (this.hasAnything(id, T)) out.set(id, this.valuesAt(id, T));
    }
    return out;
  }

  /** The batch universe: an entity counts when it has an event at or before T or a profile row. */
  private hasAnything(id: EntityId, T: number): boolean {
    for (const p of this.profiles.values()) if (p.has(id)) return true;
    const e = this.entities.get(id);
    if (!e) return false;
    return e.firstSeen <= T;
  }

  private bufferOf(entity: EntityId, source: string): Buffered[] {
    let e = this.entities.get(entity);
    if (!e) {
      e = new EntityState(entity);
      this.entities.set(entity, e);
    }
    let b = e.buffers.get(source);
    if (!b) {
      b = [];
      e.buffers.set(source, b);
    }
    return b;
  }

  private invalidate(e: EntityState): void {
    for (let w = 0; w < e.ranges.length; w++) this.resetWindow(e, w);
    e.fresh = false;
    e.base = undefined;
    e.asOf = Number.NEGATIVE_INFINITY;
  }

  /** The compiled form of a row expression (compiled on first use). */
  private rowExpr(x: Expr): RowExpr {
    let r = this.compiledRow.get(x);
    if (!r) {
      // The same expression in several aggregates (a card pack's ~120 aggregates have ~70 distinct
      // filters) shares one compiled form and one slot in each row's cache: evaluated once per row.
      const text = JSON.stringify(x);
      r = this.rowExprByText.get(text);
      if (!r) {
        r = {
          f: compileClosure(x, this.program.timezone),
          readsAsOf: readsAsOf(x),
          slot: this.rowExprByText.size,
        };
        this.rowExprByText.set(text, r);
      }
      this.compiledRow.set(x, r);
    }
    return r;
  }

  /**
   * A row-expression reader for one entity's events. One environment object is reused for every
   * evaluation (the row at hand is a field), so reading a row allocates nothing.
   */
  private rowEval(e: EntityState): (x: Expr, r: EventRow) => RefValue {
    if (e.reader) return e.reader;
    e.reader = (x, r) => this.rowValue(e, this.rowExpr(x), r as Buffered);
    return e.reader;
  }

  /** A compiled row expression's value for one of an entity's rows (from the row's cache when there). */
  private rowValue(e: EntityState, c: RowExpr, b: Buffered): RefValue {
    const cached = b.cache?.[c.slot];
    if (cached !== undefined) return cached;
    const env = this.rowEnv;
    const prevRow = env.row;
    const prevEntity = env.entity;
    env.row = b;
    env.entity = e;
    let v: RefValue;
    try {
      v = c.f(env);
    } finally {
      env.row = prevRow;
      env.entity = prevEntity;
    }
    // Values reading as_of change with T: do not cache those.
    if (!c.readsAsOf) {
      // Sized for every row expression compiled so far: filled by slot, it does not grow piecemeal.
      if (!b.cache) b.cache = new Array(this.rowExprByText.size);
      b.cache[c.slot] = v;
    }
    return v;
  }

  /** Move one window's range of an entity to as-of T, counting the rows entering and leaving it. */
  private advance(e: EntityState, w: number, T: number): void {
    const win = this.windows[w]!;
    const r = e.ranges[w]!;
    if (T < r.at) this.resetWindow(e, w);
    const buffer = e.buffers.get(win.source) ?? NO_ROWS;
    const lo = lowerBound(win.w, T);
    const hi = upperBound(win.w, T);
    // The range is [start, end): start = first row with time > lo, end = first row with time > hi.
    // A row is counted exactly while start <= index < end.
    while (r.end < buffer.length && buffer[r.end]!.time <= hi) {
      if (r.end >= r.start) this.count(e, win, buffer[r.end]!, +1);
      r.end++;
    }
    while (r.start < buffer.length && buffer[r.start]!.time <= lo) {
      if (r.start < r.end) this.count(e, win, buffer[r.start]!, -1);
      r.start++;
    }
    r.at = T;
  }

  /** A running shift's baseline and detection ranges (inside its window), moved to T. */
  private advanceShift(e: EntityState, s: AggState, T: number): void {
    const buffer = e.buffers.get(s.a.source) ?? NO_ROWS;
    this.advanceShiftWindow(e, s, s.shift!.b, buffer, T);
    this.advanceShiftWindow(e, s, s.shift!.d, buffer, T);
  }

  /** One of a running shift's two windows (baseline, detection) moved to T. */
  private advanceShiftWindow(
    e: EntityState,
    s: AggState,
    x: ShiftWindow,
    buffer: readonly Buffered[],
    T: number,
  ): void {
    const xlo = lowerBound(x.w, T);
    const xhi = upperBound(x.w, T);
    while (x.end < buffer.length && buffer[x.end]!.time <= xhi) {
      if (x.end >= x.start) this.countShift(e, s, x, buffer[x.end]!, +1);
      x.end++;
    }
    while (x.start < buffer.length && buffer[x.start]!.time <= xlo) {
      if (x.start < x.end) this.countShift(e, s, x, buffer[x.start]!, -1);
      x.start++;
    }
  }

  /**
   * A row entering (+1) or leaving (-1) a window: counted by each of its aggregates whose filter it
   * passes. The filters are read from the row's cache first, so the aggregates it fails are not touched.
   */
  private count(e: EntityState, win: WindowOf, r: Buffered, sign: 1 | -1): void {
    const ev = this.rowEval(e);
    const aggs = e.aggs;
    const filters = this.slotFilter;
    for (const slot of win.slots) {
      const a = this.aggregates[slot]!;
      // A row the filter drops changes nothing computed from the range: the cached value stays.
      const filter = filters[slot];
      if (filter !== undefined && this.rowValue(e, filter, r) !== true) continue;
      const s = aggs[slot]!;
      s.hasCached = false;
      s.cycles = undefined;
      this.markChanged(e, s);
      if (s.groups) {
        const aff = this.incrementalAffinity ? this.affinityOfSlot[slot] : undefined;
        if (aff) {
          // Incremental affinity over running scores: the population follows each row at once (an
          // entity's contribution is its positive scores), instead of a new contribution per read.
          const v = a.arg ? ev(a.arg, r) : null;
          const before = v === null ? 0 : Math.max(0, s.groups.get(v)?.score ?? 0);
          rankRow(s.groups, a, r, ev, sign, this.program.timezone);
          if (v !== null) this.addShare(aff, v as string, Math.max(0, s.groups.get(v)?.score ?? 0) - before);
        } else rankRow(s.groups, a, r, ev, sign, this.program.timezone);
      }
      if (s.running) addRow(s, a, r, ev, sign);
    }
  }

  /** A row entering (+1) or leaving (-1) a running shift's window: counted if it passes and has a value. */
  private countShift(e: EntityState, s: AggState, x: ShiftWindow, r: Buffered, sign: 1 | -1): void {
    const a = s.a;
    const ev = this.rowEval(e);
    if (a.filter && ev(a.filter, r) !== true) return;
    const v = ev(a.arg!, r);
    if (v === null) return;
    const key = v as string;
    const n = (x.counts.get(key) ?? 0) + sign;
    if (n === 0) x.counts.delete(key);
    else x.counts.set(key, n);
    s.hasCached = false;
    this.markChanged(e, s);
  }

  /** Time of the first row of a running shift's detection window that counts with value v. */
  private firstDetection(e: EntityState, s: AggState, v: string): number {
    const a = s.a;
    const d = s.shift!.d;
    const buffer = e.buffers.get(a.source) ?? NO_ROWS;
    const ev = this.rowEval(e);
    for (let i = d.start; i < d.end; i++) {
      const r = buffer[i]!;
      if (a.filter && ev(a.filter, r) !== true) continue;
      if (ev(a.arg!, r) === v) return r.time;
    }
    throw new Error(`shift ${a.id}: no detection row with value '${v}' although it is counted`);
  }

  private rangeRows(e: EntityState, s: AggState): EventRow[] {
    const buffer = e.buffers.get(s.a.source) ?? [];
    const r = e.ranges[s.window]!;
    return buffer.slice(r.start, r.end);
  }

  private aggregateOf(e: EntityState, id: string, field: string | undefined, T: number): RefValue {
    const s = e.aggs[this.slotOf.get(id)!]!;
    const a = s.a;
    if (a.fn === 'affinity' && this.incrementalAffinity) {
      // The list moves with everyone else's contributions: computed on every read (it is short).
      const aff = this.affinity.get(a.id)!;
      if (s.groups) return affinityFromGroups(a, s.groups, aff.shares);
      const stats = aff.stats.get(e.id);
      return stats ? affinityList(a, stats, this.populationOf(aff)) : [];
    }
    if (s.running) {
      if (a.fn === 'count') return a.arg ? s.nonNull : s.n;
      if (a.fn === 'sum') return s.sum;
      if (a.fn === 'avg') return s.nonNull === 0 ? null : s.sum / s.nonNull;
      return s.n === 0 ? null : s.hits / s.n;
    }
    if ((a.fn === 'first_time' || a.fn === 'last_time') && !s.readsT) return this.timeOf(e, s);
    if (!s.hasCached || (s.cachedAt !== T && s.readsT && !(T < s.steadyUntil))) {
      const ev = this.rowEval(e);
      const tz = this.program.timezone;
      let value: RefValue | Record<string, RefValue> | null;
      let steadyUntil = Number.NEGATIVE_INFINITY;
      if (a.fn === 'affinity') {
        const aff = this.affinity.get(a.id)!;
        const stats = aff.stats.get(e.id);
        value = stats ? affinityList(a, stats, aff.population) : [];
      } else if (s.groups) value = rankedValue(a, s.groups);
      else if (a.fn === 'recurrence') {
        if (!s.keepsCycles) value = recurrenceValue(a, this.rangeRows(e, s), ev, T, tz);
        else {
          s.cycles ??= recurrenceCycles(a, this.rangeRows(e, s), ev, tz);
          value = recurrenceAt(a, s.cycles, T);
          steadyUntil = recurrenceSteadyUntil(s.cycles, value, T);
        }
      } else if (a.fn === 'shift') {
        value = s.shift
          ? shiftResult(a, s.shift.b.counts, s.shift.d.counts, (v) => this.firstDetection(e, s, v))
          : shiftValue(a, this.rangeRows(e, s), ev, T);
      } else value = aggregateValue(a, this.rangeRows(e, s), ev, T, tz);
      s.hasCached = true;
      s.cachedValue = value as RefValue;
      s.cachedAt = T;
      s.steadyUntil = steadyUntil;
    }
    const v = s.cachedValue as unknown;
    if (field === undefined) return v as RefValue;
    if (v === null)
      return field === 'regular' || field === 'overdue' || field === 'changed'
        ? false
        : field === 'cycles'
          ? 0
          : null;
    return ((v as Record<string, RefValue>)[field] ?? null) as RefValue;
  }

  /**
   * first_time / last_time from the range, which is in time order: the first (last) row passing the
   * filter, or the summary of the rows already dropped.
   */
  private timeOf(e: EntityState, s: AggState): RefValue {
    const a = s.a;
    const buffer = e.buffers.get(a.source) ?? NO_ROWS;
    const ev = this.rowEval(e);
    // Read on every evaluation of a tag using it: the filter test is inline (no closure per call).
    const filter = a.filter;
    const { start, end } = e.ranges[s.window]!;
    if (a.fn === 'first_time') {
      for (let i = start; i < end; i++) {
        const t = buffer[i]!.time;
        if (s.base.first !== null && s.base.first <= t) break;
        if (!filter || ev(filter, buffer[i]!) === true) return t;
      }
      return s.base.first;
    }
    for (let i = end - 1; i >= start; i--) {
      const t = buffer[i]!.time;
      if (s.base.last !== null && s.base.last >= t) break;
      if (!filter || ev(filter, buffer[i]!) === true) return t;
    }
    return s.base.last;
  }

  private affinityStale(T: number): boolean {
    for (const a of this.affinity.values()) if (a.dirty || a.at !== T) return true;
    return false;
  }

  /** The population shares of an affinity aggregate (incremental mode: a view over the running sums). */
  private populationOf(aff: AffinityState): PopulationShares {
    return this.incrementalAffinity ? aff.shares : aff.population;
  }

  /** Incremental mode: replace entity e's contribution to each affinity population by its value at T. */
  private updateContribution(e: EntityState, T: number): void {
    for (const aff of this.affinity.values()) {
      const s = e.aggs[aff.slot]!;
      // Running scores: the population follows them row by row (count).
      if (s.groups) continue;
      if (aff.stats.has(e.id) && s.hasCached) continue;
      this.setContribution(aff, e, this.contributionOf(e, s, T));
      // Marks the range as read: the contribution is recomputed only after the range changes again.
      s.hasCached = true;
      s.cachedValue = null;
      s.cachedAt = T;
    }
  }

  /** An entity's affinity statistics over its range at T: running, or recomputed from the rows. */
  private contributionOf(e: EntityState, s: AggState, T: number): AffinityStats {
    if (s.groups) return statsFromGroups(s.groups);
    return affinityStats(s.a, this.rangeRows(e, s), this.rowEval(e), T, this.program.timezone);
  }

  private setContribution(aff: AffinityState, e: EntityState, next: AffinityStats): void {
    const prev = aff.stats.get(e.id);
    if (prev) {
      for (const [v, { m }] of prev) {
        aff.sums.set(v, (aff.sums.get(v) ?? 0) - m);
        aff.total -= m;
      }
    }
    for (const [v, { m }] of next) {
      aff.sums.set(v, (aff.sums.get(v) ?? 0) + m);
      aff.total += m;
    }
    aff.stats.set(e.id, next);
  }

  /**
   * Recompute every entity's contribution to the affinity populations as of T (incremental mode; the
   * exact mode does this by itself on every read that needs it). Costs a pass over every entity's events.
   */
  refreshPopulation(T: number): void {
    for (const aff of this.affinity.values()) {
      // Every entity's range at T first (moving them adjusts the sums, recomputed next).
      for (const e of this.entities.values()) {
        if (T < e.asOf) this.invalidate(e);
        this.statesOf(e);
        this.advance(e, this.windowOfSlot[aff.slot]!, T);
      }
      aff.stats.clear();
      aff.sums.clear();
      aff.total = 0;
      for (const e of this.entities.values()) {
        const s = e.aggs[aff.slot]!;
        if (s.groups) {
          for (const [v, g] of s.groups) this.addShare(aff, v as string, Math.max(0, g.score));
        } else {
          this.setContribution(aff, e, this.contributionOf(e, s, T));
          s.hasCached = true;
          s.cachedValue = null;
          s.cachedAt = T;
        }
      }
    }
    // Lists read before were scored against the population as it was: the next read scores them again.
    for (const e of this.entities.values()) e.fresh = false;
  }

  /** Recompute the population of affinity aggregates when any entity's contribution may have changed. */
  private refreshAffinity(T: number): void {
    for (const aff of this.affinity.values()) {
      // The population is every entity's window at T: it changes with new events and with T.
      if (!aff.dirty && aff.at === T) continue;
      aff.at = T;
      aff.stats.clear();
      for (const e of this.entities.values()) {
        this.statesOf(e);
        this.advance(e, this.windowOfSlot[aff.slot]!, T);
        const s = e.aggs[aff.slot]!;
        const st = this.contributionOf(e, s, T);
        if (st.size > 0) aff.stats.set(e.id, st);
        s.hasCached = false;
      }
      aff.population = affinityPopulation(aff.stats.values());
      aff.dirty = false;
      for (const e of this.entities.values()) e.fresh = false;
    }
  }

  /** Drop buffered events no window can reach any more (as-of times only move forward). */
  private compact(e: EntityState, T: number): void {
    for (const [source, buffer] of e.buffers) {
      const reach = this.lookback.get(source) ?? 0;
      if (!Number.isFinite(reach)) continue;
      let drop = 0;
      const keepFrom = T - reach - this.retainUs;
      while (drop < buffer.length && buffer[drop]!.time <= keepFrom) drop++;
      if (drop === 0) continue;
      for (const w of this.windowsBySource.get(source) ?? NO_SLOTS) {
        const r = e.ranges[w];
        if (!r) continue;
        const ev = this.rowEval(e);
        for (const slot of this.windows[w]!.slots) {
          const s = e.aggs[slot]!;
          if (!s.summarized) continue;
          // Fold the dropped rows into the summary (the range had counted them: they are older than T).
          const a = s.a;
          let folded = false;
          for (let i = 0; i < drop; i++) {
            const row = buffer[i]!;
            if (a.filter && ev(a.filter, row) !== true) continue;
            addRow(s.base, a, row, ev, 1);
            if (s.base.first === null || row.time < s.base.first) s.base.first = row.time;
            if (s.base.last === null || row.time > s.base.last) s.base.last = row.time;
            folded = true;
          }
          if (folded) {
            s.hasCached = false;
            this.markChanged(e, s);
          }
        }
        // A window over \`ever\` here holds only summarized aggregates (else the source keeps every row).
        const summarizedOnly = this.windows[w]!.w.kind === 'ever';
        const shiftBehind = this.windows[w]!.slots.some((slot) => {
          const x = e.aggs[slot]!.shift;
          return x !== undefined && (x.b.start < drop || x.d.start < drop);
        });
        if (summarizedOnly) {
          r.start = Math.max(0, r.start - drop);
          r.end = Math.max(0, r.end - drop);
        } else if (r.start < drop || shiftBehind) {
          // Cannot happen (dropped rows are older than every window's start, as advanced to T); were it
          // to, the window is rebuilt rather than left pointing at the wrong rows.
          this.resetWindow(e, w);
        } else {
          r.start -= drop;
          r.end -= drop;
          for (const slot of this.windows[w]!.slots) {
            const x = e.aggs[slot]!.shift;
            if (!x) continue;
            x.b.start -= drop;
            x.b.end -= drop;
            x.d.start -= drop;
            x.d.end -= drop;
          }
        }
      }
      e.retainedFrom = Math.max(e.retainedFrom, buffer[drop - 1]!.time + reach);
      buffer.splice(0, drop);
    }
  }
}

/** Add (sign 1) or remove (-1) a row that passes the filter to the running figures of `a`. */
function addRow(
  t: Pick<Sums, 'n' | 'nonNull' | 'hits' | 'sum'>,
  a: Aggregate,
  r: EventRow,
  ev: (x: Expr, r: EventRow) => RefValue,
  sign: 1 | -1,
): void {
  t.n += sign;
  switch (a.fn) {
    case 'count':
      if (a.arg && ev(a.arg, r) !== null) t.nonNull += sign;
      break;
    case 'sum': {
      const v = ev(a.arg!, r);
      if (v !== null) t.sum += sign * (v as number);
      break;
    }
    case 'avg': {
      const v = ev(a.arg!, r);
      if (v !== null) {
        t.sum += sign * (v as number);
        t.nonNull += sign;
      }
      break;
    }
    case 'share':
      if (ev(a.arg!, r) === true) t.hits += sign;
      break;
  }
}

/** Add (sign 1) or remove (-1) a row that passes the filter to a running ranking. */
function rankRow(
  groups: Map<RefValue, RankGroup>,
  a: Aggregate,
  r: EventRow,
  ev: (x: Expr, r: EventRow) => RefValue,
  sign: 1 | -1,
  timezone: string,
): void {
  const v = a.arg ? ev(a.arg, r) : null;
  if (v === null) return;
  let g = groups.get(v);
  if (!g) {
    g = { rows: 0, score: 0, days: undefined };
    groups.set(v, g);
  }
  g.rows += sign;
  const m = rankMeasureOf(a);
  if (m.fn === 'sum') {
    const x = m.arg ? ev(m.arg, r) : null;
    if (x !== null) g.score += sign * (x as number);
  } else if (m.fn === 'distinct_days') {
    if (!g.days) g.days = new Map();
    const day = localDateDays(r.time, timezone);
    const n = (g.days.get(day) ?? 0) + sign;
    if (n === 0) g.days.delete(day);
    else g.days.set(day, n);
    g.score = g.days.size;
  } else g.score += sign;
  if (g.rows === 0) groups.delete(v);
}

/** An entity's affinity contribution from running per-value scores (as affinityStats computes it). */
function statsFromGroups(groups: ReadonlyMap<RefValue, RankGroup>): AffinityStats {
  const out: AffinityStats = new Map();
  for (const [v, g] of groups) if (g.score > 0) out.set(v as string, { n: g.rows, m: g.score });
  return out;
}

/**
 * affinityList over running per-value scores (the values with a positive score, n = their rows), read
 * straight from the groups: no stats Map per read, which runs on every evaluation of the tag.
 */
function affinityFromGroups(
  a: Aggregate,
  groups: ReadonlyMap<RefValue, RankGroup>,
  population: PopulationShares,
): ListItem[] {
  let N = 0;
  let M = 0;
  for (const g of groups.values()) {
    if (g.score > 0) {
      N += g.rows;
      M += g.score;
    }
  }
  const p = a.affinity!;
  const top = rankTop(p.k);
  // forEach: iterating entries would make a [value, group] pair per value.
  groups.forEach((g, v) => {
    if (g.score > 0) affinityItem(top, p, N, M, v as string, g.rows, g.score, population);
  });
  return top.items();
}

/** top / argmax from running scores, ordered as the reference does: score descending, then value. */
function rankedValue(a: Aggregate, groups: ReadonlyMap<RefValue, RankGroup>): RefValue {
  const top = rankTop(a.fn === 'argmax' ? 1 : (a.k ?? 1));
  // forEach: iterating entries would make a [value, group] pair per value.
  groups.forEach((g, value) => {
    top.offer(value as string, g.score);
  });
  return a.fn === 'argmax' ? top.first() : top.items();
}

/** What a value expression reads: aggregate slots, tag names, whether it reads as_of. */
function inputsOf(
  x: Expr,
  slotOf: ReadonlyMap<string, number>,
  tagIndex: ReadonlyMap<string, number>,
): TagInputs {
  const aggs = new Set<string>();
  const tags = new Set<string>();
  let asOf = false;
  forEachNode(x, (e) => {
    if (e.kind === 'agg') aggs.add(e.id);
    else if (e.kind === 'tag') tags.add(e.name);
    else if (e.kind === 'as_of') asOf = true;
  });
  // An aggregate without a slot is not one of the program's (never expected): -1 reads as always changed.
  return {
    aggs: [...aggs].map((id) => slotOf.get(id) ?? -1),
    tags: [...tags].map((t) => tagIndex.get(t) ?? -1),
    asOf,
  };
}

/** Whether two tag values are the same (lists and objects compared by content). */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameValue(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  // Keys counted with for-in (plain values: own keys only), not Object.keys arrays: this runs for
  // every re-evaluated tag whose value is an object (a recurrence's fields).
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  let na = 0;
  for (const k in ra) {
    if (!sameValue(ra[k], rb[k])) return false;
    na++;
  }
  let nb = 0;
  for (const _ in rb) nb++;
  return na === nb;
}

function readsAsOf(x: Expr): boolean {
  let found = false;
  forEachNode(x, (e) => {
    if (e.kind === 'as_of') found = true;
  });
  return found;
}

export { inWindow };
