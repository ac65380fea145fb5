/**
 * The one reference to the store a server reads, and how it changes: at start from a fresh snapshot
 * (else from the warehouse, writing a snapshot), then after every new build. A reload builds a whole
 * new store beside the old one and swaps the reference in one assignment, so requests that already
 * hold the old store finish on it and new requests see the new build: never half of one.
 */
import { statSync } from 'node:fs';
import type { ProjectConfig } from '../config/project.js';
import { BUILDS } from '../engine/build.js';
import { Warehouse } from '../warehouse/warehouse.js';
import { loadStore } from './load.js';
import { readSnapshot, snapshotKey, snapshotPath, writeSnapshot } from './snapshot.js';
import type { TagStore } from './store.js';
import { StoreWarmer } from './warm.js';

export interface OpenStoreOptions {
  /** Read and write the snapshot file (default true). */
  readonly snapshot?: boolean;
  readonly log?: (message: string) => void;
  /**
   * Runs every warehouse access of the holder (reload checks and loads), so a server that also writes
   * the warehouse (real time) never has two of its own connections on the file at once.
   */
  readonly warehouseTurn?: <T>(fn: () => Promise<T>) => Promise<T>;
  /** Keep the served store's pages resident: read them all once per this period (ms; 0 or absent: never). */
  readonly warmPeriodMs?: number;
}

/** Identity of the latest build in the warehouse: changes with every build (and a rebuilt warehouse). */
export async function currentBuildKey(config: ProjectConfig): Promise<string> {
  const wh = await Warehouse.open(config.engine.path, { readOnly: true });
  try {
    if (!(await wh.tableExists('tags', 'builds'))) return 'none';
    const r = await wh.objects<{ id: number; f: string }>(
      `SELECT build_id AS id, CAST(finished_at AS VARCHAR) AS f FROM ${BUILDS} ORDER BY build_id DESC LIMIT 1`,
    );
    return r[0] ? `${r[0].id}@${r[0].f}` : 'none';
  } finally {
    wh.close();
  }
}

/**
 * A store for the project's latest build: from the snapshot when it holds that build, else from the
 * warehouse (then the snapshot is rewritten).
 * @example
 *   const { store } = await openStore(requireProject('./world'));
 */
