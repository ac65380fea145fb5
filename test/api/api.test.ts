/**
 * The HTTP API against a real server on 127.0.0.1 (random free port): every route under every role,
 * hostile inputs, limits, the documentation routes and operations endpoints.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKey } from '../../src/api/keys.js';
import { problemOf } from '../../src/api/problem.js';
import { ROLE_PERMISSIONS } from '../../src/api/roles.js';
import { type RunningServer, startServer } from '../../src/api/server.js';
import { type ProjectConfig, requireProject } from '../../src/config/project.js';
import { API_ROLES, type ApiRole } from '../../src/config/schema.js';
import { build } from '../../src/engine/build.js';
import { evaluateSegment } from '../../src/segments/evaluate.js';
import { compileSegment } from '../../src/segments/segment.js';
import { builtFixture } from '../online/fixture.js';

// biome-ignore lint/suspicious/noExplicitAny: response bodies are read field by field and asserted
type Json = any;

let dir: string;
let config: ProjectConfig;
let server: RunningServer;
const keys = {} as Record<ApiRole, string>;

beforeAll(async () => {
  dir = await builtFixture();
  config = requireProject(dir);
  const records = API_ROLES.map((role) => {
    const k = generateKey(role, `${role} test key`);
    keys[role] = k.key;
    return `${k.record.id}:${role}:${k.record.hash}`;
  });
  config = {
    ...config,
    api: { ...config.api, limits: { ...config.api.limits, requestsPerSecond: 10_000, burst: 10_000 } },
  };
  server = await startServer(config, {
    port: 0,
    env: { TAGVERSE_API_KEYS: records.join(',') },
    watch: false,
  });
});
afterAll(async () => {
  await server?.close();
});

async function call(
  method: string,
  url: string,
  opts: { key?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Json; headers: Headers; text: string }> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  const payload = opts.raw ?? (opts.body !== undefined ? JSON.stringify(opts.body) : undefined);
  if (payload !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(server.url + url, {
    method,
    headers,
    ...(payload !== undefined ? { body: payload } : {}),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res.status, body, headers: res.headers, text };
}

/** Every /v1 route, with the permission it needs and a request that succeeds when allowed. */
function routes(
  role: string,
): { name: string; method: string; url: string; body?: unknown; permission: string }[] {
  return [
    { name: 'profile', method: 'GET', url: '/v1/profiles/C0001', permission: 'profiles:read' },
    {
      name: 'profile as of',
      method: 'GET',
      url: '/v1/profiles/C0001?as_of=2025-07-15&tags=spend_90d',
      permission: 'profiles:read',
    },
    {
      name: 'explain',
      method: 'GET',
      url: '/v1/profiles/C0001/explain/big_spender',
      permission: 'profiles:read',
    },
    { name: 'tags', method: 'GET', url: '/v1/tags', permission: 'tags:read' },
    { name: 'tag', method: 'GET', url: '/v1/tags/spend_90d', permission: 'tags:read' },
    { name: 'store', method: 'GET', url: '/v1/store', permission: 'tags:read' },
    { name: 'models', method: 'GET', url: '/v1/models', permission: 'tags:read' },
    { name: 'actions', method: 'GET', url: '/v1/actions', permission: 'tags:read' },
    {
      name: 'preview',
      method: 'POST',
      url: '/v1/segments/preview',
      body: { expression: 'big_spender' },
      permission: 'segments:read',
    },
    { name: 'list segments', method: 'GET', url: '/v1/segments', permission: 'segments:read' },
    {
      name: 'save segment',
      method: 'POST',
      url: '/v1/segments',
      body: { name: `tmp_${role}`, expression: 'vip' },
      permission: 'segments:write',
    },
    { name: 'get segment', method: 'GET', url: '/v1/segments/base', permission: 'segments:read' },
    { name: 'members', method: 'GET', url: '/v1/segments/base/members', permission: 'segments:read' },
    {
      name: 'members csv',
      method: 'GET',
      url: '/v1/segments/base/members?format=csv',
      permission: 'segments:read',
    },
    {
      name: 'overlap',
      method: 'POST',
      url: '/v1/segments/overlap',
      body: { segments: ['base'], expressions: [{ name: 'v', expression: 'vip' }] },
      permission: 'segments:read',
    },
    {
      name: 'delete segment',
      method: 'DELETE',
      url: `/v1/segments/tmp_${role}`,
      permission: 'segments:write',
    },
    { name: 'reload', method: 'POST', url: '/v1/admin/reload', permission: 'store:admin' },
  ];
}

