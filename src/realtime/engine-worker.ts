/**
 * The evaluation worker (engine-link.ts starts it): holds the incremental engine, applies the changes
 * the runtime posts in order, and answers an evaluation with the entities' tag values in chunks.
 *
 * Messages are handled one at a time, so an evaluation sees exactly the changes posted before it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { TagProgram } from '../lang/ir.js';
import { type EntityId, IncrementalEngine, type TagValues } from './engine.js';
import { Interner } from './interner.js';

/** Changes to the engine's state, in the order the runtime made them. */
export type EngineChange =
  | {
      readonly k: 'add';
      readonly source: string;
      readonly cols: readonly string[];
      readonly entity: readonly EntityId[];
      readonly time: readonly number[];
      readonly fileId: readonly number[];
      /** NaN: arrival order. */
      readonly row: readonly number[];
      /** Per column, the events' values. */
      readonly values: readonly (readonly unknown[])[];
    }
  | {
      readonly k: 'merge';
      readonly source: string;
      readonly entity: EntityId;
      readonly set: Readonly<Record<string, unknown>>;
    }
  | {
      readonly k: 'profiles';
      readonly source: string;
      readonly rows: readonly Readonly<Record<string, unknown>>[];
    }
  | { readonly k: 'refresh'; readonly T: number };

export type ToWorker =
  | { readonly t: 'init'; readonly program: TagProgram; readonly tags: readonly string[] }
  | { readonly t: 'changes'; readonly changes: readonly EngineChange[] }
  /** Answered with `synced` once the changes posted before it are applied. */
  | { readonly t: 'sync'; readonly n: number }
  | {
      readonly t: 'evaluate';
      readonly n: number;
      readonly ids: readonly EntityId[];
      /** 1: only the tags changed since the entity's last evaluation. */
      readonly changedOnly: Uint8Array;
      readonly T: number;
    };

export type FromWorker =
  | { readonly t: 'values'; readonly n: number; readonly values: TagValues[]; readonly last: boolean }
  | { readonly t: 'failed'; readonly n: number; readonly message: string }
  | { readonly t: 'synced'; readonly n: number };

/** Work per chunk of an evaluation's values (ms): the first entities are served before the last are done. */
const CHUNK_MS = 10;

export class EngineHost {
  private engine: IncrementalEngine | undefined;
  /**
   * Text values of events, interned per source and column: each posted string arrives as its own
   * copy, and the engine keeps weeks of events (millions of rows, a few hundred distinct merchants).
   */
  private readonly interners = new Map<string, Interner>();

  private internerOf(source: string, column: string): Interner {
    const key = `${source}\u0000${column}`;
    let i = this.interners.get(key);
    if (!i) {
      i = new Interner();
      this.interners.set(key, i);
    }
    return i;
  }

  constructor(private readonly send: (m: FromWorker) => void) {}

  handle(m: ToWorker): void {
    switch (m.t) {
      case 'init': {
        const names = new Set(m.tags);
        this.engine = new IncrementalEngine(
          m.program,
          m.program.tags.filter((t) => names.has(t.name)),
          { affinity: 'incremental' },
        );
        break;
      }
      case 'changes':
        for (const c of m.changes) this.apply(c);
        break;
      case 'evaluate':
        this.evaluate(m.n, m.ids, m.changedOnly, m.T);
        break;
      case 'sync':
        this.send({ t: 'synced', n: m.n });
        break;
    }
  }

  private get ready(): IncrementalEngine {
    if (!this.engine) throw new Error('the evaluation worker got work before its program');
    return this.engine;
  }

  private apply(c: EngineChange): void {
    const engine = this.ready;
    switch (c.k) {
      case 'add': {
        const cols = c.cols;
        const interners = cols.map((col) => this.internerOf(c.source, col));
        for (let i = 0; i < c.entity.length; i++) {
          const data: Record<string, unknown> = {};
          for (let j = 0; j < cols.length; j++) {
            const v = c.values[j]![i];
            data[cols[j]!] = typeof v === 'string' ? interners[j]!.get(v) : v;
          }
          const row = c.row[i]!;
          engine.add({
            source: c.source,
            entity: c.entity[i]!,
            time: c.time[i]!,
            fileId: c.fileId[i]!,
            ...(Number.isNaN(row) ? {} : { row }),
            data,
          });
        }
        break;
      }
      case 'merge':
        engine.mergeProfile(c.source, c.entity, c.set);
        break;
      case 'profiles':
        engine.setProfiles(c.source, c.rows);
        break;
      case 'refresh':
        engine.refreshPopulation(c.T);
        break;
    }
  }

  private evaluate(n: number, ids: readonly EntityId[], changedOnly: Uint8Array, T: number): void {
    let values: TagValues[] = [];
    let chunkStart = performance.now();
    try {
      const engine = this.ready;
      for (let i = 0; i < ids.length; i++) {
        values.push(engine.updateAt(ids[i]!, T, changedOnly[i] === 1));
        if (i < ids.length - 1 && performance.now() - chunkStart > CHUNK_MS) {
          this.send({ t: 'values', n, values, last: false });
          values = [];
          chunkStart = performance.now();
        }
      }
    } catch (e) {
      this.send({ t: 'failed', n, message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
      return;
    }
    this.send({ t: 'values', n, values, last: true });
  }
}

/** workerData of the evaluation worker (this module runs its host only there). */
export const WORKER_MARK = 'tagverse-engine';

if (parentPort && workerData === WORKER_MARK) {
  const port = parentPort;
  const host = new EngineHost((m) => port.postMessage(m));
  port.on('message', (m: ToWorker) => host.handle(m));
}
