/**
 * Triggers at work: after each batch of real-time updates, which entities entered or left a trigger's
 * condition, and which new events (with the entity's tags after them) satisfy an event trigger; then
 * frequency caps, quiet hours in the entity's time zone, the payload (reasons, includes) and delivery.
 *
 * Conditions are evaluated on the served store, before and after a batch is applied (so `enter` means
 * "was not true in what we served, is true now"), with the same closures as the incremental engine.
 * An enter is not fired twice in a row for the same entity and trigger (nor a leave): the last
 * direction fired is kept (and rebuilt from the outbox at start), so replaying the log after a crash
 * does not repeat them. An event trigger fires once per message id.
 */
import type { RefValue } from '../../lang/functions.js';
import { type Expr, forEachNode, type ValueType } from '../../lang/ir.js';
import type { SourceSchemas } from '../../lang/schemas.js';
import { localParts } from '../../lang/time.js';
import { isoFromMicros, refValue } from '../../online/columns.js';
import type { TagStore } from '../../online/store.js';
import { cell } from '../../reference/expression.js';
import { type ClosureEnv, type Compiled, compileClosure } from '../closures.js';
import type { Lookups } from '../initial-state.js';
import { EVENT_SCOPE, type Trigger } from './definitions.js';
import type { Deliverer, Delivery } from './delivery.js';

/** An event that arrived for an entity in this batch. */
export interface BatchEvent {
  readonly source: string;
  readonly messageId: string;
  readonly time: number;
  /** Columns as the evaluators read them (lookups joined). */
  readonly row: Readonly<Record<string, unknown>>;
}

export interface TriggerStats {
  fired: number;
  capped: number;
  quiet: number;
  repeated: number;
  readonly byTrigger: Record<string, number>;
}

interface CompiledTrigger {
  readonly t: Trigger;
  readonly when: Compiled;
  readonly includes: readonly {
    readonly def: Trigger['includes'][number];
    readonly where?: Compiled;
    readonly lat?: Compiled;
    readonly lon?: Compiled;
  }[];
  /** Names `when` reads, for the reasons. */
  readonly reads: readonly {
    readonly kind: 'tag' | 'profile' | 'event';
    readonly name: string;
    readonly source?: string;
    readonly type: ValueType;
  }[];
}

/** Scope of an evaluation: an entity of the store, maybe an event, maybe a lookup row. */
class Scope implements ClosureEnv {
  ordinal = -1;
  event: Readonly<Record<string, unknown>> | undefined;
  lookup: { readonly name: string; readonly row: Readonly<Record<string, unknown>> } | undefined;
  constructor(
    public store: TagStore,
    private readonly asOfMicros: () => number,
  ) {}
  column(): RefValue {
    throw new Error('event columns are read as event.<column> in triggers');
  }
  profile(source: string, column: string): RefValue {
    if (source === EVENT_SCOPE) return cell(this.event as Record<string, unknown> | undefined, column);
    if (this.lookup && source === this.lookup.name)
      return cell(this.lookup.row as Record<string, unknown>, column);
    if (this.ordinal < 0) return null;
    const col = this.store.profiles.get(`${source}.${column}`);
    return col ? refValue(col, this.ordinal) : null;
  }
  tag(name: string): RefValue {
    if (this.ordinal < 0) return null;
    const col = this.store.tags.get(name);
    return col ? refValue(col, this.ordinal) : null;
  }
  agg(): RefValue {
    throw new Error('aggregates are not readable in triggers');
  }
  asOf(): number {
    return this.asOfMicros();
  }
}

function readsOf(e: Expr): CompiledTrigger['reads'] {
  const out = new Map<string, CompiledTrigger['reads'][number]>();
  forEachNode(e, (x) => {
    if (x.kind === 'tag') out.set(`t:${x.name}`, { kind: 'tag', name: x.name, type: x.type });
    else if (x.kind === 'profile' && x.source === EVENT_SCOPE)
      out.set(`e:${x.column}`, { kind: 'event', name: x.column, type: x.type });
    else if (x.kind === 'profile')
      out.set(`p:${x.source}.${x.column}`, {
        kind: 'profile',
        name: x.column,
        source: x.source,
        type: x.type,
      });
  });
  return [...out.values()];
}

