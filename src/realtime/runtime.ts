/**
 * The real-time runtime of `tagverse serve`: accepted messages -> write-ahead log (fsynced before the
 * 2xx) -> incremental engine -> the served store, in place -> triggers; and in the background, the log
 * -> the warehouse (then the log is trimmed).
 *
 * ```
 * accept (HTTP, NATS) ── dedupe, map, aliases ──► WAL append ══ fsync (group commit) ══► ack
 *                                                      │ durable, in seq order
 *                                                      ▼
 *     engine (worker thread): add (events, profiles) ─► dirty entities ─► commit tick: values at T ─► store (live.ts)
 *                                                      │                                     └► triggers ─► webhooks
 *                                                      └► flush tick: warehouse (one transaction) ─► trim WAL
 * ```
 *
 * The as-of time T of live values: with `clock: event` the newest event time seen (never before the
 * build's as-of, never more than a minute ahead of the wall clock); with `clock: wall`, now. Entities
 * are evaluated when their events arrive and, so that windows move with time, every entity at least
 * once per `refresh_interval` (a sweep paced over the interval).
 *
 * The engine runs in a worker thread (engine-link.ts; `realtime.evaluator: inline` keeps it on the
 * event loop, evaluated in slices): changes are posted to it in order, a commit tick sends it the dirty
 * entities, and their values come back in chunks.
 *
 * At start: the warehouse gives the source columns, lookups, aliases, recent messageIds and every
 * entity's events within the tags' windows; then the log is replayed (what the warehouse lacks).
 * Entities changed since the last build (real-time rows flushed after it, and the replayed ones) are
 * evaluated first.
 */
import type { ProjectConfig } from '../config/project.js';
import { BUILDS } from '../engine/build.js';
import type { RefValue } from '../lang/functions.js';
import type { TagIR, TagProgram } from '../lang/ir.js';
import { refValue } from '../online/columns.js';
import { applyUpdates, type EntityUpdate } from '../online/live.js';
import type { TagStore } from '../online/store.js';
import type { StoreHolder } from '../online/store-holder.js';
import { TagverseError } from '../util/problems.js';
import { ident, qualified } from '../warehouse/sql.js';
import { Warehouse } from '../warehouse/warehouse.js';
import { Deduper } from './deduper.js';
import type { EntityId, TagValues } from './engine.js';
import { type EngineLink, startEngine } from './engine-link.js';
import {
  columnsRead,
  evaluatorRow,
  Lookups,
  loadEngineState,
  project,
  sourceShapes,
} from './initial-state.js';
import { SegmentMapper, type SourceShape } from './mapping.js';
import {
  cellKind,
  type Effect,
  evaluatorValue,
  type LoggedMessage,
  type ProfileEffect,
  type RowEffect,
  type Via,
} from './records.js';
import type { SegmentMessage } from './segment-message.js';
import { loadTriggers } from './triggers/definitions.js';
import { Deliverer } from './triggers/delivery.js';
import { type BatchEvent, TriggerRuntime } from './triggers/triggers.js';
import { WriteAheadLog } from './wal.js';
import {
  flushedSeq,
  flushToWarehouse,
  identityLinks,
  REALTIME_MESSAGES,
  recentMessageIds,
} from './warehouse-sink.js';

/** Order key of live events after file rows with the same time (their `_row` is the log seq). */
const LIVE_FILE_ID = 2 ** 40;
const MINUTE_US = 60_000_000;
/** Acks wait for their events' evaluation while served tags are further behind than this (worker mode; see paceAcks). */
const ACK_PACE_LAG_MS = 100;
/** A worker that stops again this soon after a restart is not restarted (see recoverEngine). */
const RESTART_MIN_INTERVAL_MS = 60_000;
/** The longest an ack waits for evaluation (a stalled evaluation must not stop acknowledgements). */
const ACK_WAIT_MAX_MS = 10_000;
/** Entities whose live values a reload copies per turn of the event loop before its swap (~5 ms). */
const SWAP_COPY_SLICE = 500;

export interface RuntimeOptions {
  /** Serialises warehouse access with the API's own warehouse reads (one connection at a time). */
  readonly warehouseTurn?: <T>(fn: () => Promise<T>) => Promise<T>;
  readonly log?: (message: string) => void;
  /** Wall clock, epoch ms (tests inject one). */
  readonly now?: () => number;
  /** Environment for trigger webhook URLs and secrets (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** fetch for webhooks (tests may inject one). */
  readonly fetch?: typeof fetch;
  /** fsync the log (default true). */
  readonly fsync?: boolean;
}

export interface AcceptResult {
  /** Messages logged (new). */
  readonly accepted: number;
  /** Messages already accepted before (same messageId within the dedupe window). */
  readonly duplicates: number;
  /** Accepted messages no mapping rule takes (logged for dedupe, nothing else). */
  readonly ignored: number;
  /** Accepted messages whose row was rejected (see tagverse.rejects). */
  readonly rejected: number;
}

/** A bounded sample of latencies (ms). */
class Latencies {
  readonly values: number[] = [];
  push(ms: number): void {
    this.values.push(ms);
    if (this.values.length > 20_000) this.values.splice(0, 10_000);
  }
  summary(): { count: number; p50: number | null; p99: number | null } {
    const s = [...this.values].sort((a, b) => a - b);
    const at = (p: number) =>
      s.length === 0 ? null : Math.round(s[Math.min(s.length - 1, Math.floor(s.length * p))]! * 10) / 10;
    return { count: s.length, p50: at(0.5), p99: at(0.99) };
  }
}

