/**
 * How the real-time runtime talks to its incremental engine: in the same thread (`inline`), or in a
 * worker thread (`worker`, the default) so that evaluating tags and answering requests run on two
 * cores, and a profile read never waits behind an evaluation.
 *
 * Both take the same changes in the same order (events, profile updates, population refreshes) and
 * evaluate a list of entities as of T into their changed tag values. The worker keeps the only copy of
 * the engine's state: changes are queued here and posted when the turn of the event loop that queued
 * them ends, one message per accepted batch (events column by column: cloning arrays of numbers and
 * strings costs a fraction of cloning one object per row), so the worker applies them between
 * evaluations instead of at the start of the next one; an
 * evaluation comes back in chunks of ~10 ms of work, so the first entities are served while the
 * worker evaluates the rest.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { TagIR, TagProgram } from '../lang/ir.js';
import { type EntityId, type IncomingEvent, IncrementalEngine, type TagValues } from './engine.js';
import { type EngineChange, type FromWorker, type ToWorker, WORKER_MARK } from './engine-worker.js';

/** The next entity to evaluate, and whether only its changed tags are needed; undefined: no more. */
export type NextEntity = () => readonly [EntityId, boolean] | undefined;

/** Apply evaluated values (ids[i] has values[i]); the next chunk waits for the returned promise. */
export type OnValues = (ids: readonly EntityId[], values: readonly TagValues[]) => Promise<void>;

export interface EngineLink {
  readonly mode: 'inline' | 'worker';
  /** Why the engine cannot evaluate any more (the worker stopped), if it cannot. */
  readonly failure: string | undefined;
  add(ev: IncomingEvent): void;
  /** Set columns of an entity's profile row (the other columns keep their values). */
  mergeProfile(source: string, entity: EntityId, set: Readonly<Record<string, unknown>>): void;
  /** Replace a profile source's rows. */
  setProfiles(source: string, rows: readonly Readonly<Record<string, unknown>>[]): void;
  refreshPopulation(T: number): void;
  /** Entities the engine knows (with events or a profile). */
  entityIds(): EntityId[];
  /** Resolves once the engine has taken every change made so far (the state read at start, say). */
  sync(): Promise<void>;
  /**
   * Evaluate entities as of T. Inline: takes entities from `next` until `budgetMs` has passed (the rest
   * stay where they are), then calls onValues once. Worker: takes every entity `next` gives at once
   * and calls onValues per chunk as the worker sends them. Resolves after the last onValues.
   */
  evaluate(next: NextEntity, T: number, budgetMs: number, onValues: OnValues): Promise<void>;
  /** All tag values of an entity now, where the engine is in this thread (inline) — else undefined. */
  valuesNow?(entity: EntityId, T: number): TagValues;
  close(): Promise<void>;
}

export type EvaluatorMode = 'inline' | 'worker';

export function startEngine(program: TagProgram, tags: readonly TagIR[], mode: EvaluatorMode): EngineLink {
  return mode === 'worker' ? new WorkerEngine(program, tags) : new InlineEngine(program, tags);
}

/** The engine in this thread: every call is the engine's own. */
class InlineEngine implements EngineLink {
  readonly mode = 'inline';
  readonly failure = undefined;
  private readonly engine: IncrementalEngine;

  constructor(program: TagProgram, tags: readonly TagIR[]) {
    this.engine = new IncrementalEngine(program, tags, { affinity: 'incremental' });
  }

  add(ev: IncomingEvent): void {
    this.engine.add(ev);
  }

  mergeProfile(source: string, entity: EntityId, set: Readonly<Record<string, unknown>>): void {
    this.engine.mergeProfile(source, entity, set);
  }

  setProfiles(source: string, rows: readonly Readonly<Record<string, unknown>>[]): void {
    this.engine.setProfiles(source, rows);
  }

  refreshPopulation(T: number): void {
    this.engine.refreshPopulation(T);
  }

  entityIds(): EntityId[] {
    return this.engine.entityIds();
  }

  async sync(): Promise<void> {}

