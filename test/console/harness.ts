/**
 * What the browser tests and the console benchmark share: Debian's Chromium driven by playwright-core
 * (no downloaded browser), the console bundle built when missing or older than its sources, and a
 * small generated card world with tag history.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { defaultConsoleDir } from '../../src/api/console-assets.js';
import { build } from '../../src/engine/build.js';
import { generateWorld } from '../../src/generate/index.js';
import { ingest } from '../../src/ingest/ingest.js';
import { trainModel } from '../../src/models/train.js';
import { packDir } from '../../src/packs/index.js';

export const CHROMIUM = process.env.TAGVERSE_CHROMIUM ?? '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);
/** In CI (CI=true, as .ci/run and CI services set it) a missing browser fails the tests instead of skipping them. */
export const IN_CI = /^(1|true)$/i.test(process.env.CI ?? '');
/** Skip the browser tests: only outside CI, and only when Chromium is missing. */
export const skipBrowser = !hasChromium && !IN_CI;
export const NO_CHROMIUM = IN_CI
  ? `${CHROMIUM} is not installed, and CI=true: the console's browser tests fail (.ci/run installs chromium)`
  : `${CHROMIUM} is not installed: the console's browser tests are skipped (apt-get install chromium; .ci/run installs it)`;

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Flags for Chromium on a machine without network (see the machine notes). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
];

export async function launchChromium(): Promise<Browser> {
  if (!hasChromium) throw new Error(NO_CHROMIUM);
  const { chromium } = await import('playwright-core');
  // launch() gives every browser a fresh, empty profile of its own.
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

function newest(p: string): number {
  const s = statSync(p);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(s.mtimeMs, ...readdirSync(p).map((f) => newest(path.join(p, f))));
}

/** The console bundle (dist/web), built first when it is missing or older than what it is built from. */
export async function consoleBundle(): Promise<string> {
  const dir = defaultConsoleDir();
  const index = path.join(dir, 'index.html');
  const sources = [
    'web/src',
    'web/index.html',
    'web/public',
    'web/vite.config.ts',
    'src/client',
    'src/lang',
  ].map((p) => path.join(root, p));
  if (!existsSync(index) || statSync(index).mtimeMs < Math.max(...sources.map(newest))) {
    const vite = await import('vite');
    await vite.build({ configFile: path.join(root, 'web/vite.config.ts'), logLevel: 'warn' });
  }
  return dir;
}

/** The card pack's tag files the test world carries (enough for every kind of tag, quick to build). */
export const TEST_TAG_FILES = ['spending.yaml', 'preferences.yaml', 'conditions.yaml', 'tastes.yaml'];

/**
 * A small churn model over tags of TEST_TAG_FILES (a few trees: quick to train on a test world), so
 * the Models page and the customer page's model scores have a real model to show.
 */
export const TEST_MODEL = `name: churn_60d
title: Churn in 60 days
description: Probability that an active customer makes no card payment in the next 60 days.
category: condition
owner: retention
status: approved
label:
  from: transactions
  value: count() = 0
  horizon: 60d
filter: txn_count_90d > 0
features:
  include: [spend_30d, spend_90d, txn_count_90d, avg_ticket_90d, online_share_90d]
  profile: [customers.age_band, customers.card_product]
cutoffs: [2025-06-30, 2025-08-31, 2025-10-31]
algorithm: gbdt
params: { trees: 40, learning_rate: 0.15, max_depth: 3 }
seed: 7
`;

/**
 * A generated card world, ingested and built at three as-of times (so tags have history); with
 * `models`, those model definitions are written and trained before the last build (which scores them).
 * @example
 *   const dir = await consoleWorld('/tmp/w', { customers: 800, models: { churn_60d: TEST_MODEL } });
 */
export async function consoleWorld(
  dir: string,
  opts: {
    customers: number;
    tagFiles?: readonly string[] | 'all';
    asOfs?: readonly string[];
    models?: Readonly<Record<string, string>>;
  },
): Promise<string> {
  if (opts.tagFiles !== 'all') {
    mkdirSync(path.join(dir, 'tags'), { recursive: true });
    for (const f of opts.tagFiles ?? TEST_TAG_FILES)
      cpSync(path.join(packDir('card'), 'tags', f), path.join(dir, 'tags', f));
  }
  await generateWorld({ customers: opts.customers, months: 12, seed: 7, out: dir });
  await ingest(dir);
  for (const asOf of opts.asOfs ?? ['2025-08-31', '2025-10-31']) await build(dir, { asOf });
  const models = Object.entries(opts.models ?? {});
  if (models.length > 0) {
    mkdirSync(path.join(dir, 'models'), { recursive: true });
    for (const [name, yaml] of models) writeFileSync(path.join(dir, 'models', `${name}.yaml`), yaml);
    for (const [name] of models) await trainModel(dir, name, { publish: false });
  }
  await build(dir);
  return dir;
}

/**
 * The page's own view of itself, for functions that run in the browser (functions, not strings: the
 * console's CSP forbids evaluating strings, and tests run under that CSP).
 */
interface InPage {
  document: {
    querySelector(selector: string): unknown;
    querySelectorAll(selector: string): ArrayLike<{ getAttribute(name: string): string | null }>;
  };
  performance: { now(): number };
}

/** In the page: has every chart on it drawn? */
export function chartsDrawn(): boolean {
  const { document } = globalThis as unknown as InPage;
  return Array.from(document.querySelectorAll('.chart')).every(
    (c) => c.getAttribute('data-chart-ready') === 'true',
  );
}

/**
 * Milliseconds from navigation start until `selector` matches (and every chart has drawn, when asked),
 * checked every frame in the page.
 */
export async function timeTo(page: Page, selector: string, opts: { charts?: boolean } = {}): Promise<number> {
  const handle = await page.waitForFunction(
    ([sel, charts]) => {
      const w = globalThis as unknown as InPage;
      const drawn = Array.from(w.document.querySelectorAll('.chart')).every(
        (c) => c.getAttribute('data-chart-ready') === 'true',
      );
      return w.document.querySelector(sel) !== null && (!charts || drawn) && w.performance.now();
    },
    [selector, opts.charts ?? false] as const,
    { polling: 'raf', timeout: 60_000 },
  );
  return Math.round((await handle.jsonValue()) as number);
}

/** Problems a page reports: console errors and uncaught exceptions. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
  return errors;
}

/** A fresh browser context already signed in with `key` (as the sign-in form stores it). */
export async function signedIn(browser: Browser, key: string): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  await context.addInitScript(
    `if (!sessionStorage.getItem('tagverse.console.key')) sessionStorage.setItem('tagverse.console.key', ${JSON.stringify(key)});`,
  );
  return context;
}
