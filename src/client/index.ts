/**
 * A typed client for the Tagverse HTTP API: `import { TagverseClient } from 'tagverse/client'`.
 * One method per route of the profile, catalog, segment, store, recommendation and decision API (and
 * health, metrics, OpenAPI); none for the console's routes (docs/console.md) or ingestion, which goes
 * through Segment clients or plain HTTP (docs/realtime.md). Errors arrive as `TagverseApiError`
 * carrying the problem's `code`, `status`, `field` and expression positions. Uses the global `fetch`
 * (Node 18+, browsers) and nothing else, so it is safe to bundle into apps.
 * @example
 *   const tv = new TagverseClient({ baseUrl: 'http://127.0.0.1:8080', apiKey: process.env.TAGVERSE_KEY! });
 *   const p = await tv.profile('C0000042', { tags: ['golf_lover', 'spend_90d'] });
 *   const { count } = await tv.previewSegment("golf_lover and region in ('Seoul', 'Busan')");
 */
import type { DecideInput, DecisionResult, Recommendations } from './actions.js';
import type {
  Evidence,
  MemberPage,
  Overlap,
  Problem,
  Profile,
  ReloadResult,
  SavedSegment,
  SaveSegmentRequest,
  SegmentList,
  SegmentPreview,
  SegmentWithCount,
  StoreStatus,
  TagDetail,
  TagSummary,
} from './types.js';

export type * from './actions.js';
export type * from './types.js';

export interface ClientOptions {
  /** e.g. http://127.0.0.1:8080 */
  readonly baseUrl: string;
  readonly apiKey?: string;
  /** Abort a request after this many ms (default 30,000). */
  readonly timeoutMs?: number;
  /** A fetch implementation (default: the global one). */
  readonly fetch?: typeof fetch;
}

/** An error answered by the server (problem+json), or a transport failure (status 0). */
export class TagverseApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field?: string;
  readonly problems?: Problem['problems'];
  /** Seconds to wait before retrying (429, 503). */
  readonly retryAfter?: number;

  constructor(problem: Problem, retryAfter?: number) {
    super(problem.detail);
    this.name = 'TagverseApiError';
    this.status = problem.status;
    this.code = problem.code;
    if (problem.field !== undefined) this.field = problem.field;
    if (problem.problems !== undefined) this.problems = problem.problems;
    if (retryAfter !== undefined) this.retryAfter = retryAfter;
  }
}

type Query = Record<string, string | number | boolean | undefined>;

export class TagverseClient {
  private readonly baseUrl: string;
  private readonly fetchFn: typeof fetch;