  async evaluate(next: NextEntity, T: number, budgetMs: number, onValues: OnValues): Promise<void> {
    const started = performance.now();
    const ids: EntityId[] = [];
    const values: TagValues[] = [];
    for (let item = next(); item !== undefined; ) {
      ids.push(item[0]);
      values.push(this.engine.updateAt(item[0], T, item[1]));
      if (performance.now() - started > budgetMs) break;
      item = next();
    }
    if (ids.length > 0) await onValues(ids, values);
  }

  valuesNow(entity: EntityId, T: number): TagValues {
    return this.engine.valuesAt(entity, T);
  }

  async close(): Promise<void> {}
}

/** Events of one source in a row, column by column: an `add` change, posted as it is. */
class AddColumns {
  readonly k = 'add';
  readonly entity: EntityId[] = [];
  readonly time: number[] = [];
  readonly fileId: number[] = [];
  readonly row: number[] = [];
  readonly values: unknown[][];
  constructor(
    readonly source: string,
    readonly cols: readonly string[],
  ) {
    this.values = cols.map(() => []);
  }
}

/** Changes waiting to be posted: more than this many events are posted at once. */
const POST_EVERY_EVENTS = 8192;

/** The engine in a worker thread. */
class WorkerEngine implements EngineLink {
  readonly mode = 'worker';
  failure: string | undefined;
  private readonly worker: Worker;
  private readonly known = new Set<EntityId>();
  private changes: EngineChange[] = [];
  private pendingEvents = 0;
  private open: AddColumns | undefined;
  private flushScheduled = false;
  private nextRequest = 1;
  /** sync() calls waiting for the worker's answer, by request number. */
  private readonly syncs = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  /** The evaluation in flight: its entities, chunks applied so far, and how to end it. */
  private inFlight:
    | {
        n: number;
        ids: EntityId[];
        done: number;
        chain: Promise<void>;
        onValues: OnValues;
        resolve: () => void;
        reject: (e: Error) => void;
      }
    | undefined;

  constructor(
    private readonly program: TagProgram,
    tags: readonly TagIR[],
  ) {
    this.worker = spawnEngineWorker();
    // The server's handles keep the process alive, not the worker (a runtime never closed must not
    // hold a process open).
    this.worker.unref();
    this.worker.on('message', (m: FromWorker) => this.onMessage(m));
    this.worker.on('error', (e) => this.fail(`the evaluation worker failed: ${e.stack ?? e.message}`));
    this.worker.on('exit', (code) => this.fail(`the evaluation worker exited (code ${code})`));
    this.post({ t: 'init', program, tags: tags.map((t) => t.name) });
  }

  private post(m: ToWorker): void {
    if (this.failure === undefined) this.worker.postMessage(m);
  }

  private fail(message: string): void {
    if (this.failure !== undefined) return;
    this.failure = message;
    for (const s of this.syncs.values()) s.reject(new Error(message));
    this.syncs.clear();
    const f = this.inFlight;
    this.inFlight = undefined;
    f?.chain.then(() => f.reject(new Error(message)), f.reject);
  }

  add(ev: IncomingEvent): void {
    this.known.add(ev.entity);
    let open = this.open;
    const data = ev.data;
    if (open === undefined || open.source !== ev.source || !sameColumns(open.cols, data)) {
      // Filled below until the next post.
      open = new AddColumns(ev.source, Object.keys(data));
      this.changes.push(open);
      this.open = open;
    }
    open.entity.push(ev.entity);
    open.time.push(ev.time);
    open.fileId.push(ev.fileId ?? Number.MAX_SAFE_INTEGER);
    // NaN: none given (the engine numbers the entity's arrivals).
    open.row.push(ev.row ?? Number.NaN);
    const cols = open.cols;
    for (let c = 0; c < cols.length; c++) open.values[c]!.push(data[cols[c]!]);
    if (++this.pendingEvents >= POST_EVERY_EVENTS) this.flush();
    else this.flushSoon();
  }