export interface RealtimeStatus {
  readonly asOf: string;
  readonly clock: 'event' | 'wall';
  readonly accepted: number;
  readonly duplicates: number;
  readonly rejected: number;
  readonly ignored: number;
  readonly durableSeq: number;
  readonly appliedSeq: number;
  readonly flushedSeq: number;
  readonly pendingFlush: number;
  readonly dirtyEntities: number;
  readonly entities: number;
  readonly walBytes: number;
  readonly walGroups: number;
  readonly lastFlush?: { readonly at: string; readonly rows: number; readonly ms: number };
  readonly lastFlushError?: string;
  /** From acceptance to the new values being served (ms), over the last evaluations. */
  readonly latencyMs: { count: number; p50: number | null; p99: number | null };
  /** How far served tags are behind: the age of the oldest accepted event not evaluated yet (ms). */
  readonly lagMs: number;
  /**
   * messageIds remembered for dedupe, ids forgotten early because of realtime.dedupe_max_ids, and
   * how far back the remembered ones reach (ms; the window, unless the cap shortened it).
   */
  readonly dedupe: { readonly ids: number; readonly evicted: number; readonly coversMs: number };
  readonly triggers?: Record<string, unknown>;
  /**
   * The last reload swap (worker mode): live values copied into the new store before the swap, in
   * slices, and at the swap (entities that changed meanwhile, or were first served meanwhile).
   */
  readonly lastSwapCopies: { readonly before: number; readonly atSwap: number };
  /** Where tags are evaluated, and why evaluation stopped if it did. */
  readonly evaluator: {
    readonly mode: 'inline' | 'worker';
    readonly error?: string;
    /** Workers started again after one stopped. */
    readonly restarts: number;
  };
}

export class RealtimeRuntime {
  private readonly turn: <T>(fn: () => Promise<T>) => Promise<T>;
  private readonly log: (m: string) => void;
  private readonly wallMs: () => number;
  private link!: EngineLink;
  private program!: TagProgram;
  /** Tags real time computes (model tags, and tags reading them, keep their built values). */
  private liveTags: readonly TagIR[] = [];
  private shapes!: Map<string, SourceShape>;
  private mapper!: SegmentMapper;
  private lookups!: Lookups;
  private wal!: WriteAheadLog;
  private readonly identities = new Map<string, string>();
  private readonly deduper: Deduper;
  private keepColumns = new Map<string, ReadonlySet<string>>();
  private triggers: TriggerRuntime | undefined;
  private deliverer: Deliverer | undefined;
  /** Logged but not yet durable, in seq order. */
  private unapplied: LoggedMessage[] = [];
  private appliedSeq = 0;
  /** Durable and applied, not yet in the warehouse, in seq order. */
  private pendingFlush: LoggedMessage[] = [];
  private warehouseSeq = 0;
  private readonly dirty = new Set<EntityId>();
  /** When each dirty entity's oldest unserved change was accepted (ms), for latency. */
  private readonly dirtySince = new Map<EntityId, number>();
  /** The same, on the monotonic clock (performance.now()): how far evaluation lags (lagMs). */
  private readonly dirtyAt = new Map<EntityId, number>();
  private readonly batchEvents = new Map<EntityId, BatchEvent[]>();
  private readonly profileChanges = new Map<EntityId, Record<string, unknown>>();
  /** Entities whose live values are in the store (re-applied after a reload swap). */
  private readonly served = new Set<EntityId>();
  /**
   * A reloaded store being given the live values before its swap (worker mode, prepareSwap): the
   * entities copied into it, and those whose values changed in the served store meanwhile.
   */
  private preparing?: { store: TagStore; copied: Set<EntityId>; changed: Set<EntityId> };
  /** Entities whose live values the last reload copied before its swap, and at the swap. */
  private lastSwapCopies = { before: 0, atSwap: 0 };
  private maxEventTime = Number.NEGATIVE_INFINITY;
  private buildAsOf = 0;
  private sweep: { ids: EntityId[]; next: number; credit: number; last: number } = {
    ids: [],
    next: 0,
    credit: 0,
    last: 0,
  };
  private readonly latencies = new Latencies();
  private counts = { accepted: 0, duplicates: 0, rejected: 0, ignored: 0 };
  private lastFlush: RealtimeStatus['lastFlush'];
  private lastFlushError: string | undefined;
  private lastEvaluationError: string | undefined;
  /** Acknowledgements waiting for an evaluation round to end (worker mode; see paceAcks). */
  private ackWaiters: { round: number; release: () => void }[] = [];
  /** Evaluation rounds (commits) started and ended. */
  private roundsStarted = 0;
  private roundsDone = 0;
  /** A new evaluation worker being loaded (after one stopped); flushes wait for it. */
  private recovering: Promise<void> | undefined;
  private restarts = 0;
  private lastRestartAt = Number.NEGATIVE_INFINITY;
  /** A restarted worker stopped again soon: left stopped. */
  private restartGaveUp = false;
  private flushBackoffMs = 0;
  private commitTimer: NodeJS.Timeout | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private committing: Promise<void> | undefined;
  private flushing: Promise<void> | undefined;
  private closed = false;
  private stopped = false;

  private constructor(
    readonly config: ProjectConfig,
    readonly holder: StoreHolder,
    private readonly opts: RuntimeOptions,
  ) {
    this.turn = opts.warehouseTurn ?? ((fn) => fn());
    this.log = opts.log ?? (() => {});
    this.wallMs = opts.now ?? Date.now;
    this.deduper = new Deduper(config.realtime.dedupeWindowMs, config.realtime.dedupeMaxIds);
  }

  /**
   * Start real time for a served project: read the warehouse, replay the log, start the loops.
   * @example
   *   const rt = await RealtimeRuntime.start(config, holder);
   *   await rt.accept([message], 'http');
   */
  static async start(
    config: ProjectConfig,
    holder: StoreHolder,
    opts: RuntimeOptions = {},
  ): Promise<RealtimeRuntime> {
    const rt = new RealtimeRuntime(config, holder, opts);
    try {
      await rt.init();
    } catch (e) {
      // The evaluation worker must not outlive a start that failed.
      await rt.link?.close();
      throw e;
    }
    return rt;
  }

  private engineId(id: string | number): EntityId {
    return this.config.entity.idType === 'integer' ? Number(id) : String(id);
  }