/** A value as JSON: times ISO, dates YYYY-MM-DD, lists as {value, score}. */
export function jsonOf(v: RefValue | unknown, type: ValueType | string | undefined): unknown {
  if (v === null || v === undefined) return null;
  if (type === 'time' && typeof v === 'number') return isoFromMicros(v);
  if (type === 'date' && typeof v === 'number') return new Date(v * 86_400_000).toISOString().slice(0, 10);
  if (typeof v === 'number' && !Number.isFinite(v)) return null;
  return v;
}

function haversineKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const r = Math.PI / 180;
  const a =
    Math.sin(((lat2 - lat1) * r) / 2) ** 2 +
    Math.cos(lat1 * r) * Math.cos(lat2 * r) * Math.sin(((lon2 - lon1) * r) / 2) ** 2;
  return 2 * 6371.0088 * Math.asin(Math.min(1, Math.sqrt(a)));
}

export class TriggerRuntime {
  private readonly compiled: CompiledTrigger[];
  private readonly stateful: CompiledTrigger[];
  private readonly byEventSource = new Map<string, CompiledTrigger[]>();
  /** Last direction fired per trigger and entity (enter/leave alternate). */
  private readonly lastDirection = new Map<string, 'enter' | 'leave'>();
  /** Fire times per trigger and entity within the longest cap window. */
  private readonly fires = new Map<string, number[]>();
  /** Event-trigger keys already fired (trigger + messageId). */
  private readonly eventKeys = new Map<string, number>();
  private readonly scope: Scope;
  private asOf = 0;
  readonly stats: TriggerStats = { fired: 0, capped: 0, quiet: 0, repeated: 0, byTrigger: {} };

