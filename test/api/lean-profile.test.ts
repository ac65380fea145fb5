/**
 * GET /v1/profiles/{id} in front of the app (src/api/lean-profile.ts) answers exactly as the app's
 * route does: two real servers on one project, one with the lean route and one without, get the same
 * requests and must give the same statuses, headers, bodies and metrics; and the requests the lean
 * route leaves to the app are the unusual ones only.
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { generateKey, KeyRing } from '../../src/api/keys.js';
import { type RunningServer, startServer } from '../../src/api/server.js';
import { type ProjectConfig, requireProject } from '../../src/config/project.js';
import type { ApiRole } from '../../src/config/schema.js';
import { StoreHolder } from '../../src/online/store-holder.js';
import { builtFixture } from '../online/fixture.js';

let config: ProjectConfig;
const keys = {} as Record<ApiRole, string>;
let env: Record<string, string>;

beforeAll(async () => {
  const built = requireProject(await builtFixture());
  const limits = { ...built.api.limits, requestsPerSecond: 1_000_000, burst: 1_000_000 };
  config = { ...built, api: { ...built.api, limits } };
  const records = (['admin', 'viewer', 'ingest'] as const).map((role) => {
    const k = generateKey(role);
    keys[role] = k.key;
    return `${k.record.id}:${role}:${k.record.hash}`;
  });
  env = { TAGVERSE_API_KEYS: records.join(',') };
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw HTTP/1.1 GET (any Host, repeated headers), answered as status, headers and body text. */
function get(
  url: string,
  path: string,
  headers: Record<string, string | string[]> = {},
  method = 'GET',
): Promise<Answer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const { date: _date, ...rest } = res.headers;
        resolve({ status: res.statusCode!, headers: rest, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/** The bodies of the complete HTTP/1.1 responses at the start of `bytes` (Content-Length framing). */
function httpBodies(bytes: Buffer): string[] {
  const out: string[] = [];
  let at = 0;
  for (;;) {
    const headEnd = bytes.indexOf('\r\n\r\n', at);
    if (headEnd < 0) return out;
    const length = Number(/content-length: (\d+)/i.exec(bytes.subarray(at, headEnd).toString('latin1'))?.[1]);
    if (headEnd + 4 + length > bytes.length) return out;
    out.push(bytes.subarray(headEnd + 4, headEnd + 4 + length).toString('utf8'));
    at = headEnd + 4 + length;
  }
}

/** Requests of every kind the route sees: plain ones, errors of each check, and unusual ones. */
function requests(): [string, string, Record<string, string | string[]>, string?][] {
  const long = `/v1/profiles/${'a'.repeat(600)}`;
  return [
    ['all tags', '/v1/profiles/C0001', bearer(keys.viewer)],
    ['admin key', '/v1/profiles/C0042', bearer(keys.admin)],
    ['a customer without payments', '/v1/profiles/C0400', bearer(keys.viewer)],
    ['some tags', '/v1/profiles/C0007?tags=spend_90d,favourite_category,last_seen', bearer(keys.viewer)],
    ['tags with blanks', '/v1/profiles/C0007?tags=,top_categories,,dormant,', bearer(keys.viewer)],
    ['no tags', '/v1/profiles/C0007?tags=', bearer(keys.viewer)],
    ['a key without value', '/v1/profiles/C0007?tags', bearer(keys.viewer)],
    ['a category', '/v1/profiles/C0003?category=preference', bearer(keys.viewer)],
    ['tags and category', '/v1/profiles/C0003?category=condition&tags=spend_90d', bearer(keys.viewer)],
    ['other parameters', '/v1/profiles/C0003?x=1&&y&category=behavior', bearer(keys.viewer)],
    ['unknown tag', '/v1/profiles/C0001?tags=spend_9d', bearer(keys.viewer)],
    ['unknown category', '/v1/profiles/C0001?category=hobby', bearer(keys.viewer)],
    ['empty category', '/v1/profiles/C0001?category=', bearer(keys.viewer)],
    ['unknown entity', '/v1/profiles/nobody', bearer(keys.viewer)],
    ['quotes in an id', "/v1/profiles/C0001'--", bearer(keys.viewer)],
    ['no key', '/v1/profiles/C0001', {}],
    ['not a bearer key', '/v1/profiles/C0001', { authorization: 'Basic abc' }],
    ['an invalid key', '/v1/profiles/C0001', bearer('tvk_000000_notavalidkeynotavalidkey')],
    ['two keys', '/v1/profiles/C0001', { authorization: [`Bearer ${keys.viewer}`, `Bearer ${keys.admin}`] }],
    ['a role without profiles:read', '/v1/profiles/C0001', bearer(keys.ingest)],
    ['as of a past time', '/v1/profiles/C0001?as_of=2025-07-15&tags=spend_90d', bearer(keys.viewer)],
    ['repeated tags', '/v1/profiles/C0001?tags=spend_90d&tags=txn_count', bearer(keys.viewer)],
    ['an encoded id', '/v1/profiles/C%30001', bearer(keys.viewer)],
    ['encoded tags', '/v1/profiles/C0001?tags=spend_90d%2Ctxn_count', bearer(keys.viewer)],
    ['a plus in tags', '/v1/profiles/C0001?tags=spend_90d+', bearer(keys.viewer)],
    ['a unicode id', `/v1/profiles/${encodeURIComponent('고객😀')}`, bearer(keys.viewer)],
    ['an id too long', long, bearer(keys.viewer)],
    ['a URL too long', `/v1/profiles/C0001?x=${'a'.repeat(9000)}`, bearer(keys.viewer)],
    ['tags too long', `/v1/profiles/C0001?tags=${'a,'.repeat(2100)}`, bearer(keys.viewer)],
    ['a fragment', '/v1/profiles/C0001#x', bearer(keys.viewer)],
    ['a trailing slash', '/v1/profiles/C0001/', bearer(keys.viewer)],
    ['no id', '/v1/profiles/', bearer(keys.viewer)],
    ['dot segments', '/v1/profiles/../profiles/C0001', bearer(keys.viewer)],
    ['explain', '/v1/profiles/C0001/explain/big_spender', bearer(keys.viewer)],
    ['an upper-case host', '/v1/profiles/C0001', { ...bearer(keys.viewer), host: 'LOCALHOST' }],
    ['HEAD', '/v1/profiles/C0001', bearer(keys.viewer), 'HEAD'],
  ];
}

/** The metrics a run of requests leaves (durations vary; their counts do not). */
async function counters(url: string): Promise<string[]> {
  const text = (await get(url, '/metrics')).body;
  return text
    .split('\n')
    .filter(
      (l) =>
        l.startsWith('tagverse_http_requests_total') ||
        l.startsWith('tagverse_http_rejections_total') ||
        l.startsWith('tagverse_http_request_duration_seconds_count'),
    );
}

describe('the lean profile route', () => {
  let lean: RunningServer;
  let app: RunningServer;
  beforeAll(async () => {
    lean = await startServer(config, { port: 0, watch: false, env, consoleDir: null });
    app = await startServer(config, { port: 0, watch: false, env, consoleDir: null, leanProfiles: false });
  });
  afterAll(async () => {
    await lean?.close();
    await app?.close();
  });

  it('answers every request exactly as the app does, and counts it the same', async () => {
    for (const [name, path, headers, method] of requests()) {
      const a = await get(lean.url, path, headers, method);
      const b = await get(app.url, path, headers, method);
      expect(a, name).toEqual(b);
    }
    expect(await counters(lean.url)).toEqual(await counters(app.url));
    const ok = await get(lean.url, '/v1/profiles/C0001', bearer(keys.viewer));
    expect(ok.status).toBe(200);
    expect(ok.headers).toMatchObject({
      'content-type': 'application/json',
      'x-content-type-options': 'nosniff',
      'content-length': String(Buffer.byteLength(ok.body)),
    });
    expect(ok.body).toBe(JSON.stringify(lean.holder.current.profile('C0001')));
  });

  it('sends every profile intact when responses wait in socket buffers (pipelined, read late)', async () => {
    const ids = Array.from({ length: 3000 }, (_, i) => `C${String((i % 400) + 1).padStart(4, '0')}`);
    const socket = net.connect(lean.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.pause();
    socket.write(
      ids
        .map(
          (id) =>
            `GET /v1/profiles/${id} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${keys.viewer}\r\n\r\n`,
        )
        .join(''),
    );
    // Not read for a while: the server's writes fill the socket and queue behind it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const chunks: Buffer[] = [];
    let bodies: string[] = [];
    await new Promise<void>((resolve, reject) => {
      socket.on('data', (c: Buffer) => {
        chunks.push(c);
        bodies = httpBodies(Buffer.concat(chunks));
        if (bodies.length === ids.length) resolve();
      });
      socket.on('error', reject);
      socket.resume();
    });
    socket.destroy();
    const store = lean.holder.current;
    bodies.forEach((body, i) => {
      expect(body, ids[i]).toBe(JSON.stringify(store.profile(ids[i]!)));
    });
  });

  it('refuses past the rate limit as the app does (429, Retry-After, counted)', async () => {
    const limits = { ...config.api.limits, requestsPerSecond: 0.001, burst: 3 };
    const limited = { ...config, api: { ...config.api, limits } };
    const servers = await Promise.all([
      startServer(limited, { port: 0, watch: false, env, consoleDir: null }),
      startServer(limited, { port: 0, watch: false, env, consoleDir: null, leanProfiles: false }),
    ]);
    try {
      const answers = await Promise.all(
        servers.map(async (s) => {
          const out: Answer[] = [];
          for (let i = 0; i < 5; i++) out.push(await get(s.url, '/v1/profiles/C0001', bearer(keys.viewer)));
          return out;
        }),
      );
      expect(answers[0]!.map((a) => a.status)).toEqual([200, 200, 200, 429, 429]);
      expect(answers[0]).toEqual(answers[1]);
      expect(await counters(servers[0]!.url)).toEqual(await counters(servers[1]!.url));
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
  });

  it('answers the plain requests itself and leaves the unusual ones to the app', async () => {
    const holder = await StoreHolder.open(config);
    const { profileRoute } = createApp({
      config,
      holder,
      keys: new KeyRing([]),
      limits: config.api.limits,
    });
    // The app is replaced by a marker: 299 means the lean route left the request.
    const server = http.createServer((req, res) => {
      if (!profileRoute(req, res)) res.writeHead(299).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const left: string[] = [];
      for (const [name, path, headers, method] of requests()) {
        if ((await get(url, path, headers, method)).status === 299) left.push(name);
      }
      expect(left).toEqual([
        'two keys',
        'as of a past time',
        'repeated tags',
        'an encoded id',
        'encoded tags',
        'a plus in tags',
        'a unicode id',
        'an id too long',
        'a URL too long',
        'tags too long',
        'a fragment',
        'a trailing slash',
        'no id',
        'dot segments',
        'explain',
        'an upper-case host',
        'HEAD',
      ]);
    } finally {
      server.close();
      holder.stop();
    }
  });
});