export async function openStore(
  config: ProjectConfig,
  opts: OpenStoreOptions = {},
): Promise<{ store: TagStore; key: string }> {
  const file = snapshotPath(config.engine.path);
  const useSnapshot = opts.snapshot ?? true;
  let key: string | undefined;
  try {
    key = await currentBuildKey(config);
  } catch (e) {
    // The warehouse is busy (a build holds it) or missing: a snapshot is the best we have.
    if (useSnapshot && snapshotKey(file) !== undefined) {
      opts.log?.(
        `warehouse unavailable (${e instanceof Error ? e.message : String(e)}); serving the snapshot`,
      );
      return readSnapshot(file);
    }
    throw e;
  }
  if (useSnapshot && snapshotKey(file) === key) {
    const r = readSnapshot(file);
    opts.log?.(`loaded ${r.store.size} entities from the snapshot in ${r.store.info.loadMs} ms`);
    return r;
  }
  const store = await loadStore(config);
  opts.log?.(`loaded ${store.size} entities from the warehouse in ${store.info.loadMs} ms`);
  if (useSnapshot) {
    try {
      writeSnapshot(store, key, file);
    } catch (e) {
      opts.log?.(`could not write the snapshot: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return { store, key };
}

export interface ReloadResult {
  readonly reloaded: boolean;
  readonly buildId: number;
  readonly entities: number;
  readonly ms: number;
}

export class StoreHolder {
  private store: TagStore;
  private key: string;
  /** Requests holding the current store across turns of the event loop, and changes waiting for them. */
  private pins = 0;
  private waitingChanges: (() => void)[] = [];
  private readonly swapListeners: ((store: TagStore, previous: TagStore) => void)[] = [];
  private readonly prepareListeners: ((next: TagStore, current: TagStore) => Promise<void>)[] = [];
  private reloading: Promise<ReloadResult> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastStat = '';
  private readonly warmer: StoreWarmer | undefined;
  /** Reloads done since start, and the last reload error (a watch keeps retrying). */
  reloads = 0;
  lastError: string | undefined;

  private constructor(
    readonly config: ProjectConfig,
    first: { store: TagStore; key: string },
    private readonly opts: OpenStoreOptions,
  ) {
    this.store = first.store;
    this.key = first.key;
    this.lastStat = this.statKey();
    if (opts.warmPeriodMs) {
      this.warmer = new StoreWarmer(() => this.store, opts.warmPeriodMs);
      this.warmer.start();
    }
  }

  static async open(config: ProjectConfig, opts: OpenStoreOptions = {}): Promise<StoreHolder> {
    return new StoreHolder(config, await openStore(config, opts), opts);
  }

  /** The store to read for one request: keep the reference for the whole request. */
  get current(): TagStore {
    return this.store;
  }

  /**
   * The current store for a request that may read it across turns of the event loop; in-place
   * changes (mutate) wait until it is released. Release exactly once.
   */
  acquire(): TagStore {
    this.pins++;
    return this.store;
  }

  release(): void {
    this.pins = Math.max(0, this.pins - 1);
    if (this.pins === 0 && this.waitingChanges.length > 0) {
      const ready = this.waitingChanges;
      this.waitingChanges = [];
      for (const run of ready) run();
    }
  }

  /**
   * Change the current store in place (real time): `fn` runs when no request holds the store, in one
   * synchronous step, so readers see all of a change or none of it.
   */
  mutate<T>(fn: (store: TagStore) => T): Promise<T> {
    if (this.pins === 0) {
      try {
        return Promise.resolve(fn(this.store));
      } catch (e) {
        return Promise.reject(e);
      }
    }
    return new Promise((resolve, reject) => {
      this.waitingChanges.push(() => {
        try {
          resolve(fn(this.store));
        } catch (e) {
          reject(e);
        }
      });
    });
  }

  /**
   * Called with the new store and the one it replaced after every reload swap, before any reader can
   * see the new one (real time puts its values into it).
   */
  onSwap(listener: (store: TagStore, previous: TagStore) => void): void {
    this.swapListeners.push(listener);
  }

  /**
   * Called with a reloaded store and the served one before the swap, after the new store was read
   * whole; awaited, while requests and real-time changes go on against the served store. Real time
   * copies its live values in slices here, so the swap itself copies only what changed meanwhile.
   */
  beforeSwap(listener: (next: TagStore, current: TagStore) => Promise<void>): void {
    this.prepareListeners.push(listener);
  }

  /** Reload if the warehouse holds a newer build (or always, with force); one reload at a time. */
  reload(opts: { force?: boolean } = {}): Promise<ReloadResult> {
    if (!this.reloading) {
      this.reloading = this.doReload(opts.force ?? false).finally(() => {
        this.reloading = undefined;
      });
    }
    return this.reloading;
  }

  private async doReload(force: boolean): Promise<ReloadResult> {
    const started = Date.now();
    const turn = this.opts.warehouseTurn ?? (<T>(fn: () => Promise<T>) => fn());
    const key = await turn(() => currentBuildKey(this.config));
    if (!force && key === this.key) {
      return {
        reloaded: false,
        buildId: this.store.info.buildId,
        entities: this.store.size,
        ms: Date.now() - started,
      };
    }
    const store = await turn(() => loadStore(this.config));
    if (this.opts.snapshot ?? true) {
      try {
        writeSnapshot(store, key, snapshotPath(this.config.engine.path));
      } catch (e) {
        this.opts.log?.(`could not write the snapshot: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    // Its pages read once before the first request can (see warm.ts), between other requests.
    await this.warmer?.touchAllSoon(store);
    for (const l of this.prepareListeners) await l(store, this.store);
    // The swap: one assignment. Requests in flight keep the store they started with.
    const previous = this.store;
    this.store = store;
    this.key = key;
    for (const l of this.swapListeners) l(store, previous);
    this.reloads++;
    this.lastError = undefined;
    this.opts.log?.(
      `reloaded build ${store.info.buildId}: ${store.size} entities in ${Date.now() - started} ms`,
    );
    return { reloaded: true, buildId: store.info.buildId, entities: store.size, ms: Date.now() - started };
  }

  private statKey(): string {
    const parts: string[] = [];
    for (const f of [this.config.engine.path, `${this.config.engine.path}.wal`]) {
      try {
        const s = statSync(f);
        parts.push(`${s.size}:${s.mtimeMs}`);
      } catch {
        parts.push('-');
      }
    }
    return parts.join('|');
  }

  /**
   * Watch the warehouse file and reload after a new build. Looks at file sizes and times only
   * (no lock is taken) and opens the warehouse when they changed; a warehouse busy with a build is
   * tried again on the next tick.
   */
  watch(intervalMs = 2000): void {
    this.stop();
    this.timer = setInterval(() => {
      const stat = this.statKey();
      if (stat === this.lastStat || this.reloading) return;
      this.reload().then(
        () => {
          this.lastStat = stat;
        },
        (e: unknown) => {
          this.lastError = e instanceof Error ? e.message : String(e);
        },
      );
    }, intervalMs);
    this.timer.unref();
  }

  /** Stop watching the warehouse and warming the store. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.warmer?.stop();
  }
}