  constructor(
    readonly triggers: readonly Trigger[],
    store: TagStore,
    private readonly schemas: SourceSchemas,
    private readonly lookups: Lookups,
    private readonly deliverer: Deliverer,
    private readonly opts: { readonly timezone: string; readonly now?: () => number },
  ) {
    this.scope = new Scope(store, () => this.asOf);
    this.compiled = triggers
      .filter((t) => !t.paused)
      .map((t) => ({
        t,
        when: compileClosure(t.when, opts.timezone),
        includes: t.includes.map((def) => ({
          def,
          ...(def.where ? { where: compileClosure(def.where, opts.timezone) } : {}),
          ...(def.near
            ? {
                lat: compileClosure(def.near.lat, opts.timezone),
                lon: compileClosure(def.near.lon, opts.timezone),
              }
            : {}),
        })),
        reads: readsOf(t.when),
      }));
    this.stateful = this.compiled.filter((c) => c.t.on !== 'event');
    for (const c of this.compiled) {
      if (c.t.on !== 'event') continue;
      const list = this.byEventSource.get(c.t.source!) ?? [];
      list.push(c);
      this.byEventSource.set(c.t.source!, list);
    }
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** Rebuild caps and enter/leave state from the outbox's fires; send again what was not delivered. */
  restore(fired: readonly Delivery[], pending: readonly Delivery[]): void {
    const byName = new Map(this.triggers.map((t) => [t.name, t]));
    for (const d of fired) {
      const k = `${d.trigger}\u0000${d.entity}`;
      if (d.on === 'enter' || d.on === 'leave') this.lastDirection.set(k, d.on);
      if (d.key !== undefined) this.eventKeys.set(`${d.trigger}\u0000${d.key}`, d.firedAt);
      const list = this.fires.get(k) ?? [];
      list.push(d.firedAt);
      this.fires.set(k, list);
    }
    for (const d of pending) {
      const t = byName.get(d.trigger);
      if (t) this.deliverer.enqueue(d, t.webhook);
    }
  }

  get watchesEvents(): boolean {
    return this.byEventSource.size > 0;
  }

  watches(source: string): boolean {
    return this.byEventSource.has(source);
  }

  /** Condition values of the enter/leave triggers for these entities, in the store as it is now. */
  snapshot(store: TagStore, ids: readonly string[], asOf: number): Uint8Array {
    const out = new Uint8Array(ids.length * this.stateful.length);
    if (this.stateful.length === 0) return out;
    this.scope.store = store;
    this.scope.event = undefined;
    this.scope.lookup = undefined;
    this.asOf = asOf;
    ids.forEach((id, i) => {
      this.scope.ordinal = store.ordinal(id) ?? -1;
      this.stateful.forEach((c, j) => {
        out[i * this.stateful.length + j] = c.when(this.scope) === true ? 1 : 0;
      });
    });
    return out;
  }

  /**
   * After a batch was applied: fire enter/leave for entities whose condition changed (`before` from
   * `snapshot` before the batch), and event triggers for the batch's events.
   */
  afterBatch(
    store: TagStore,
    ids: readonly string[],
    before: Uint8Array,
    asOf: number,
    events: ReadonlyMap<string, readonly BatchEvent[]>,
  ): void {
    const after = this.snapshot(store, ids, asOf);
    const n = this.stateful.length;
    for (let i = 0; i < ids.length; i++) {
      for (let j = 0; j < n; j++) {
        const was = before[i * n + j] === 1;
        const is = after[i * n + j] === 1;
        if (was === is) continue;
        const c = this.stateful[j]!;
        const direction = is ? 'enter' : 'leave';
        if (c.t.on !== direction) {
          // Track the direction all the same, so a later opposite move is seen as a change.
          this.lastDirection.set(`${c.t.name}\u0000${ids[i]}`, direction);
          continue;
        }
        this.scope.ordinal = store.ordinal(ids[i]!) ?? -1;
        this.fire(c, ids[i]!, store, asOf, undefined);
      }
    }
    if (this.byEventSource.size === 0) return;
    for (const [id, list] of events) {
      const ordinal = store.ordinal(id) ?? -1;
      for (const ev of list) {
        const triggers = this.byEventSource.get(ev.source);
        if (!triggers) continue;
        for (const c of triggers) {
          this.scope.ordinal = ordinal;
          this.scope.event = ev.row;
          this.scope.lookup = undefined;
          this.asOf = asOf;
          if (c.when(this.scope) === true) this.fire(c, id, store, asOf, ev);
        }
      }
    }
    this.scope.event = undefined;
  }

  private fire(
    c: CompiledTrigger,
    entity: string,
    store: TagStore,
    asOf: number,
    ev: BatchEvent | undefined,
  ): void {
    const t = c.t;
    const k = `${t.name}\u0000${entity}`;
    const now = this.now();
    if (ev) {
      const key = `${t.name}\u0000${ev.messageId}`;
      if (this.eventKeys.has(key)) {
        this.stats.repeated++;
        return;
      }
      this.eventKeys.set(key, now);
      if (this.eventKeys.size > 200_000) {
        // Forget the oldest half: keys only guard against replays shortly after a restart.
        let drop = this.eventKeys.size / 2;
        for (const x of this.eventKeys.keys()) {
          if (drop-- <= 0) break;
          this.eventKeys.delete(x);
        }
      }
    } else {
      if (this.lastDirection.get(k) === t.on) {
        this.stats.repeated++;
        return;
      }
      this.lastDirection.set(k, t.on as 'enter' | 'leave');
    }
    if (t.cap) {
      const list = (this.fires.get(k) ?? []).filter((at) => at > now - t.cap!.perMs);
      if (list.length >= t.cap.max) {
        this.fires.set(k, list);
        this.stats.capped++;
        return;
      }
    }
    let notBefore = now;
    if (t.quietHours) {
      const wait = this.quietWait(t, now);
      if (wait > 0 && t.quietHours.during === 'drop') {
        this.stats.quiet++;
        return;
      }
      notBefore = now + wait;
    }
    const list = (this.fires.get(k) ?? []).filter((at) => at > now - (t.cap?.perMs ?? 0));
    list.push(now);
    this.fires.set(k, list);
    const body = this.payload(c, entity, store, asOf, ev, now);
    this.deliverer.fire(
      {
        trigger: t.name,
        entity,
        on: t.on,
        url: t.webhook.url,
        body,
        firedAt: now,
        notBefore,
        ...(ev ? { key: ev.messageId } : {}),
      },
      t.webhook,
    );
    this.stats.fired++;
    this.stats.byTrigger[t.name] = (this.stats.byTrigger[t.name] ?? 0) + 1;
  }

  /** Milliseconds until the entity's quiet hours end (0 outside them). */
  private quietWait(t: Trigger, now: number): number {
    const q = t.quietHours!;
    let tz = this.opts.timezone;
    if (q.zone.kind === 'zone') tz = q.zone.tz;
    else {
      const v = this.scope.profile(q.zone.source, q.zone.column);
      if (typeof v === 'string' && v !== '') tz = v;
    }
    let parts: { hour: number; minute: number };
    try {
      parts = localParts(now * 1000, tz);
    } catch {
      parts = localParts(now * 1000, this.opts.timezone);
    }
    const m = parts.hour * 60 + parts.minute;
    const inside = q.from < q.to ? m >= q.from && m < q.to : m >= q.from || m < q.to;
    if (!inside) return 0;
    const until = (q.to - m + 1440) % 1440 || 1440;
    return until * 60_000 - (now % 60_000);
  }

  private payload(
    c: CompiledTrigger,
    entity: string,
    store: TagStore,
    asOf: number,
    ev: BatchEvent | undefined,
    now: number,
  ): string {
    const t = c.t;
    const reasons = c.reads.map((r) => {
      const v =
        r.kind === 'tag'
          ? this.scope.tag(r.name)
          : r.kind === 'event'
            ? this.scope.profile(EVENT_SCOPE, r.name)
            : this.scope.profile(r.source!, r.name);
      return {
        kind: r.kind,
        name: r.kind === 'profile' ? `${r.source}.${r.name}` : r.name,
        value: jsonOf(v, r.type),
      };
    });
    const include: Record<string, unknown[]> = {};
    for (const inc of c.includes) include[inc.def.name] = this.includeRows(inc);
    const eventJson = ev
      ? {
          messageId: ev.messageId,
          source: ev.source,
          time: isoFromMicros(ev.time),
          columns: Object.fromEntries(
            Object.entries(ev.row).map(([k, v]) => [
              k,
              jsonOf(v, this.schemas.get(ev.source)?.columns.get(k)),
            ]),
          ),
        }
      : undefined;
    return JSON.stringify({
      trigger: { name: t.name, title: t.title, on: t.on, when: t.whenText },
      entity,
      firedAt: new Date(now).toISOString(),
      asOf: isoFromMicros(asOf),
      buildId: store.info.buildId,
      reasons,
      ...(eventJson ? { event: eventJson } : {}),
      ...(c.includes.length > 0 ? { include } : {}),
    });
  }

  private includeRows(inc: CompiledTrigger['includes'][number]): unknown[] {
    const s = this.scope;
    const lat = inc.lat?.(s);
    const lon = inc.lon?.(s);
    const near = typeof lat === 'number' && typeof lon === 'number' ? { lat, lon } : undefined;
    const schema = this.schemas.get(inc.def.lookup);
    const picked: { row: Readonly<Record<string, unknown>>; km: number | undefined }[] = [];
    for (const row of this.lookups.rows(inc.def.lookup)) {
      if (inc.where) {
        s.lookup = { name: inc.def.lookup, row };
        const ok = inc.where(s) === true;
        s.lookup = undefined;
        if (!ok) continue;
      }
      let km: number | undefined;
      if (near && inc.def.near) {
        const [latCol, lonCol] = inc.def.near.columns;
        const a = row[latCol];
        const b = row[lonCol];
        if (typeof a !== 'number' || typeof b !== 'number') continue;
        km = haversineKm(near.lat, near.lon, a, b);
      }
      picked.push({ row, km });
    }
    if (near) picked.sort((x, y) => x.km! - y.km!);
    return picked.slice(0, inc.def.limit).map(({ row, km }) => {
      const cols = inc.def.columns ?? Object.keys(row);
      const out: Record<string, unknown> = {};
      for (const c of cols) out[c] = jsonOf(row[c] ?? null, schema?.columns.get(c));
      if (km !== undefined) out.distance_km = Math.round(km * 1000) / 1000;
      return out;
    });
  }
}