  private async init(): Promise<void> {
    const started = Date.now();
    const store = this.holder.current;
    this.program = store.program;
    this.buildAsOf = store.info.asOfMicros;
    this.liveTags = liveTagsOf(store.program);
    const live = { ...store.program, tags: this.liveTags };
    this.keepColumns = new Map(
      [...columnsRead(live)].map(([s, set]) => {
        const full = new Set(set);
        full.add(store.program.entityKeys[s]!);
        full.add(store.program.timeColumns[s]!);
        return [s, full];
      }),
    );
    this.link = startEngine(store.program, this.liveTags, this.config.realtime.evaluator);
    let firstDirty: EntityId[] = [];
    await this.turn(async () => {
      const wh = await Warehouse.open(this.config.engine.path, { readOnly: true });
      try {
        this.shapes = await sourceShapes(wh, this.config);
        this.lookups = await Lookups.load(wh, this.config);
        this.warehouseSeq = await flushedSeq(wh);
        for (const m of await recentMessageIds(wh, this.wallMs() - this.config.realtime.dedupeWindowMs))
          this.deduper.add(m.id, m.seq, m.at);
        for (const l of await identityLinks(wh)) this.identities.set(l.alias, l.entity);
        const newest = await newestEventTime(wh, this.program);
        this.maxEventTime = newest;
        const loaded = await loadEngineState(wh, this.config, this.program, this.link, this.clockT(), {
          entityOf: (k) => this.engineId(k as string | number),
        });
        this.log(
          `real time: ${loaded.events} events of ${loaded.entities.size} entities loaded in ${Date.now() - started} ms`,
        );
        firstDirty = await changedSinceBuild(wh, this.program, (k) => this.engineId(k as string | number));
      } finally {
        wh.close();
      }
    });
    this.mapper = new SegmentMapper(this.config, this.shapes);
    this.link.refreshPopulation(this.clockT());
    // Ready means the engine holds the start state (the worker takes it at its own pace).
    await this.link.sync();
    // The log: what the warehouse lacks is replayed.
    const { wal, frames } = await WriteAheadLog.open(this.config.realtime.logDir, this.warehouseSeq, {
      segmentBytes: this.config.realtime.segmentBytes,
      ...(this.opts.fsync !== undefined ? { fsync: this.opts.fsync } : {}),
    });
    this.wal = wal;
    wal.trimThrough(this.warehouseSeq);
    let replayed = 0;
    this.appliedSeq = this.warehouseSeq;
    for (const f of frames) {
      if (f.lastSeq <= this.warehouseSeq) continue;
      for (const m of JSON.parse(f.payload.toString('utf8')) as LoggedMessage[]) {
        if (m.seq <= this.warehouseSeq) continue;
        this.applyLogged(m, true);
        replayed++;
      }
    }
    this.appliedSeq = Math.max(this.appliedSeq, wal.durable);
    for (const e of firstDirty) this.markDirty(e, this.wallMs());
    this.initTriggers(store);
    this.holder.beforeSwap((next, current) => this.prepareSwap(next, current));
    this.holder.onSwap((s, previous) => this.onSwap(s, previous));
    this.log(
      `real time ready in ${Date.now() - started} ms: ${replayed} logged messages replayed, ${this.dirty.size} entities to evaluate first`,
    );
    this.scheduleCommit(0);
    this.scheduleFlush(this.config.realtime.flushIntervalMs);
  }

