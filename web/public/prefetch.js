// @ts-check
/**
 * Runs before the app (a tiny classic script in <head>): with a stored key, asks at once for the key's
 * identity and, on the overview, for the overview's data, while the app's code is still downloading and
 * compiling. The app takes these answers over (ConsoleApi.prefetched in src/api/console-api.ts, which
 * declares `window.__tagversePrefetch`). Plain JavaScript because it is served as it is, unbundled.
 */
(() => {
  const STORAGE_KEY = 'tagverse.console.key';
  // The overview's requests, exactly as the app makes them.
  const OVERVIEW = ['/v1/store', '/v1/tags', '/v1/sources', '/v1/builds?limit=10'];
  const key = sessionStorage.getItem(STORAGE_KEY) ?? localStorage.getItem(STORAGE_KEY);
  if (!key) return;
  const paths = ['/v1/me', ...(window.location.pathname === '/' ? OVERVIEW : [])];
  const init = { headers: { accept: 'application/json', authorization: `Bearer ${key}` } };
  /** @type {any} */ (window).__tagversePrefetch = {
    key,
    responses: new Map(paths.map((p) => [p, fetch(p, init)])),
  };
})();
