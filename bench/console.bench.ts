/**
 * The web console: the size of its bundle (every file raw, gzip and brotli; what the first page needs
 * against what loads on demand) and its initial load time in Chromium against `tagverse serve` on a
 * generated 100k-customer card world (target: the overview with every number from the API in < 1 s,
 * cold cache, on localhost). Also the time to each other page's data.
 *
 * BENCH_CUSTOMERS sets the world size; BENCH_CONSOLE_WORLD=DIR reuses a built project instead of
 * generating one. Skipped (with the reason in the figures) when /usr/bin/chromium is absent.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import type { Browser } from 'playwright-core';
import { createApiKey } from '../src/api/keys.js';
import { startServer } from '../src/api/server.js';
import { TagverseClient } from '../src/client/index.js';
import { requireProject } from '../src/config/project.js';
import {
  consoleBundle,
  consoleWorld,
  hasChromium,
  launchChromium,
  NO_CHROMIUM,
  signedIn,
  timeTo,
} from '../test/console/harness.js';
import type { Benchmark } from './harness.js';

const TARGET_MS = 1000;
/** The overview with every figure from the API on screen. */
const OVERVIEW = '[data-testid=overview][data-ready=true]';

interface FileSize {
  readonly file: string;
  readonly raw: number;
  readonly gzip: number;
  readonly brotli: number;
}

function sizes(dir: string): FileSize[] {
  const out: FileSize[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(path.join(dir, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      if (statSync(path.join(dir, r)).isDirectory()) walk(r);
      else {
        const body = readFileSync(path.join(dir, r));
        out.push({
          file: r,
          raw: body.length,
          gzip: gzipSync(body, { level: 9 }).length,
          brotli: brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
        });
      }
    }
  };
  walk('');
  return out.sort((a, b) => b.raw - a.raw);
}

const sum = (files: readonly FileSize[], k: 'raw' | 'gzip' | 'brotli') => files.reduce((s, f) => s + f[k], 0);
const kib = (n: number) => Math.round((n / 1024) * 10) / 10;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const bench: Benchmark = {
  name: 'console',
  description:
    'web console: bundle bytes (raw/gzip/brotli) and initial load time in Chromium on a 100k world',
  async run(ctx) {
    const bundleDir = await consoleBundle();
    const files = sizes(bundleDir);
    const index = readFileSync(path.join(bundleDir, 'index.html'), 'utf8');
    // What the first page needs: index.html and what it links; the rest (charts) loads on demand.
    const initial = files.filter((f) => f.file === 'index.html' || index.includes(`/${f.file}"`));
    const onDemand = files.filter((f) => !initial.includes(f));
    const bundle = {
      files: files.map((f) => ({ ...f, initial: initial.includes(f) })),
      totalKiB: {
        raw: kib(sum(files, 'raw')),
        gzip: kib(sum(files, 'gzip')),
        brotli: kib(sum(files, 'brotli')),
      },
      initialKiB: {
        raw: kib(sum(initial, 'raw')),
        gzip: kib(sum(initial, 'gzip')),
        brotli: kib(sum(initial, 'brotli')),
      },
      onDemandKiB: {
        raw: kib(sum(onDemand, 'raw')),
        gzip: kib(sum(onDemand, 'gzip')),
        brotli: kib(sum(onDemand, 'brotli')),
      },
    };
    ctx.log(
      `bundle: ${bundle.totalKiB.raw} KiB raw, ${bundle.totalKiB.gzip} KiB gzip; first page ${bundle.initialKiB.raw} KiB raw, ${bundle.initialKiB.brotli} KiB brotli`,
    );
    if (!hasChromium) {
      ctx.log(NO_CHROMIUM);
      return { bundle, load: { skipped: NO_CHROMIUM } };
    }

    const customers = Number(process.env.BENCH_CUSTOMERS ?? (ctx.scale === 'quick' ? 10_000 : 100_000));
    let dir = process.env.BENCH_CONSOLE_WORLD;
    if (!dir) {
      dir = path.join(ctx.tmpDir, 'world');
      ctx.log(
        `generating, ingesting and building ${customers} customers x 12 months (the whole card library)`,
      );
      await consoleWorld(dir, { customers, tagFiles: 'all', asOfs: [] });
    }
    const key = createApiKey(requireProject(dir), 'admin', 'console bench').key;
    const server = await startServer(dir, { port: 0, watch: false, consoleDir: bundleDir });
    const api = new TagverseClient({ baseUrl: server.url, apiKey: key });
    let browser: Browser | undefined;
    try {
      const store = await api.store();
      const someone = (await api.previewSegment('true', { sample: 1 })).sample[0]!;
      browser = await launchChromium();
      const runs = ctx.scale === 'quick' ? 3 : 7;
      const cold: { ready: number; charts: number; domContentLoaded: number; firstPaint: number }[] = [];
      const warm: number[] = [];
      for (let i = 0; i < runs; i++) {
        // A new context each time: empty cache, as a first visit.
        const context = await signedIn(browser, key);
        const page = await context.newPage();
        await page.goto(`${server.url}/`);
        const ready = await timeTo(page, OVERVIEW);
        const charts = await timeTo(page, OVERVIEW, { charts: true });
        const nav = await page.evaluate(() => {
          // In the page: the browser's Performance API (typed loosely: this file compiles for Node).
          const p = globalThis.performance as unknown as {
            getEntriesByType(t: string): { domContentLoadedEventEnd: number }[];
            getEntriesByName(n: string): { startTime: number }[];
          };
          const paint = p.getEntriesByName('first-contentful-paint')[0];
          return {
            dcl: p.getEntriesByType('navigation')[0]!.domContentLoadedEventEnd,
            fcp: paint ? paint.startTime : 0,
          };
        });
        cold.push({ ready, charts, domContentLoaded: Math.round(nav.dcl), firstPaint: Math.round(nav.fcp) });
        await page.reload();
        warm.push(await timeTo(page, OVERVIEW));
        await context.close();
        ctx.log(`run ${i + 1}: overview ready ${ready} ms cold (charts ${charts} ms), ${warm[i]} ms warm`);
      }
      // The other pages, cold, once each.
      const pages: Record<string, number> = {};
      for (const [name, url, ready] of [
        ['tags', '/tags', '[data-testid=catalog][data-ready=true]'],
        ['tag', '/tags/spend_90d', '[data-testid=tag-page][data-ready=true]'],
        ['customer', `/customers/${someone}`, '[data-testid=customer][data-ready=true]'],
        ['segments', `/segments?expr=${encodeURIComponent('true')}`, '[data-testid=segment-count]'],
      ] as const) {
        const context = await signedIn(browser, key);
        const page = await context.newPage();
        await page.goto(server.url + url);
        pages[name] = await timeTo(page, ready);
        await context.close();
      }
      const readyP50 = median(cold.map((c) => c.ready));
      return {
        bundle,
        load: {
          entities: store.entities,
          tags: store.tags,
          runs,
          coldOverviewReadyMs: { p50: readyP50, max: Math.max(...cold.map((c) => c.ready)) },
          coldChartsDrawnMs: { p50: median(cold.map((c) => c.charts)) },
          domContentLoadedMs: { p50: median(cold.map((c) => c.domContentLoaded)) },
          firstContentfulPaintMs: { p50: median(cold.map((c) => c.firstPaint)) },
          warmOverviewReadyMs: { p50: median(warm) },
          otherPagesColdReadyMs: pages,
          targetMs: TARGET_MS,
          meetsTarget: readyP50 < TARGET_MS,
        },
      };
    } finally {
      await browser?.close();
      await server.close();
    }
  },
};

export default bench;
