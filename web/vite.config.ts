/**
 * Vite config of the web console: `npm run build` writes the bundle to dist/web, which
 * `tagverse serve` serves at `/`; `npm run dev:web` serves the sources with hot reload and proxies
 * the API to TAGVERSE_API (default http://127.0.0.1:8080, a running `tagverse serve`).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const api = process.env.TAGVERSE_API ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  // JSX through esbuild (automatic runtime): no React plugin needed.
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    reportCompressedSize: false,
    // The charting chunk (ECharts, loaded on first chart) is ~600 kB minified, ~200 kB compressed.
    chunkSizeWarningLimit: 800,
  },
  server: {
    proxy: Object.fromEntries(['/v1', '/openapi.json', '/metrics', '/healthz'].map((p) => [p, api])),
  },
});
