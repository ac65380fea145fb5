/**
 * Real time inside `tagverse serve`: the runtime starts in the background once the server listens
 * (ingestion answers 503 `realtime.starting` until it is ready), shares the warehouse gate with the
 * API's own warehouse reads, and is closed (logged messages served and flushed) before the server.
 */
import type { ProjectConfig } from '../config/project.js';
import type { StoreHolder } from '../online/store-holder.js';
import { NatsConsumer } from '../realtime/nats.js';
import { RealtimeRuntime, type RuntimeOptions } from '../realtime/runtime.js';
import type { RealtimeHandle } from './ingest-routes.js';
import type { WarehouseGate } from './warehouse-gate.js';

/**
 * Warehouse work in turn with the API's warehouse reads (one connection on the file at a time), with
 * no time limit: the gate's limit is for requests; a flush that outlasts it is still waited for.
 */
export function warehouseTurn(gate: WarehouseGate): <T>(fn: () => Promise<T>) => Promise<T> {
  return <T>(fn: () => Promise<T>) => {
    let inner: Promise<T> | undefined;
    const outer = gate.run(() => {
      inner = fn();
      return inner;
    });
    return outer.catch((e: unknown) => {
      if (inner) return inner;
      throw e;
    });
  };
}

export interface RealtimeService {
  readonly handle: RealtimeHandle;
  /** Resolves when the runtime is ready (or failed: then `handle.error` says why). */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * Every accepted event leaves objects that live for minutes (rows waiting for the warehouse) or months
 * (rows inside windows). With V8's default 16 MB semi-spaces they are copied by many small
 * collections; 64 MB semi-spaces took the benchmark's maximum load from 13,200–15,500 to
 * 16,200–19,400 events/s (docs/realtime.md). V8 reads the flag only at start, so the server can only
 * suggest it.
 */
export function youngGenerationHint(
  execArgv: readonly string[],
  nodeOptions: string | undefined,
): string | undefined {
  const set = (s: string) => /--max[-_]semi[-_]space[-_]size[=\s]/.test(`${s} `);
  if (execArgv.some(set) || set(nodeOptions ?? '')) return undefined;
  return 'real time: for heavy ingestion start Node with NODE_OPTIONS=--max-semi-space-size=64 (fewer garbage collections; about 20% more events/s, see docs/realtime.md)';
}

/** Start real time for a served project (in the background). */
export function startRealtime(
  config: ProjectConfig,
  holder: StoreHolder,
  opts: RuntimeOptions & { readonly log: (m: string) => void },
): RealtimeService {
  const state: { runtime?: RealtimeRuntime; error?: string; nats?: NatsConsumer } = {};
  const handle: RealtimeHandle = {
    get runtime() {
      return state.runtime;
    },
    get error() {
      return state.error;
    },
  };
  let closing = false;
  const ready = (async () => {
    try {
      const rt = await RealtimeRuntime.start(config, holder, opts);
      if (closing) {
        await rt.close();
        return;
      }
      state.runtime = rt;
      const hint = youngGenerationHint(process.execArgv, process.env.NODE_OPTIONS);
      if (hint) opts.log(hint);
      if (config.realtime.nats) {
        state.nats = await NatsConsumer.start(config.realtime.nats, rt, { log: opts.log });
      }
    } catch (e) {
      state.error = e instanceof Error ? e.message : String(e);
      opts.log(`real time failed to start: ${state.error}`);
    }
  })();
  return {
    handle,
    ready,
    close: async () => {
      closing = true;
      await ready;
      await state.nats?.close();
      await state.runtime?.close();
    },
  };
}
