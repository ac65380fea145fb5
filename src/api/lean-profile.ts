/**
 * GET /v1/profiles/{id} answered straight on Node's request and response, in front of the Hono app:
 * the API's hot route. A profile is one lookup and a few KB of JSON written from the columns; through
 * Hono's Node adapter (a Request, the middleware chain, routing, zod on the parameters, a Response
 * turned back into a Node response) the request cost more CPU than the lookup.
 *
 * It answers as the app's route does — the same checks in the same order (URL length, API key, rate
 * limit, role, parameters), the same headers, metrics series and rejection counters, the same
 * application/problem+json errors — and the route stays declared in the app, which documents it in
 * /openapi.json and still answers what this leaves to it: before any check has run (nothing counted,
 * no rate-limit token taken), a request that is not a plain GET of a profile goes on to the app —
 * `as_of` (tag history), percent-encoded or unusual URLs, repeated or over-long parameters, HEAD.
 * test/api/lean-profile.test.ts holds the two paths to the same answers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { releaseProfileBytes } from '../online/store.js';
import type { StoreHolder } from '../online/store-holder.js';
import type { Principal } from './keys.js';
import type { Metrics } from './metrics.js';
import type { Permission } from './roles.js';

/** A handler in front of the app: true when it answered the request, false to leave it to the app. */
export type NodeRoute = (incoming: IncomingMessage, outgoing: ServerResponse) => boolean;

export interface LeanProfileContext {
  readonly holder: StoreHolder;
  readonly metrics: Metrics;
  readonly maxUrlLength: number;
  /** The app's admission to /v1: a valid API key within its rate limit (throws the 401 or 429 problem). */
  readonly admit: (authorization: string | undefined) => Principal;
  /** The app's role check (throws the 403 problem). */
  readonly authorize: (principal: Principal, permission: Permission) => void;
  /** The app's answer to an error: status, problem JSON and headers. */
  readonly problem: (e: unknown) => { status: number; body: string; headers: Record<string, string> };
}

const PREFIX = '/v1/profiles/';
/** The app's name for the route (metrics), and for a refusal before the route is reached (401, 429). */
const ROUTE = '/v1/profiles/:id';
const V1 = '/v1/*';
/** Limits of the route's parameter schemas (schemas.ts ProfileParams, ProfileQuery). */
const MAX_ID = 512;
const MAX_TAGS = 4096;
const MAX_CATEGORY = 128;
/**
 * URLs the Node adapter hands to the app unchanged (its own checks, in @hono/node-server), without
 * anything to decode (% +) or a fragment (#): any other URL is left to the app.
 */
const PLAIN_URL = /^\/[!$&-*,-;=?-[\]_a-z~]*$/;
const DOT_SEGMENT = /\/\.\.?(?:[/?#]|$)/;
const PLAIN_HOST = /^[a-z0-9._-]+(?::(?:[1-5]\d{3,4}|[6-9]\d{3}))?$/;

interface ProfileRequest {
  readonly id: string;
  readonly tags?: string;
  readonly category?: string;
}

/**
 * The id and selection of a plain profile request, or undefined for anything the app should answer:
 * the URL as the app would see it (its length included), and parameters its schemas accept as they are.
 */
function plainRequest(incoming: IncomingMessage, maxUrlLength: number): ProfileRequest | undefined {
  const url = incoming.url;
  if (incoming.method !== 'GET' || url === undefined || !url.startsWith(PREFIX)) return undefined;
  const host = incoming.headers.host;
  // The app's 414 counts the whole URL it sees: http://host/path?query.
  if (host === undefined || `http://${host}`.length + url.length > maxUrlLength) return undefined;
  if (!PLAIN_HOST.test(host) || !PLAIN_URL.test(url) || DOT_SEGMENT.test(url)) return undefined;
  // Several Authorization headers: the app reads them joined (and refuses them); Node keeps the first.
  if (authorizations(incoming.rawHeaders) > 1) return undefined;
  const q = url.indexOf('?');
  const id = url.slice(PREFIX.length, q === -1 ? undefined : q);
  if (id.length === 0 || id.length > MAX_ID || id.includes('/')) return undefined;
  if (q === -1) return { id };
  let tags: string | undefined;
  let category: string | undefined;
  for (const pair of url.slice(q + 1).split('&')) {
    const eq = pair.indexOf('=');
    const name = eq === -1 ? pair : pair.slice(0, eq);
    const value = eq === -1 ? '' : pair.slice(eq + 1);
    if (name === 'tags') {
      if (tags !== undefined || value.length > MAX_TAGS) return undefined;
      tags = value;
    } else if (name === 'category') {
      if (category !== undefined || value.length > MAX_CATEGORY) return undefined;
      category = value;
    } else if (name === 'as_of') return undefined;
    // Other parameters are ignored, as the route's schema ignores them.
  }
  return { id, ...(tags !== undefined ? { tags } : {}), ...(category !== undefined ? { category } : {}) };
}

function authorizations(raw: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 13 && raw[i]!.toLowerCase() === 'authorization') n++;
  }
  return n;
}

/** The lean GET /v1/profiles/{id}: see the file comment. */
export function leanProfileRoute(ctx: LeanProfileContext): NodeRoute {
  const { holder, metrics } = ctx;
  return (incoming, outgoing) => {
    const req = plainRequest(incoming, ctx.maxUrlLength);
    if (!req) return false;
    const started = performance.now();
    let route = V1;
    let status = 200;
    let body: Uint8Array | string;
    let headers: Record<string, string | number>;
    try {
      const principal = ctx.admit(incoming.headers.authorization);
      route = ROUTE;
      const store = holder.acquire();
      try {
        ctx.authorize(principal, 'profiles:read');
        const tags = req.tags
          ?.split(',')
          .map((t) => t.trim())
          .filter((t) => t !== '');
        body = store.profileBytes(req.id, {
          ...(tags ? { tags } : {}),
          ...(req.category !== undefined ? { category: req.category } : {}),
        });
      } finally {
        holder.release();
      }
      headers = {
        'content-type': 'application/json',
        'x-content-type-options': 'nosniff',
        'content-length': body.length,
      };
    } catch (e) {
      const p = ctx.problem(e);
      status = p.status;
      body = p.body;
      headers = {
        ...p.headers,
        'x-content-type-options': 'nosniff',
        'content-length': Buffer.byteLength(body),
      };
    }
    metrics.observe(route, 'GET', status, (performance.now() - started) / 1000);
    outgoing.writeHead(status, headers);
    outgoing.end(body);
    // Nothing waits to be written (the socket took it all): the profile's bytes can be written over.
    if (typeof body !== 'string' && outgoing.writableLength === 0) releaseProfileBytes(body);
    return true;
  };
}