describe('auth matrix: every role on every route', () => {
  beforeAll(async () => {
    const r = await call('POST', '/v1/segments', {
      key: keys.admin,
      body: { name: 'base', expression: 'big_spender or vip' },
    });
    expect(r.status).toBe(201);
    // Keys of roles that cannot write still need a segment to delete when the role could.
    for (const role of API_ROLES) {
      await call('POST', '/v1/segments', {
        key: keys.admin,
        body: { name: `tmp_${role}`, expression: 'vip' },
      });
    }
  });

  for (const role of API_ROLES) {
    it(`${role}: allowed routes answer 2xx, the others 403`, async () => {
      for (const r of routes(role)) {
        const res = await call(r.method, r.url, {
          key: keys[role],
          ...(r.body !== undefined ? { body: r.body } : {}),
        });
        const allowed = (ROLE_PERMISSIONS[role] as readonly string[]).includes(r.permission);
        if (allowed)
          expect([200, 201, 204], `${role} ${r.name}: ${res.text.slice(0, 200)}`).toContain(res.status);
        else {
          expect(res.status, `${role} ${r.name}`).toBe(403);
          expect(res.body.code).toBe('auth.forbidden');
          expect(res.headers.get('content-type')).toContain('application/problem+json');
        }
      }
    });
  }

  it('viewers cannot save segments, ingest keys cannot read anything', async () => {
    const v = await call('POST', '/v1/segments', {
      key: keys.viewer,
      body: { name: 'nope', expression: 'vip' },
    });
    expect(v.status).toBe(403);
    expect(v.body.detail).toMatch(/viewer role cannot/);
    for (const r of routes('ingest')) {
      expect(
        (await call(r.method, r.url, { key: keys.ingest, ...(r.body ? { body: r.body } : {}) })).status,
      ).toBe(403);
    }
  });

  it('no key or a wrong key is 401 on every route, with WWW-Authenticate', async () => {
    const forged = `${keys.admin.slice(0, -4)}AAAA`;
    for (const r of routes('x')) {
      const none = await call(r.method, r.url, r.body ? { body: r.body } : {});
      expect(none.status, r.name).toBe(401);
      expect(none.body.code).toBe('auth.missing_key');
      expect(none.headers.get('www-authenticate')).toContain('Bearer');
      const bad = await call(r.method, r.url, { key: forged, ...(r.body ? { body: r.body } : {}) });
      expect(bad.status).toBe(401);
      expect(bad.body.code).toBe('auth.invalid_key');
    }
  });
});