  /**
   * Post what is queued once this turn of the event loop ends (the changes of one accepted batch go
   * together): the worker applies them while it would otherwise wait for the next evaluation, instead
   * of first thing in it.
   */
  private flushSoon(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  mergeProfile(source: string, entity: EntityId, set: Readonly<Record<string, unknown>>): void {
    this.known.add(entity);
    this.changes.push({ k: 'merge', source, entity, set });
    this.open = undefined;
    this.flushSoon();
  }

  setProfiles(source: string, rows: readonly Readonly<Record<string, unknown>>[]): void {
    const key = this.program.entityKeys[source]!;
    for (const r of rows) {
      const id = r[key];
      if (id !== null && id !== undefined) this.known.add(id as EntityId);
    }
    this.changes.push({ k: 'profiles', source, rows });
    this.open = undefined;
    this.flush();
  }

  refreshPopulation(T: number): void {
    this.changes.push({ k: 'refresh', T });
    this.open = undefined;
    this.flushSoon();
  }

  entityIds(): EntityId[] {
    return [...this.known];
  }

  /** Post the queued changes (in order; before any evaluation that must see them). */
  flush(): void {
    if (this.changes.length === 0) return;
    const changes = this.changes;
    this.changes = [];
    this.pendingEvents = 0;
    this.open = undefined;
    this.post({ t: 'changes', changes });
  }

  sync(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(new Error(this.failure));
    this.flush();
    const n = this.nextRequest++;
    return new Promise((resolve, reject) => {
      this.syncs.set(n, { resolve, reject });
      this.post({ t: 'sync', n });
    });
  }

  evaluate(next: NextEntity, T: number, _budgetMs: number, onValues: OnValues): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(new Error(this.failure));
    if (this.inFlight) return Promise.reject(new Error('an evaluation is already running'));
    const ids: EntityId[] = [];
    const changedOnly: number[] = [];
    for (let item = next(); item !== undefined; item = next()) {
      ids.push(item[0]);
      changedOnly.push(item[1] ? 1 : 0);
    }
    this.flush();
    if (ids.length === 0) return Promise.resolve();
    const n = this.nextRequest++;
    return new Promise<void>((resolve, reject) => {
      this.inFlight = { n, ids, done: 0, chain: Promise.resolve(), onValues, resolve, reject };
      this.post({ t: 'evaluate', n, ids, changedOnly: Uint8Array.from(changedOnly), T });
    });
  }

  private onMessage(m: FromWorker): void {
    if (m.t === 'synced') {
      this.syncs.get(m.n)?.resolve();
      this.syncs.delete(m.n);
      return;
    }
    const f = this.inFlight;
    if (!f || m.n !== f.n) return;
    if (m.t === 'values') {
      const ids = f.ids.slice(f.done, f.done + m.values.length);
      f.done += m.values.length;
      f.chain = f.chain.then(() => f.onValues(ids, m.values));
      if (m.last) {
        this.inFlight = undefined;
        f.chain.then(f.resolve, f.reject);
      }
    } else {
      this.inFlight = undefined;
      f.chain.then(() => f.reject(new Error(m.message)), f.reject);
    }
  }

  async close(): Promise<void> {
    this.failure ??= 'the evaluation worker was stopped';
    await this.worker.terminate();
  }
}

function sameColumns(cols: readonly string[], data: Readonly<Record<string, unknown>>): boolean {
  let n = 0;
  for (const k in data) {
    if (k !== cols[n]) return false;
    n++;
  }
  return n === cols.length;
}

/**
 * The worker runs dist/realtime/engine-worker.js; from the TypeScript sources (tests, tsx) it loads
 * engine-worker.ts through tsx's loader, registered inside the worker first (a worker does not inherit
 * the loader of the thread that starts it).
 */
function spawnEngineWorker(): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts'))
    return new Worker(new URL('./engine-worker.js', here), { workerData: WORKER_MARK });
  // tsx's ESM API (the `import` condition of tsx/esm/api; require.resolve would give its CommonJS twin).
  const root = path.dirname(createRequire(here).resolve('tsx/package.json'));
  const tsx = pathToFileURL(path.join(root, 'dist/esm/api/index.mjs')).href;
  const entry = new URL('./engine-worker.ts', here).href;
  const boot = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true, workerData: WORKER_MARK });
}