  constructor(private readonly options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  private url(path: string, query: Query = {}): string {
    const q = Object.entries(query)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join('&');
    return `${this.baseUrl}${path}${q ? `?${q}` : ''}`;
  }

  private async send(
    method: string,
    path: string,
    opts: { query?: Query; body?: unknown } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await this.fetchFn(this.url(path, opts.query), {
        method,
        headers,
        ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
      });
    } catch (e) {
      throw new TagverseApiError({
        type: 'about:blank',
        title: 'Network error',
        status: 0,
        code: 'client.network',
        detail: e instanceof Error ? e.message : String(e),
      });
    }
    if (!res.ok) {
      const text = await res.text();
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
          detail: text.slice(0, 500),
        };
      }
      const ra = res.headers.get('retry-after');
      throw new TagverseApiError(problem, ra === null ? undefined : Number(ra));
    }
    return res;
  }

  private async json<T>(
    method: string,
    path: string,
    opts: { query?: Query; body?: unknown } = {},
  ): Promise<T> {
    return (await (await this.send(method, path, opts)).json()) as T;
  }

  private static seg(s: string): string {
    return encodeURIComponent(s);
  }

  /** GET /v1/recommendations/{id}: an entity's top items from a trained recommender. */
  recommendations(id: string, opts: { k?: number; recommender?: string } = {}): Promise<Recommendations> {
    return this.json('GET', `/v1/recommendations/${TagverseClient.seg(id)}`, {
      query: { k: opts.k, recommender: opts.recommender },
    });
  }

  /** POST /v1/decide: the best offers for an entity in a context, with reasons (granted unless dryRun). */
  decide(input: DecideInput): Promise<DecisionResult> {
    return this.json('POST', '/v1/decide', { body: input });
  }

  /** GET /v1/profiles/{id}: all tags, some tags, one category, or as of a past time. */
  profile(
    id: string,
    opts: { tags?: readonly string[]; category?: string; asOf?: string } = {},
  ): Promise<Profile> {
    return this.json('GET', `/v1/profiles/${TagverseClient.seg(id)}`, {
      query: { tags: opts.tags?.join(','), category: opts.category, as_of: opts.asOf },
    });
  }

  /** GET /v1/profiles/{id}/explain/{tag}: the evidence behind a value. */
  explain(id: string, tag: string, opts: { asOf?: string } = {}): Promise<Evidence> {
    return this.json('GET', `/v1/profiles/${TagverseClient.seg(id)}/explain/${TagverseClient.seg(tag)}`, {
      query: { as_of: opts.asOf },
    });
  }

  /** GET /v1/tags */
  async tags(
    opts: { category?: string; status?: 'draft' | 'approved' | 'deprecated' } = {},
  ): Promise<TagSummary[]> {
    return (await this.json<{ tags: TagSummary[] }>('GET', '/v1/tags', { query: { ...opts } })).tags;
  }

  /** GET /v1/tags/{name} */
  tag(name: string): Promise<TagDetail> {
    return this.json('GET', `/v1/tags/${TagverseClient.seg(name)}`);
  }

  /** POST /v1/segments/preview: count, a sample of ids, elapsed ms. */
  previewSegment(expression: string, opts: { sample?: number } = {}): Promise<SegmentPreview> {
    return this.json('POST', '/v1/segments/preview', { body: { expression, ...opts } });
  }

  /** GET /v1/segments */
  listSegments(): Promise<SegmentList> {
    return this.json('GET', '/v1/segments');
  }

  /** POST /v1/segments: create or replace a saved segment. */
  saveSegment(segment: SaveSegmentRequest): Promise<SavedSegment> {
    return this.json('POST', '/v1/segments', { body: segment });
  }

  /** GET /v1/segments/{name}: the saved segment with its current count. */
  segment(name: string): Promise<SegmentWithCount> {
    return this.json('GET', `/v1/segments/${TagverseClient.seg(name)}`);
  }

  /** DELETE /v1/segments/{name} */
  async deleteSegment(name: string): Promise<void> {
    await this.send('DELETE', `/v1/segments/${TagverseClient.seg(name)}`);
  }

  /** GET /v1/segments/{name}/members: one JSON page (pass `next` back as `cursor`). */
  members(name: string, opts: { limit?: number; cursor?: string } = {}): Promise<MemberPage> {
    return this.json('GET', `/v1/segments/${TagverseClient.seg(name)}/members`, {
      query: { format: 'json', limit: opts.limit, cursor: opts.cursor },
    });
  }

  /** Every member id, page after page. */
  async *allMembers(name: string, pageSize = 10_000): AsyncGenerator<string> {
    let cursor: string | undefined;
    do {
      const page = await this.members(name, { limit: pageSize, ...(cursor ? { cursor } : {}) });
      yield* page.ids;
      cursor = page.next;
    } while (cursor);
  }

  /** GET /v1/segments/{name}/members?format=csv|jsonl: the export as text chunks, streamed. */
  async *exportMembers(
    name: string,
    format: 'csv' | 'jsonl',
    opts: { limit?: number; cursor?: string } = {},
  ): AsyncGenerator<string> {
    const res = await this.send('GET', `/v1/segments/${TagverseClient.seg(name)}/members`, {
      query: { format, limit: opts.limit, cursor: opts.cursor },
    });
    if (!res.body) return;
    const decoder = new TextDecoder();
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      yield decoder.decode(value, { stream: true });
    }
    const rest = decoder.decode();
    if (rest) yield rest;
  }

  /** POST /v1/segments/overlap: saved segments by name and/or labelled expressions. */
  overlap(input: {
    segments?: readonly string[];
    expressions?: readonly { name: string; expression: string }[];
  }): Promise<Overlap> {
    return this.json('POST', '/v1/segments/overlap', { body: input });
  }

  /** GET /v1/store: what the server serves. */
  store(): Promise<StoreStatus> {
    return this.json('GET', '/v1/store');
  }

  /** POST /v1/admin/reload (admin): load the latest build now. */
  reload(opts: { force?: boolean } = {}): Promise<ReloadResult> {
    return this.json('POST', '/v1/admin/reload', { query: { force: opts.force ? 'true' : undefined } });
  }

  /** GET /healthz */
  health(): Promise<{ ok: boolean; version: string }> {
    return this.json('GET', '/healthz');
  }

  /** GET /readyz */
  ready(): Promise<{ ready: boolean; buildId: number; entities: number }> {
    return this.json('GET', '/readyz');
  }

  /** GET /metrics (Prometheus text). */
  async metrics(): Promise<string> {
    return (await this.send('GET', '/metrics')).text();
  }

  /** GET /openapi.json */
  openapi(): Promise<Record<string, unknown>> {
    return this.json('GET', '/openapi.json');
  }
}