describe('routes', () => {
  it('profiles: all tags, selected tags, a category, history, explain', async () => {
    const all = await call('GET', '/v1/profiles/C0001', { key: keys.viewer });
    expect(Object.keys(all.body.categories)).toEqual(['behavior', 'preference', 'condition']);
    const some = await call('GET', '/v1/profiles/C0001?tags=spend_90d,favourite_category', {
      key: keys.viewer,
    });
    expect(
      Object.values(some.body.categories)
        .flat()
        .map((t: Json) => t.name),
    ).toEqual(['spend_90d', 'favourite_category']);
    const cat = await call('GET', '/v1/profiles/C0001?category=condition', { key: keys.viewer });
    expect(Object.keys(cat.body.categories)).toEqual(['condition']);
    const hist = await call('GET', '/v1/profiles/C0001?as_of=2025-07-15', { key: keys.viewer });
    expect(hist.body.source).toBe('history');
    const ex = await call('GET', '/v1/profiles/C0001/explain/big_spender', { key: keys.viewer });
    expect(ex.body.tag.name).toBe('big_spender');
    expect(ex.body.reason).toMatch(/->/);
    const unknownTag = await call('GET', '/v1/profiles/C0001?tags=spend_9d', { key: keys.viewer });
    expect(unknownTag.status).toBe(404);
    expect(unknownTag.body.code).toBe('profile.unknown_tag');
  });

  it('catalog: tags with coverage, one tag with its distribution', async () => {
    const list = await call('GET', '/v1/tags', { key: keys.viewer });
    expect(list.body.tags).toHaveLength(11);
    const detail = await call('GET', '/v1/tags/favourite_category', { key: keys.viewer });
    expect(detail.body.distribution.kind).toBe('top_values');
    expect(detail.body.version).toMatch(/^[0-9a-f]{12}$/);
    const hist = await call('GET', '/v1/tags/spend_90d', { key: keys.viewer });
    expect(hist.body.distribution.kind).toBe('histogram');
    const total =
      hist.body.distribution.bins.reduce((s: number, b: Json) => s + b.count, 0) +
      hist.body.distribution.null;
    expect(total).toBe(400);
    const missing = await call('GET', '/v1/tags/spend_9d', { key: keys.viewer });
    expect(missing.status).toBe(404);
  });

  it('segments: preview, save, members paged and streamed, overlap, delete', async () => {
    const p = await call('POST', '/v1/segments/preview', {
      key: keys.editor,
      body: { expression: "big_spender and region in ('Seoul', 'Busan')", sample: 3 },
    });
    expect(p.status).toBe(200);
    expect(p.body.sample.length).toBeLessThanOrEqual(3);
    expect(typeof p.body.elapsedMs).toBe('number');
    await call('POST', '/v1/segments', {
      key: keys.editor,
      body: { name: 'spenders', expression: 'spend_90d > 200' },
    });
    const seg = await call('GET', '/v1/segments/spenders', { key: keys.viewer });
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await call(
        'GET',
        `/v1/segments/spenders/members?limit=37${cursor ? `&cursor=${cursor}` : ''}`,
        { key: keys.viewer },
      );
      ids.push(...page.body.ids);
      cursor = page.body.next;
    } while (cursor);
    expect(ids).toHaveLength(seg.body.count);
    expect(new Set(ids).size).toBe(ids.length);
    const csv = await call('GET', '/v1/segments/spenders/members?format=csv', { key: keys.viewer });
    expect(csv.headers.get('content-type')).toContain('text/csv');
    expect(csv.text.trim().split('\n')).toEqual(['entity_id', ...ids]);
    const jsonl = await call('GET', '/v1/segments/spenders/members?format=jsonl&limit=5', {
      key: keys.viewer,
    });
    expect(
      jsonl.text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).entity_id),
    ).toEqual(ids.slice(0, 5));
    const o = await call('POST', '/v1/segments/overlap', {
      key: keys.viewer,
      body: { segments: ['spenders'], expressions: [{ name: 'vip', expression: 'vip' }] },
    });
    expect(o.body.matrix[0][0]).toBe(seg.body.count);
    expect(o.body.matrix[0][1]).toBe(o.body.matrix[1][0]);
    expect(o.body.all).toBe(o.body.matrix[0][1]);
    expect((await call('DELETE', '/v1/segments/spenders', { key: keys.editor })).status).toBe(204);
    expect((await call('GET', '/v1/segments/spenders', { key: keys.viewer })).status).toBe(404);
  });

  it('malformed expressions and unknown tags point at the position in the expression', async () => {
    const r = await call('POST', '/v1/segments/preview', {
      key: keys.viewer,
      body: { expression: 'big_spender and spend_9d > 3' },
    });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('segment.invalid');
    expect(r.body.field).toBe('expression');
    expect(r.body.problems[0]).toMatchObject({ start: 16, end: 24, line: 1, col: 17 });
    expect(r.body.problems[0].message).toMatch(/did you mean 'spend_90d'/);
    const syntax = await call('POST', '/v1/segments/preview', {
      key: keys.viewer,
      body: { expression: 'vip and and' },
    });
    expect(syntax.status).toBe(400);
    expect(syntax.body.problems[0].col).toBeGreaterThan(1);
    const typed = await call('POST', '/v1/segments/preview', {
      key: keys.viewer,
      body: { expression: "spend_90d > 'x'" },
    });
    expect(typed.body.code).toBe('segment.invalid');
    const saveBad = await call('POST', '/v1/segments', {
      key: keys.editor,
      body: { name: 'bad', expression: 'nope' },
    });
    expect(saveBad.status).toBe(400);
    const badName = await call('POST', '/v1/segments', {
      key: keys.editor,
      body: { name: 'Bad Name', expression: 'vip' },
    });
    expect(badName.body).toMatchObject({ code: 'request.invalid', field: 'body.name' });
  });

  it('reload picks up a new build', async () => {
    const before = (await call('GET', '/v1/store', { key: keys.admin })).body.buildId;
    await build(dir, { asOf: '2025-06-30' });
    const r = await call('POST', '/v1/admin/reload', { key: keys.admin });
    expect(r.body.reloaded).toBe(true);
    expect(r.body.buildId).toBeGreaterThan(before);
    expect((await call('GET', '/v1/store', { key: keys.viewer })).body.buildId).toBe(r.body.buildId);
  });
});

