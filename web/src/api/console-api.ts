/**
 * Everything the console asks the server, in one object: the typed `TagverseClient` for the routes it
 * covers, and the console routes (src/api/console-routes.ts) it does not cover yet, through one small
 * request helper that sends the same key and raises the same `TagverseApiError`.
 *
 * Optional parts of the API (models, recommendations, offers, real-time ingestion) are detected from
 * /openapi.json: the console shows a part only when the server documents its route.
 */
import {
  type ClientOptions,
  type Problem,
  type StoreStatus,
  type TagSummary,
  TagverseApiError,
  TagverseClient,
} from '../../../src/client/index.js';
import type {
  Actions,
  Attributes,
  Builds,
  Decision,
  EntityEvents,
  Lineage,
  Me,
  ModelDetail,
  Models,
  Recommendations,
  Sources,
  TagHistory,
} from './types.js';

export { TagverseApiError };

/** What public/prefetch.js asked for before the app ran: responses by request path, each taken once. */
interface Prefetched {
  readonly key: string;
  readonly responses: Map<string, Promise<Response>>;
}

declare global {
  interface Window {
    __tagversePrefetch?: Prefetched;
  }
}

/** Optional API parts, by the route that proves they are there. */
export interface Features {
  /** `GET /v1/models` (and `/v1/models/{name}`): trained models and their evaluation. */
  readonly models: boolean;
  /** `GET /v1/recommendations/{id}`. */
  readonly recommendations: boolean;
  /** `POST /v1/decide`: offers ranked for an entity. */
  readonly decide: boolean;
  /** Real-time ingestion (`POST /v1/track`, `/v1/batch` or `/v1/events`). */
  readonly realtime: boolean;
  /** `GET /v1/realtime/status` (store:admin): accepted, duplicate and rejected counts. */
  readonly realtimeStatus: boolean;
}

export const NO_FEATURES: Features = {
  models: false,
  recommendations: false,
  decide: false,
  realtime: false,
  realtimeStatus: false,
};

export function featuresOf(paths: readonly string[]): Features {
  const has = (p: string) => paths.includes(p);
  return {
    models: has('/v1/models'),
    recommendations: has('/v1/recommendations/{id}'),
    decide: has('/v1/decide'),
    realtime: has('/v1/track') || has('/v1/batch') || has('/v1/events'),
    realtimeStatus: has('/v1/realtime/status'),
  };
}

type Query = Record<string, string | number | undefined>;

export class ConsoleApi {
  readonly tv: TagverseClient;
  private readonly baseUrl: string;

