/**
 * The web console's built bundle (`npm run build` writes it to dist/web, see web/README.md), served
 * by the API server at `/`: files are read once into memory when the server starts, compressed on
 * first request (brotli or gzip, as the browser accepts) and kept; hashed files under /assets are
 * cached for a year, index.html is revalidated every time. Any other GET of a page path (not under
 * /v1, /docs, ...) that asks for HTML gets index.html, so deep links like /tags/golf_lover work.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompress, brotliCompressSync, constants, gzip, gzipSync } from 'node:zlib';

/** Where `npm run build` puts the bundle: <package>/dist/web (the same from src/api and dist/api). */
export function defaultConsoleDir(): string {
  return fileURLToPath(new URL('../../dist/web/', import.meta.url));
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.svg', '.json', '.txt']);

/**
 * The console may call only its own origin; styles may be inline (the charting library positions
 * tooltips with style attributes); no plugins, frames or foreign forms.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Paths that belong to the API, never to the console. */
const RESERVED = /^\/(v1|docs|openapi\.json|healthz|readyz|metrics)(\/|$)/;

export interface ConsoleAsset {
  readonly body: Buffer;
  readonly type: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly compressible: boolean;
  gzip?: Buffer;
  br?: Buffer;
}

export class ConsoleBundle {
  private constructor(
    readonly dir: string,
    private readonly files: ReadonlyMap<string, ConsoleAsset>,
    readonly index: ConsoleAsset,
  ) {}

  /** The bundle in `dir`, or undefined when it has not been built (no index.html). */
  static load(dir: string): ConsoleBundle | undefined {
    if (!existsSync(path.join(dir, 'index.html'))) return undefined;
    const files = new Map<string, ConsoleAsset>();
    const walk = (sub: string) => {
      for (const name of readdirSync(path.join(dir, sub))) {
        const rel = sub === '' ? name : `${sub}/${name}`;
        const full = path.join(dir, rel);
        if (statSync(full).isDirectory()) walk(rel);
        else if (!name.endsWith('.map')) files.set(`/${rel}`, asset(full, rel));
      }
    };
    walk('');
    const index = files.get('/index.html')!;
    files.set('/', index);
    // Compress everything in the background (zlib's thread pool) so the first visitor waits for none.
    for (const a of files.values()) precompress(a);
    return new ConsoleBundle(dir, files, index);
  }

  /** The file at an exact URL path ('/' is index.html). */
  file(pathname: string): ConsoleAsset | undefined {
    return this.files.get(pathname);
  }

  get size(): number {
    return this.files.size - 1;
  }
}

function asset(full: string, rel: string): ConsoleAsset {
  const ext = path.extname(rel);
  const isIndex = rel === 'index.html';
  const hashed = rel.startsWith('assets/');
  return {
    body: readFileSync(full),
    type: TYPES[ext] ?? 'application/octet-stream',
    compressible: COMPRESSIBLE.has(ext),
    headers: {
      'cache-control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
      ...(isIndex ? { 'content-security-policy': CONSOLE_CSP, 'referrer-policy': 'no-referrer' } : {}),
    },
  };
}

/** Should a request that matched no route get the console's index.html (a deep link into the app)? */
export function isConsolePage(method: string, pathname: string, accept: string | undefined): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  if (RESERVED.test(pathname)) return false;
  if (path.posix.extname(pathname) !== '') return false;
  return (accept ?? '').includes('text/html');
}

const BROTLI = (size: number) => ({
  params: { [constants.BROTLI_PARAM_QUALITY]: 9, [constants.BROTLI_PARAM_SIZE_HINT]: size },
});

function precompress(a: ConsoleAsset): void {
  if (!a.compressible || a.body.length <= 1024) return;
  brotliCompress(a.body, BROTLI(a.body.length), (e, out) => {
    if (!e) a.br ??= out;
  });
  gzip(a.body, { level: 9 }, (e, out) => {
    if (!e) a.gzip ??= out;
  });
}

/** Body and headers for one asset, compressed as the client accepts (compressed once, then kept). */
export function assetResponse(
  a: ConsoleAsset,
  acceptEncoding: string | undefined,
): { body: Buffer; headers: Record<string, string> } {
  const headers: Record<string, string> = { ...a.headers, 'content-type': a.type };
  if (a.compressible && a.body.length > 1024) {
    headers.vary = 'accept-encoding';
    const accepts = acceptEncoding ?? '';
    if (/\bbr\b/.test(accepts)) {
      a.br ??= brotliCompressSync(a.body, BROTLI(a.body.length));
      return { body: a.br, headers: { ...headers, 'content-encoding': 'br' } };
    }
    if (/\bgzip\b/.test(accepts)) {
      a.gzip ??= gzipSync(a.body, { level: 9 });
      return { body: a.gzip, headers: { ...headers, 'content-encoding': 'gzip' } };
    }
  }
  return { body: a.body, headers };
}