  private initTriggers(store: TagStore): void {
    const env = this.opts.env ?? process.env;
    const { triggers, problems } = loadTriggers(this.config, store.schemas, store.program, env);
    for (const p of problems) this.log(`trigger problem: ${p.file}:${p.line}:${p.col}: ${p.message}`);
    if (problems.some((p) => p.severity === 'error')) {
      throw new TagverseError(
        'triggers.invalid',
        `triggers have problems: ${problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.message}`).join('; ')}`,
      );
    }
    if (triggers.length === 0) return;
    this.deliverer = new Deliverer(this.config.triggers.logDir, {
      ...(this.opts.fetch ? { fetch: this.opts.fetch } : {}),
      now: this.wallMs,
      log: this.log,
    });
    this.triggers = new TriggerRuntime(triggers, store, store.schemas, this.lookups, this.deliverer, {
      timezone: this.config.timezone,
      now: this.wallMs,
    });
    const { pending, fired } = this.deliverer.readOutbox();
    const longest = Math.max(
      0,
      ...triggers.map((t) => t.cap?.perMs ?? 0),
      this.config.realtime.dedupeWindowMs,
    );
    const keep = fired.filter((d) => d.firedAt > this.wallMs() - longest || pending.includes(d));
    this.deliverer.compact(keep, new Set(pending.map((d) => d.id)));
    this.triggers.restore(keep, pending);
    this.log(`${triggers.length} trigger(s) active; ${pending.length} undelivered webhook(s) resent`);
  }

  /** The as-of time of live values now (µs). */
  clockT(): number {
    const wall = this.wallMs() * 1000;
    if (this.config.realtime.clock === 'wall') return wall;
    return Math.max(this.buildAsOf, Math.min(this.maxEventTime, wall + MINUTE_US));
  }

  // ---- accepting ---------------------------------------------------------------------------------

  /**
   * Log checked Segment messages; resolves when they are durable (then they may be acknowledged).
   * Duplicates of messages accepted within the dedupe window are not logged again (but wait until the
   * first copy is durable).
   */
  accept(messages: readonly SegmentMessage[], via: Via): Promise<AcceptResult> {
    const at = this.wallMs();
    return this.log_(via, at, (push, dup) => {
      for (const m of messages) {
        if (!m.generatedId && dup(m.messageId)) continue;
        push(m.messageId, !m.generatedId, this.mapper.effects(m, this));
      }
    });
  }

  /** Log rows already shaped as a source's columns (POST /v1/events). */
  acceptRows(
    source: string,
    rows: readonly Readonly<Record<string, unknown>>[],
    via: Via,
  ): Promise<AcceptResult> {
    const at = this.wallMs();
    return this.log_(via, at, (push, dup) => {
      for (const r of rows) {
        const { fx, id } = this.mapper.nativeRow(source, r, undefined);
        if (id !== undefined && dup(id)) continue;
        push(id ?? `tv-row-${this.wal.peekSeq()}-${Math.random().toString(36).slice(2)}`, id !== undefined, [
          fx,
        ]);
      }
    });
  }

  /** Whether the source takes native rows. */
  hasEventsSource(source: string): boolean {
    return this.shapes.get(source)?.kind === 'events';
  }

  /** The age of the oldest accepted event not evaluated yet (ms, monotonic clock). */
  private lagMs(now: number): number {
    // Insertion order: the first entry became dirty first.
    for (const at of this.dirtyAt.values()) return Math.max(0, now - at);
    return 0;
  }

  /** Follow alias links to the entity an id belongs to now. */
  resolve(id: string): string {
    let cur = id;
    for (let i = 0; i < 16; i++) {
      const next = this.identities.get(cur);
      if (next === undefined || next === cur) return cur;
      cur = next;
    }
    return cur;
  }

  private log_(
    via: Via,
    at: number,
    build: (push: (id: string, dedupe: boolean, fx: Effect[]) => void, dup: (id: string) => boolean) => void,
  ): Promise<AcceptResult> {
    if (this.closed)
      return Promise.reject(new TagverseError('realtime.closed', 'the server is shutting down'));
    const records: LoggedMessage[] = [];
    const waits: number[] = [];
    let duplicates = 0;
    let ignored = 0;
    let rejected = 0;
    const seq0 = this.wal.peekSeq();
    const inBatch = new Set<string>();
    build(
      (id, dedupe, fx) => {
        const seq = seq0 + records.length;
        const m: LoggedMessage = { seq, id, dedupe, at, via, fx };
        records.push(m);
        if (dedupe) {
          this.deduper.add(id, seq, at);
          inBatch.add(id);
        }
        // Links count at once: a later message of the same request resolves through them.
        for (const f of fx) if (f.k === 'alias') this.identities.set(f.from, f.to);
        if (fx.length === 0) ignored++;
        if (fx.some((f) => f.k === 'reject')) rejected++;
      },
      (id) => {
        const seen = this.deduper.seqOf(id);
        if (seen === undefined) return false;
        duplicates++;
        if (!inBatch.has(id)) waits.push(seen);
        return true;
      },
    );
    // One frame per request: after a crash a request is in the log entirely or not at all.
    const { committed } = this.wal.append(records);
    this.unapplied.push(...records);
    this.counts.accepted += records.length;
    this.counts.duplicates += duplicates;
    this.counts.ignored += ignored;
    this.counts.rejected += rejected;
    const durable = Promise.all([committed, ...waits.map((s) => this.wal.waitFor(s))]);
    const result = { accepted: records.length, duplicates, ignored, rejected };
    return durable.then(() => {
      this.applyDurable();
      return this.paceAcks().then(() => result);
    });
  }

  /**
   * With the engine in a worker, accepting costs the event loop far less than evaluating costs the
   * worker: under a load above what the worker evaluates, tags would fall behind for as long as the
   * load lasts. So while served tags are more than ACK_PACE_LAG_MS behind, an acknowledgement waits
   * until its own events are evaluated: the end of the next round (the one in flight, if any, took
   * its entities before they came). Clients that wait for acks then send at the rate the worker
   * evaluates, and the lag settles near two rounds (a round takes what came during the one before;
   * under load, more events per entity each, so a round costs less per event). Inline, the same
   * follows from the evaluation slices growing with the lag.
   */
  private paceAcks(): Promise<void> {
    if (this.link.mode !== 'worker' || this.link.failure !== undefined || this.closed)
      return Promise.resolve();
    if (this.lagMs(performance.now()) <= ACK_PACE_LAG_MS) return Promise.resolve();
    const round = this.roundsStarted + 1;
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ACK_WAIT_MAX_MS);
      this.ackWaiters.push({
        round,
        release: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  /** Release the acknowledgements whose round ended (all of them, with `all`). */
  private releaseAcks(all: boolean): void {
    if (this.ackWaiters.length === 0) return;
    const done = this.roundsDone;
    const release = all ? this.ackWaiters : this.ackWaiters.filter((w) => w.round <= done);
    if (release.length === 0) return;
    this.ackWaiters = all ? [] : this.ackWaiters.filter((w) => w.round > done);
    for (const w of release) w.release();
  }

  /** Apply every logged message that is now on disk, in seq order. */
  private applyDurable(): void {
    const upTo = this.wal.durable;
    let i = 0;
    while (i < this.unapplied.length && this.unapplied[i]!.seq <= upTo) {
      this.applyLogged(this.unapplied[i]!, false);
      i++;
    }
    if (i > 0) {
      this.unapplied.splice(0, i);
      this.scheduleCommit(0);
    }
  }

  /** A durable message's effects on the engine (and, replaying, on dedupe and aliases). */
  private applyLogged(m: LoggedMessage, replay: boolean): void {
    if (replay) {
      if (m.dedupe) this.deduper.add(m.id, m.seq, m.at);
    }
    for (const fx of m.fx) {
      switch (fx.k) {
        case 'row': {
          const shape = this.shapes.get(fx.source);
          if (!shape) break;
          const entity = this.engineId(fx.entity);
          const full = evaluatorRow(shape, fx.row, this.lookups);
          this.addEvent(this.link, fx, entity, m.seq, full);
          if (fx.time > this.maxEventTime) this.maxEventTime = fx.time;
          if (this.triggers?.watches(fx.source)) {
            const list = this.batchEvents.get(entity) ?? [];
            list.push({ source: fx.source, messageId: m.id, time: fx.time, row: full });
            this.batchEvents.set(entity, list);
          }
          this.markDirty(entity, m.at);
          break;
        }
        case 'profile': {
          const shape = this.shapes.get(fx.source);
          if (!shape) break;
          const entity = this.engineId(fx.entity);
          const set = profileSet(shape, fx.row);
          const changes = this.profileChanges.get(entity) ?? {};
          for (const [c, v] of Object.entries(set)) changes[`${fx.source}.${c}`] = v;
          this.profileChanges.set(entity, changes);
          if (this.program.profiles.includes(fx.source)) this.link.mergeProfile(fx.source, entity, set);
          this.markDirty(entity, m.at);
          break;
        }
        case 'alias':
          if (replay) this.identities.set(fx.from, fx.to);
          break;
        case 'reject':
          break;
      }
    }
    this.pendingFlush.push(m);
    if (m.seq > this.appliedSeq) this.appliedSeq = m.seq;
    // Enough waiting: flush now rather than at the interval (not while replaying at start, nor while a
    // failed flush backs off).
    if (
      !replay &&
      !this.flushing &&
      !this.recovering &&
      this.flushBackoffMs === 0 &&
      this.pendingFlush.length >= this.config.realtime.flushRows
    )
      void this.flush();
  }

  /**
   * The evaluation worker stopped (a crash, out of memory): start a new one with the state again —
   * the warehouse's events, then the messages applied since its position — and evaluate every entity
   * anew. Flushes wait meanwhile (a flush during the load would put its messages in both or neither).
   * A worker stopping again within RESTART_MIN_INTERVAL_MS is left stopped: /readyz then fails, so
   * that an orchestrator restarts the server.
   */
  private recoverEngine(): void {
    if (this.recovering || this.closed || this.restartGaveUp || this.link.mode !== 'worker') return;
    const now = this.wallMs();
    if (now - this.lastRestartAt < RESTART_MIN_INTERVAL_MS) {
      this.restartGaveUp = true;
      this.log('real time: the evaluation worker stopped again soon after a restart; not restarting it');
      return;
    }
    this.lastRestartAt = now;
    this.recovering = this.loadNewEngine()
      .catch((e: unknown) =>
        this.log(
          `real time: could not restart the evaluation worker: ${e instanceof Error ? e.message : String(e)}`,
        ),
      )
      .finally(() => {
        this.recovering = undefined;
      });
  }

  private async loadNewEngine(): Promise<void> {
    const started = Date.now();
    this.log(`real time: restarting the evaluation worker (${this.link.failure})`);
    await this.flushing;
    const link = startEngine(this.program, this.liveTags, 'worker');
    try {
      let upTo = 0;
      await this.turn(async () => {
        const wh = await Warehouse.open(this.config.engine.path, { readOnly: true });
        try {
          upTo = this.warehouseSeq;
          await loadEngineState(wh, this.config, this.program, link, this.clockT(), {
            entityOf: (k) => this.engineId(k as string | number),
          });
        } finally {
          wh.close();
        }
      });
      link.refreshPopulation(this.clockT());
      if (this.closed) throw new Error('the server is shutting down');
      // Applied since the warehouse's position, and then the switch, in one step: a message applied
      // from now on goes to the new engine.
      for (const m of this.pendingFlush) if (m.seq > upTo) this.reapply(link, m);
      this.link = link;
    } catch (e) {
      await link.close();
      throw e;
    }
    // Every entity is evaluated again, all its tags (those of the lost round included). Their events
    // wait in batchEvents until their values are applied, so event triggers of the lost round fire then.
    this.served.clear();
    for (const e of link.entityIds()) this.dirty.add(e);
    this.lastEvaluationError = undefined;
    await link.sync();
    this.restarts++;
    this.log(`real time: evaluation worker restarted in ${Date.now() - started} ms`);
    this.scheduleCommit(0);
  }

  /** A logged row's event, for the engine (when the tags read its source). */
  private addEvent(
    link: EngineLink,
    fx: RowEffect,
    entity: EntityId,
    seq: number,
    full: Readonly<Record<string, unknown>>,
  ): void {
    if (!this.program.eventSources.includes(fx.source)) return;
    link.add({
      source: fx.source,
      entity,
      time: fx.time,
      fileId: LIVE_FILE_ID,
      row: seq,
      data: project(full, this.keepColumns.get(fx.source)),
    });
  }

  /** A message already applied, again: its events and profile updates, into a new engine. */
  private reapply(link: EngineLink, m: LoggedMessage): void {
    for (const fx of m.fx) {
      if (fx.k !== 'row' && fx.k !== 'profile') continue;
      const shape = this.shapes.get(fx.source);
      if (!shape) continue;
      const entity = this.engineId(fx.entity);
      if (fx.k === 'row') this.addEvent(link, fx, entity, m.seq, evaluatorRow(shape, fx.row, this.lookups));
      else if (this.program.profiles.includes(fx.source))
        link.mergeProfile(fx.source, entity, profileSet(shape, fx.row));
    }
  }

  private markDirty(e: EntityId, sinceMs: number): void {
    this.dirty.add(e);
    if (!this.dirtySince.has(e)) {
      this.dirtySince.set(e, sinceMs);
      this.dirtyAt.set(e, performance.now());
    }
  }

  // ---- evaluating into the store -----------------------------------------------------------------

  private scheduleCommit(ms: number): void {
    if (this.stopped) return;
    if (this.commitTimer) {
      if (ms > 0) return;
      clearTimeout(this.commitTimer);
    }
    this.commitTimer = setTimeout(() => {
      this.commitTimer = undefined;
      if (!this.committing) {
        this.committing = this.commit().finally(() => {
          this.committing = undefined;
        });
      }
    }, ms);
  }

  /** Evaluate dirty entities (in slices of a few ms, yielding between) and apply them to the store. */
  private async commit(): Promise<void> {
    try {
      this.addSweep();
      const T = this.clockT();
      const evaluatedFor = this.holder.current;
      const started = performance.now();
      const sliceWall = this.wallMs();
      // Profile attributes go to the store with the values evaluated after them (taken with the entity).
      const profilesOf = new Map<EntityId, Record<string, unknown>>();
      const pending = this.dirty.values();
      const next = (): readonly [EntityId, boolean] | undefined => {
        const r = pending.next();
        if (r.done) return undefined;
        const e = r.value;
        this.dirty.delete(e);
        const profiles = this.profileChanges.get(e);
        if (profiles) {
          profilesOf.set(e, profiles);
          this.profileChanges.delete(e);
        }
        // An entity already served needs only the tags whose value changed (the store holds the rest).
        return [e, this.served.has(e)];
      };
      this.roundsStarted++;
      await this.link.evaluate(next, T, evaluationSliceMs(this.lagMs(started)), (ids, values) =>
        this.apply(ids, updatesOf(ids, values, profilesOf, T), T, evaluatedFor, sliceWall, started),
      );
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      // A stopped worker fails every evaluation the same way: said once (status has it too).
      if (message !== this.lastEvaluationError) {
        this.log(`real time: evaluation failed: ${e instanceof Error ? (e.stack ?? message) : message}`);
      }
      this.lastEvaluationError = message;
      if (this.link.failure !== undefined) this.recoverEngine();
      // Entities of the failed slice are not pending any more: they must not hold lagMs up.
      for (const id of this.dirtyAt.keys()) {
        if (!this.dirty.has(id)) {
          this.dirtyAt.delete(id);
          this.dirtySince.delete(id);
        }
      }
    }
    this.roundsDone = this.roundsStarted;
    this.releaseAcks(this.link.failure !== undefined);
    // More to do: yield to I/O, then go on; else wait for the next tick.
    this.scheduleCommit(this.dirty.size > 0 ? 1 : this.config.realtime.commitIntervalMs);
  }

  private async apply(
    ids: readonly EntityId[],
    updates: readonly EntityUpdate[],
    T: number,
    evaluatedFor: TagStore,
    /** When this slice's evaluation started (wall ms, monotonic ms). */
    evaluatedAtWall: number,
    evaluatedAt: number,
  ): Promise<void> {
    const events = new Map<string, BatchEvent[]>();
    for (const e of ids) {
      const list = this.batchEvents.get(e);
      if (list) {
        events.set(String(e), list);
        this.batchEvents.delete(e);
      }
    }
    const keys = updates.map((u) => u.id);
    let swapped = false;
    try {
      await this.holder.mutate((store) => {
        swapped = store !== evaluatedFor;
        const before = this.triggers?.snapshot(store, keys, T);
        applyUpdates(store, updates);
        // Copied into a reloaded store already: to be copied again at its swap.
        const changed = this.preparing?.changed;
        if (changed) for (const e of ids) changed.add(e);
        if (this.triggers && before) this.triggers.afterBatch(store, keys, before, T, events);
      });
    } catch (e) {
      // The store may lack some of these values: the next evaluation of each sends them all.
      for (const id of ids) this.served.delete(id);
      throw e;
    }
    const now = this.wallMs();
    for (const e of ids) {
      if (swapped) {
        // A reload swapped the store in between: it got newer values than these from onSwap, and
        // these may have overwritten some of them. Evaluate again soon and send every tag.
        this.served.delete(e);
        this.dirty.add(e);
        continue;
      }
      this.served.add(e);
      const since = this.dirtySince.get(e);
      if (since === undefined) continue;
      // Its events accepted before this evaluation are served now.
      this.latencies.push(now - since);
      this.dirtySince.delete(e);
      this.dirtyAt.delete(e);
      if (this.dirty.has(e)) {
        // Events that came meanwhile are not: they count from the evaluation's start (at the latest),
        // at the back of the order (lagMs reads the first entry as the oldest).
        this.dirtySince.set(e, evaluatedAtWall);
        this.dirtyAt.set(e, evaluatedAt);
      }
    }
  }

  /** Add entities of the refresh sweep: all of them once per refresh interval, spread evenly. */
  private addSweep(): void {
    const now = this.wallMs();
    const s = this.sweep;
    if (s.last === 0) {
      s.last = now;
      return;
    }
    if (s.next >= s.ids.length) {
      s.ids = this.link.entityIds();
      s.next = 0;
    }
    s.credit += (s.ids.length * (now - s.last)) / this.config.realtime.refreshIntervalMs;
    s.last = now;
    while (s.credit >= 1 && s.next < s.ids.length) {
      const e = s.ids[s.next++]!;
      if (!this.dirty.has(e)) this.dirty.add(e);
      s.credit--;
    }
    if (s.next >= s.ids.length) s.credit = 0;
  }

  /**
   * Before a reload's swap (worker mode): copy the live values of the entities served so far from the
   * served store into the new one, SWAP_COPY_SLICE entities per turn of the event loop. Done at the
   * swap in one step, this held the event loop for seconds with a million entities served live.
   * Entities whose values change meanwhile are noted and copied again at the swap (onSwap).
   */
  private async prepareSwap(next: TagStore, current: TagStore): Promise<void> {
    if (this.link.valuesNow) return; // inline: evaluated at the swap time instead
    const prepared = { store: next, copied: new Set<EntityId>(), changed: new Set<EntityId>() };
    this.preparing = prepared;
    const ids = [...this.served];
    for (let i = 0; i < ids.length; i += SWAP_COPY_SLICE) {
      if (this.preparing !== prepared || this.stopped) return;
      const updates: EntityUpdate[] = [];
      for (let k = i; k < Math.min(ids.length, i + SWAP_COPY_SLICE); k++) {
        const e = ids[k]!;
        const update = liveValuesIn(current, String(e), this.liveTags);
        if (!update) continue;
        updates.push(update);
        prepared.copied.add(e);
      }
      applyUpdates(next, updates);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** After a reload swapped in a new build: put the live values of entities evaluated since into it. */
  private onSwap(store: TagStore, previous: TagStore): void {
    if (store.program !== this.program && !sameTags(store.program, this.program)) {
      this.log(
        'real time: the tag definitions changed with this build; restart the server to evaluate the new ones live',
      );
    }
    this.buildAsOf = Math.max(this.buildAsOf, store.info.asOfMicros);
    const T = this.clockT();
    const valuesNow = this.link.valuesNow?.bind(this.link);
    const updates: EntityUpdate[] = [];
    if (valuesNow) {
      for (const e of this.served)
        updates.push({ id: String(e), tags: valuesNow(e, T) as Record<string, never>, asOf: T });
    } else {
      // The engine is in the worker: the values it sent last are in the store being replaced (the
      // store holds what an entity served last got, see apply), so they are copied from there.
      // Readers never see the build's older values for these entities.
      // Those copied before the swap (prepareSwap) and unchanged since are there already.
      const prepared = this.preparing?.store === store ? this.preparing : undefined;
      for (const e of this.served) {
        if (prepared?.copied.has(e) && !prepared.changed.has(e)) continue;
        const update = liveValuesIn(previous, String(e), this.liveTags);
        if (update) updates.push(update);
        else this.reevaluate(e);
      }
      this.lastSwapCopies = { before: prepared?.copied.size ?? 0, atSwap: updates.length };
    }
    this.preparing = undefined;
    applyUpdates(store, updates);
  }

  /** Evaluate an entity again soon, sending all its tags. */
  private reevaluate(e: EntityId): void {
    this.served.delete(e);
    this.dirty.add(e);
    this.scheduleCommit(0);
  }

  // ---- into the warehouse ------------------------------------------------------------------------

  private scheduleFlush(ms: number): void {
    if (this.stopped) return;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      void this.flush().finally(() =>
        this.scheduleFlush(this.config.realtime.flushIntervalMs + this.flushBackoffMs),
      );
    }, ms);
    this.flushTimer.unref();
  }

  /**
   * Write everything logged and applied so far into the warehouse; resolves when it is there (a flush
   * already running is waited for, then another one takes the rest). Throws when a flush fails.
   */
  async flushAll(): Promise<void> {
    const target = this.appliedSeq;
    while (this.warehouseSeq < target && this.pendingFlush.length > 0) {
      await this.flush();
      if (this.lastFlushError) throw new TagverseError('realtime.flush_failed', this.lastFlushError);
    }
  }

  /** Start a flush (or join the one running); resolves when it ends, whether it succeeded or not. */
  flush(): Promise<void> {
    if (this.recovering) return this.recovering.then(() => this.flush());
    if (!this.flushing) {
      this.flushing = this.doFlush().finally(() => {
        this.flushing = undefined;
      });
    }
    return this.flushing;
  }

  private async doFlush(): Promise<void> {
    this.deduper.expire(this.wallMs());
    if (this.pendingFlush.length === 0) return;
    const batch = this.pendingFlush.slice(0, 200_000);
    try {
      const r = await this.turn(async () => {
        const wh = await Warehouse.open(this.config.engine.path, {
          ...(this.config.engine.threads !== undefined ? { threads: this.config.engine.threads } : {}),
          ...(this.config.engine.memoryLimit !== undefined
            ? { memoryLimit: this.config.engine.memoryLimit }
            : {}),
        });
        try {
          const result = await flushToWarehouse(wh, this.config, this.shapes, batch);
          // The dedupe window only needs recent ids: forget older ones now and then.
          if (Math.random() < 0.05) {
            const limit = (this.wallMs() - this.config.realtime.dedupeWindowMs) * 1000;
            await wh.run(
              `DELETE FROM ${REALTIME_MESSAGES} WHERE received_at < make_timestamptz(${Math.floor(limit)})`,
            );
          }
          // Checkpoint now, on DuckDB's threads: closing would do it synchronously, stalling the
          // event loop (and every request) for as long as it takes.
          await wh.run('CHECKPOINT');
          return result;
        } finally {
          wh.close();
        }
      });
      this.pendingFlush.splice(0, batch.length);
      this.warehouseSeq = r.lastSeq;
      this.wal.trimThrough(r.lastSeq);
      this.lastFlush = { at: new Date().toISOString(), rows: r.rows, ms: Math.round(r.ms) };
      this.lastFlushError = undefined;
      this.flushBackoffMs = 0;
    } catch (e) {
      this.lastFlushError = e instanceof Error ? e.message.split('\n')[0] : String(e);
      this.flushBackoffMs = Math.min(30_000, Math.max(500, this.flushBackoffMs * 2));
      this.log(`real time: flush into the warehouse failed (will retry): ${this.lastFlushError}`);
    }
  }

  // ---- status and shutdown -----------------------------------------------------------------------

  /** Wait until everything accepted so far is served (evaluated into the store). */
  async settle(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.unapplied.length > 0 || this.dirty.size > 0 || this.committing) {
      if (Date.now() > deadline) throw new Error('real time did not settle in time');
      this.scheduleCommit(0);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  status(): RealtimeStatus {
    return {
      asOf: new Date(Math.floor(this.clockT() / 1000)).toISOString(),
      clock: this.config.realtime.clock,
      ...this.counts,
      durableSeq: this.wal.durable,
      appliedSeq: this.appliedSeq,
      flushedSeq: this.warehouseSeq,
      pendingFlush: this.pendingFlush.length,
      dirtyEntities: this.dirty.size,
      entities: this.holder.current.size,
      walBytes: this.wal.sizeBytes(),
      walGroups: this.wal.groups,
      lastSwapCopies: { ...this.lastSwapCopies },
      ...(this.lastFlush ? { lastFlush: this.lastFlush } : {}),
      ...(this.lastFlushError ? { lastFlushError: this.lastFlushError } : {}),
      evaluator: {
        mode: this.link.mode,
        restarts: this.restarts,
        ...(this.link.failure !== undefined ? { error: this.link.failure } : {}),
      },
      latencyMs: this.latencies.summary(),
      lagMs: Math.round(this.lagMs(performance.now())),
      dedupe: {
        ids: this.deduper.size,
        evicted: this.deduper.evicted,
        coversMs: Math.round(this.wallMs() - (this.deduper.oldestAt ?? this.wallMs())),
      },
      ...(this.triggers && this.deliverer
        ? {
            triggers: {
              ...this.triggers.stats,
              delivered: this.deliverer.stats.delivered,
              retried: this.deliverer.stats.retried,
              dead: this.deliverer.stats.dead,
              backlog: this.deliverer.backlog,
              deliveryLatencyMs: summarize(this.deliverer.stats.latencies),
            },
          }
        : {}),
    };
  }

  /** Stop accepting, serve and flush what was accepted, close the log. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.wal.close();
      this.applyDurable();
      await this.settle(10_000).catch(() => undefined);
    } finally {
      this.stopped = true;
      if (this.commitTimer) clearTimeout(this.commitTimer);
      await this.committing;
      if (this.flushTimer) clearTimeout(this.flushTimer);
      await this.flushing;
      await this.flushAll().catch((e: unknown) =>
        this.log(
          `real time: could not flush at shutdown (the log keeps it): ${e instanceof Error ? e.message : String(e)}`,
        ),
      );
      this.deliverer?.close();
      this.releaseAcks(true);
      // A worker being started again is closed too, not left running.
      await this.recovering;
      await this.link.close();
    }
  }
}

/** A logged profile update's columns, typed as the engine holds them (unknown columns left out). */
function profileSet(shape: SourceShape, row: ProfileEffect['row']): Record<string, unknown> {
  const set: Record<string, unknown> = {};
  const types = new Map(shape.columns.map((c) => [c.name, c.type]));
  for (const [c, v] of Object.entries(row)) {
    const type = types.get(c);
    if (type !== undefined) set[c] = evaluatorValue(v, cellKind(type));
  }
  return set;
}

/** A chunk of evaluated values as store updates (with the profile attributes taken with them). */
function updatesOf(
  ids: readonly EntityId[],
  values: readonly TagValues[],
  profilesOf: ReadonlyMap<EntityId, Record<string, unknown>>,
  T: number,
): EntityUpdate[] {
  return ids.map((e, i) => {
    const profiles = profilesOf.get(e);
    return {
      id: String(e),
      tags: values[i] as Record<string, never>,
      ...(profiles ? { profiles: profiles as Record<string, never> } : {}),
      asOf: T,
    };
  });
}

function summarize(values: readonly number[]): { count: number; p50: number | null; p99: number | null } {
  const s = [...values].sort((a, b) => a - b);
  const at = (p: number) => (s.length === 0 ? null : s[Math.min(s.length - 1, Math.floor(s.length * p))]!);
  return { count: s.length, p50: at(0.5), p99: at(0.99) };
}

/** Tags real time computes: all but model tags and the tags that read them (directly or not). */
export function liveTagsOf(program: TagProgram): TagIR[] {
  const excluded = new Set<string>();
  for (const t of program.tags) {
    if (t.kind === 'model' || t.dependsOn.some((d) => excluded.has(d))) excluded.add(t.name);
  }
  return program.tags.filter((t) => !excluded.has(t.name));
}

function sameTags(a: TagProgram, b: TagProgram): boolean {
  return JSON.stringify(a.tags.map((t) => t.definition)) === JSON.stringify(b.tags.map((t) => t.definition));
}

/** An entity's live tag values (and their as-of time) as a store holds them, if it holds the entity. */
function liveValuesIn(store: TagStore, id: string, liveTags: readonly TagIR[]): EntityUpdate | undefined {
  const o = store.ordinal(id);
  if (o === undefined) return undefined;
  const tags: Record<string, RefValue> = {};
  for (const t of liveTags) {
    const col = store.tags.get(t.name);
    if (col) tags[t.name] = refValue(col, o);
  }
  // NaN: the build's as-of time, which the new store's own stands for.
  const asOf = store.entityAsOf?.[o];
  return asOf === undefined || Number.isNaN(asOf) ? { id, tags } : { id, tags, asOf };
}

/** The newest event time in the warehouse (µs), over every events source. */
async function newestEventTime(wh: Warehouse, program: TagProgram): Promise<number> {
  let max = Number.NEGATIVE_INFINITY;
  for (const s of program.eventSources) {
    if ((await wh.columns('main', s)).length === 0) continue;
    const v = await wh.scalar<number | null>(
      `SELECT CAST(epoch_us(max(${ident(program.timeColumns[s]!)})) AS DOUBLE) FROM ${qualified('main', s)}`,
    );
    if (v !== null && v !== undefined && v > max) max = v;
  }
  return max;
}

/** Entities with real-time rows flushed after the latest build started (their served values are older). */
async function changedSinceBuild(
  wh: Warehouse,
  program: TagProgram,
  entityOf: (k: unknown) => EntityId,
): Promise<EntityId[]> {
  if (!(await wh.tableExists('tagverse', 'files'))) return [];
  const since = (await wh.tableExists('tags', 'builds'))
    ? `(SELECT max(started_at) FROM ${BUILDS})`
    : `TIMESTAMPTZ '1970-01-01 00:00:00+00'`;
  const out = new Set<EntityId>();
  for (const s of program.eventSources) {
    if ((await wh.columns('raw', s)).length === 0) continue;
    const rows = await wh.rows<{ k: unknown }>(
      `SELECT DISTINCT ${ident(program.entityKeys[s]!)} AS k FROM ${qualified('raw', s)}
       WHERE "_file_id" IN (SELECT file_id FROM tagverse.files WHERE format = 'realtime' AND loaded_at >= COALESCE(${since}, TIMESTAMPTZ '1970-01-01 00:00:00+00'))`,
    );
    for (const r of rows) out.add(entityOf(typeof r.k === 'bigint' ? Number(r.k) : r.k));
  }
  return [...out];
}

/** Shortest and longest evaluation slice (ms of the event loop before it turns to I/O again). */
const MIN_SLICE_MS = 8;
const MAX_SLICE_MS = 50;

/**
 * How long one evaluation slice may run, given how long the oldest accepted event has waited (ms).
 * A short slice keeps requests answered quickly while evaluation keeps up. When it falls behind (more
 * events arrive than the slices between requests can evaluate), a fixed slice would let the lag grow
 * without bound; a slice growing with the lag gives evaluation more of the loop. Requests then wait
 * longer for it, so clients that wait for acknowledgements slow down to the rate the tags keep up with.
 */
export function evaluationSliceMs(lagMs: number): number {
  return Math.min(MAX_SLICE_MS, Math.max(MIN_SLICE_MS, lagMs / 4));
}