  constructor(
    private readonly options: ClientOptions & { readonly apiKey: string },
    /** Called when the server says the key is not (or no longer) valid. */
    private readonly onUnauthorized: () => void = () => {},
  ) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.tv = new TagverseClient({ ...options, fetch: (input, init) => this.watch(fetch(input, init)) });
  }

  private async watch(response: Promise<Response>): Promise<Response> {
    const r = await response;
    if (r.status === 401) this.onUnauthorized();
    return r;
  }

  /** A JSON request to a route TagverseClient does not cover; errors as TagverseApiError. */
  request<T>(method: 'GET' | 'POST', path: string, opts: { query?: Query; body?: unknown } = {}): Promise<T> {
    const q = Object.entries(opts.query ?? {})
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join('&');
    const target = `${path}${q ? `?${q}` : ''}`;
    const early = method === 'GET' ? this.prefetched<T>(target) : undefined;
    if (early) return early;
    return this.answer<T>(
      fetch(`${this.baseUrl}${target}`, {
        method,
        headers: {
          accept: 'application/json',
          authorization: `Bearer ${this.options.apiKey}`,
          ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
      }),
    );
  }

  /** The answer prefetch.ts asked for before the app ran (same key, same path), taken once. */
  private prefetched<T>(target: string): Promise<T> | undefined {
    const early = window.__tagversePrefetch;
    if (!early || early.key !== this.options.apiKey) return undefined;
    const response = early.responses.get(target);
    if (!response) return undefined;
    early.responses.delete(target);
    return this.answer<T>(response);
  }

  /** JSON of a response, or its problem as TagverseApiError (status 0 when the network failed). */
  private async answer<T>(response: Promise<Response>): Promise<T> {
    let res: Response;
    try {
      res = await this.watch(response);
    } catch (e) {
      throw new TagverseApiError({
        type: 'about:blank',
        title: 'Network error',
        status: 0,
        code: 'client.network',
        detail: e instanceof Error ? e.message : String(e),
      });
    }
    const text = await res.text();
    if (!res.ok) {
      let problem: Problem;
      try {
        problem = JSON.parse(text) as Problem;
        if (typeof problem.code !== 'string') throw new Error('not a problem');
      } catch {
        problem = {
          type: 'about:blank',
          title: res.statusText,
          status: res.status,
          code: `http.${res.status}`,
          detail: text.slice(0, 300),
        };
      }
      throw new TagverseApiError(problem);
    }
    return JSON.parse(text) as T;
  }

  private readonly recent = new Map<string, { at: number; value: Promise<unknown> }>();

  /**
   * One answer for the callers of the same moment (the header and the overview both show the store;
   * the overview's data is asked for while the key is still being checked): kept two seconds.
   */
  private shared<T>(key: string, call: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const hit = this.recent.get(key);
    if (hit && now - hit.at < 2000) return hit.value as Promise<T>;
    const value = call();
    value.catch(() => this.recent.delete(key));
    this.recent.set(key, { at: now, value });
    return value;
  }

  /** GET /v1/store */
  store(): Promise<StoreStatus> {
    return this.shared('store', () => this.prefetched<StoreStatus>('/v1/store') ?? this.tv.store());
  }

  /** GET /v1/tags (the whole catalog) */
  tags(): Promise<TagSummary[]> {
    return this.shared(
      'tags',
      () => this.prefetched<{ tags: TagSummary[] }>('/v1/tags')?.then((r) => r.tags) ?? this.tv.tags(),
    );
  }

  /** Ask now for what the overview shows, so it arrives with the answer to GET /v1/me. */
  prefetchOverview(): void {
    for (const p of [this.store(), this.tags(), this.sources(), this.builds(10)]) p.catch(() => {});
  }

  /** GET /v1/me: the key's role and permissions. */
  me(): Promise<Me> {
    return this.request('GET', '/v1/me');
  }

  /** GET /v1/sources: rows, rejects and freshness of every source, and the latest loads. */
  sources(): Promise<Sources> {
    return this.shared('sources', () => this.request('GET', '/v1/sources'));
  }

  /** GET /v1/builds */
  builds(limit = 10): Promise<Builds> {
    return this.shared(`builds:${limit}`, () => this.request('GET', '/v1/builds', { query: { limit } }));
  }

  /** GET /v1/tags/{name}/history: versions and coverage over time. */
  tagHistory(name: string): Promise<TagHistory> {
    return this.request('GET', `/v1/tags/${encodeURIComponent(name)}/history`);
  }

  /** GET /v1/tags/{name}/lineage: what the tag reads and what reads it. */
  lineage(name: string): Promise<Lineage> {
    return this.request('GET', `/v1/tags/${encodeURIComponent(name)}/lineage`);
  }

  /** GET /v1/profiles/{id}/events: the entity's latest events. */
  events(id: string, opts: { source?: string; limit?: number } = {}): Promise<EntityEvents> {
    return this.request('GET', `/v1/profiles/${encodeURIComponent(id)}/events`, {
      query: { source: opts.source, limit: opts.limit },
    });
  }

  /** GET /v1/attributes: profile attributes segments can name. */
  attributes(): Promise<Attributes> {
    return this.request('GET', '/v1/attributes');
  }

  /** GET /v1/models: every model the project defines, with its state and headline metrics. */
  models(): Promise<Models> {
    return this.request('GET', '/v1/models');
  }

  /** GET /v1/models/{name}: a model and its card (metrics, gains, calibration, top features, ROC). */
  model(name: string): Promise<ModelDetail> {
    return this.request('GET', `/v1/models/${encodeURIComponent(name)}`);
  }

  /** GET /v1/actions: the project's recommenders and how many offers it defines. */
  actions(): Promise<Actions> {
    return this.request('GET', '/v1/actions');
  }

  /** GET /v1/recommendations/{id}: a trained recommender's items for the entity. */
  recommendations(id: string, recommender: string): Promise<Recommendations> {
    return this.request('GET', `/v1/recommendations/${encodeURIComponent(id)}`, { query: { recommender } });
  }

  /** POST /v1/decide: the offers ranked for an entity in a context (`dryRun`: grant nothing). */
  decide(body: { entityId: string; context?: Record<string, unknown>; dryRun?: boolean }): Promise<Decision> {
    return this.request('POST', '/v1/decide', { body });
  }

  /** Which optional parts the server has, from its OpenAPI document. */
  async features(): Promise<Features> {
    const doc = (await this.tv.openapi()) as { paths?: Record<string, unknown> };
    return featuresOf(Object.keys(doc.paths ?? {}));
  }
}

/** A human sentence for any error a call can raise. */
export function errorMessage(e: unknown): string {
  if (e instanceof TagverseApiError) {
    if (e.status === 0) return `The server cannot be reached (${e.message}).`;
    if (e.code === 'auth.forbidden') return `Your role cannot do this: ${e.message}`;
    return e.message;
  }
  return e instanceof Error ? e.message : String(e);
}