describe('hostile inputs', () => {
  it('a body sent in chunks without a length: read and answered, or refused with 413 past the limit', async () => {
    const chunked = (text: string, pieces: number) =>
      fetch(`${server.url}/v1/segments/preview`, {
        method: 'POST',
        headers: { authorization: `Bearer ${keys.viewer}`, 'content-type': 'application/json' },
        duplex: 'half',
        body: new ReadableStream<Uint8Array>({
          start(controller) {
            const bytes = new TextEncoder().encode(text);
            const step = Math.ceil(bytes.length / pieces);
            for (let i = 0; i < bytes.length; i += step) controller.enqueue(bytes.subarray(i, i + step));
            controller.close();
          },
        }),
      } as RequestInit);
    const ok = await chunked(JSON.stringify({ expression: 'vip and not dormant' }), 3);
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { count: number }).count).toBeGreaterThan(0);
    const big = await chunked(JSON.stringify({ expression: 'x'.repeat(3 * 1024 * 1024) }), 64);
    expect(big.status).toBe(413);
    expect(((await big.json()) as { code: string }).code).toBe('request.too_large');
    // A UTF-8 byte order mark is dropped, as Request#text() drops it.
    const bom = await chunked(`\uFEFF${JSON.stringify({ expression: 'vip' })}`, 1);
    expect(bom.status).toBe(200);
  });

  it('are refused with a clear 4xx while other requests keep being served', async () => {
    const big = 'x'.repeat(3 * 1024 * 1024);
    const nested = `{"expression": ${'['.repeat(20_000)}${']'.repeat(20_000)}}`;
    const hostile: [string, Promise<{ status: number; body: Json }>, number, string][] = [
      [
        'huge body',
        call('POST', '/v1/segments/preview', { key: keys.viewer, raw: JSON.stringify({ expression: big }) }),
        413,
        'request.too_large',
      ],
      [
        'nested JSON',
        call('POST', '/v1/segments/preview', { key: keys.viewer, raw: nested }),
        400,
        'request.invalid',
      ],
      [
        'not JSON',
        call('POST', '/v1/segments/preview', { key: keys.viewer, raw: '{"expression": ' }),
        400,
        'request.invalid',
      ],
      [
        '100k terms',
        call('POST', '/v1/segments/preview', {
          key: keys.viewer,
          body: { expression: Array(100_000).fill('vip').join(' or ') },
        }),
        400,
        'segment.too_long',
      ],
      [
        'deep parentheses',
        call('POST', '/v1/segments/preview', {
          key: keys.viewer,
          body: { expression: `${'('.repeat(3000)}vip${')'.repeat(3000)}` },
        }),
        400,
        'segment.too_deep',
      ],
      [
        'long URL',
        call('GET', `/v1/profiles/${'a'.repeat(10_000)}`, { key: keys.viewer }),
        414,
        'request.url_too_long',
      ],
      [
        'SQL in an id',
        call('GET', `/v1/profiles/${encodeURIComponent("C0001'; DROP TABLE tags.current; --")}`, {
          key: keys.viewer,
        }),
        404,
        'profile.unknown_entity',
      ],
      [
        'unicode id',
        call('GET', `/v1/profiles/${encodeURIComponent('고객😀\u0000')}`, { key: keys.viewer }),
        404,
        'profile.unknown_entity',
      ],
      [
        'bad page size',
        call('GET', '/v1/segments/base/members?limit=-1', { key: keys.viewer }),
        400,
        'request.invalid',
      ],
      [
        'bad cursor',
        call('GET', `/v1/segments/base/members?cursor=${Buffer.from('nobody').toString('base64url')}`, {
          key: keys.viewer,
        }),
        409,
        'segments.stale_cursor',
      ],
      [
        'path traversal name',
        call('GET', `/v1/segments/${encodeURIComponent('../tagverse')}`, { key: keys.viewer }),
        400,
        'request.invalid',
      ],
    ];
    const normal = Array.from({ length: 40 }, (_, i) =>
      call('GET', `/v1/profiles/C${String((i % 400) + 1).padStart(4, '0')}?tags=spend_90d`, {
        key: keys.viewer,
      }),
    );
    const [h, n] = await Promise.all([Promise.all(hostile.map((x) => x[1])), Promise.all(normal)]);
    hostile.forEach(([name, , status, code], i) => {
      expect(h[i]!.status, name).toBe(status);
      expect(h[i]!.body.code, name).toBe(code);
      expect(typeof h[i]!.body.detail).toBe('string');
    });
    for (const r of n) expect(r.status).toBe(200);
  });

  it('SQL-like and unicode text inside expressions is just text', async () => {
    for (const expression of [
      "region = '''; DROP TABLE tags.current; --'",
      "region = '서울 😀'",
      "favourite_category in ('a\"b', 'é')",
    ]) {
      const r = await call('POST', '/v1/segments/preview', { key: keys.viewer, body: { expression } });
      expect(r.status, expression).toBe(200);
      expect(r.body.count).toBe(0);
    }
    expect((await call('GET', '/v1/tags', { key: keys.viewer })).body.tags).toHaveLength(11);
  });

  it('an evaluation past its time limit stops with segment.timeout (422)', async () => {
    const store = server.holder.current;
    const expr = compileSegment(config, store, 'spend_90d / txn_count > 40');
    const err = await evaluateSegment(store, expr, { deadline: Date.now() - 1 }).catch((e: unknown) => e);
    expect(problemOf(err).body).toMatchObject({ status: 422, code: 'segment.timeout' });
  });
});

describe('rate limits', () => {
  it('answer 429 with Retry-After once a key has used its burst', async () => {
    const k = generateKey('viewer');
    const limited = await startServer(
      {
        ...config,
        api: { ...config.api, limits: { ...config.api.limits, requestsPerSecond: 0.5, burst: 3 } },
      },
      { port: 0, env: { TAGVERSE_API_KEYS: `${k.record.id}:viewer:${k.record.hash}` }, watch: false },
    );
    try {
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`${limited.url}/v1/tags`, { headers: { authorization: `Bearer ${k.key}` } });
        statuses.push(res.status);
        if (res.status === 429) {
          retryAfter = res.headers.get('retry-after');
          expect(((await res.json()) as { code: string }).code).toBe('rate_limited');
        } else await res.text();
      }
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
      // Other keys are not affected.
      const other = await fetch(`${server.url}/v1/tags`, {
        headers: { authorization: `Bearer ${keys.viewer}` },
      });
      expect(other.status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});

describe('operations and documentation', () => {
  it('healthz, readyz and metrics need no key', async () => {
    expect((await call('GET', '/healthz')).body.ok).toBe(true);
    expect((await call('GET', '/readyz')).body).toMatchObject({ ready: true, entities: 400 });
    const m = await call('GET', '/metrics');
    expect(m.headers.get('content-type')).toContain('text/plain');
    expect(m.text).toMatch(
      /tagverse_http_requests_total\{route="\/v1\/profiles\/:id",method="GET",status="200"\} \d+/,
    );
    expect(m.text).toMatch(/tagverse_http_rejections_total\{reason="unauthorized"\} \d+/);
    expect(m.text).toMatch(/tagverse_store_entities 400/);
  });

  it('/openapi.json is OpenAPI 3.1 with every route, its schemas and bearer security', async () => {
    const doc = (await call('GET', '/openapi.json')).body;
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        '/v1/admin/reload',
        '/v1/profiles/{id}',
        '/v1/profiles/{id}/explain/{tag}',
        '/v1/segments',
        '/v1/segments/overlap',
        '/v1/segments/preview',
        '/v1/segments/{name}',
        '/v1/segments/{name}/members',
        '/v1/store',
        '/v1/tags',
        '/v1/tags/{name}',
        // What the web console reads besides the above (src/api/console-routes.ts, test/console/).
        '/v1/me',
        '/v1/sources',
        '/v1/builds',
        '/v1/tags/{name}/history',
        '/v1/tags/{name}/lineage',
        '/v1/profiles/{id}/events',
        '/v1/attributes',
        // Recommendations and decisions (src/offers/routes.ts, test/offers/).
        '/v1/recommendations/{id}',
        '/v1/decide',
        // The console's models page and the customer page's actions (src/api/console-models.ts, console-routes.ts).
        '/v1/models',
        '/v1/models/{name}',
        '/v1/actions',
      ].sort(),
    );
    expect(doc.components.securitySchemes.bearer.scheme).toBe('bearer');
    expect(doc.components.schemas.Problem.properties.code).toBeDefined();
    expect(doc.paths['/v1/segments/preview'].post.requestBody.content['application/json'].schema.$ref).toBe(
      '#/components/schemas/SegmentPreviewRequest',
    );
  });

  it('/docs serves Swagger UI and its assets from the server itself', async () => {
    const page = await call('GET', '/docs');
    expect(page.text).toContain('swagger-ui-bundle.js');
    expect(page.text).not.toMatch(/https?:\/\//);
    for (const asset of [
      '/docs/swagger-ui-bundle.js',
      '/docs/swagger-ui.css',
      '/docs/swagger-ui-standalone-preset.js',
      '/docs/init.js',
    ]) {
      const r = await fetch(server.url + asset);
      expect(r.status, asset).toBe(200);
      expect((await r.arrayBuffer()).byteLength).toBeGreaterThan(100);
    }
    expect((await call('GET', '/docs/nothing.js')).status).toBe(404);
  });
});
