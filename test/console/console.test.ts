/**
 * The web console in a real browser (Debian's Chromium, headless, driven by playwright-core) against a
 * real server on 127.0.0.1 over a generated card world: every page loads without console errors and
 * is photographed under test-results/console/; the segment count follows the expression as it is
 * typed and equals the API's; the customer page shows the evidence behind a tag; a viewer cannot
 * save a segment (no control for it, and the API refuses); an editor saves, compares and exports one.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/api/keys.js';
import { type RunningServer, startServer } from '../../src/api/server.js';
import { TagverseClient } from '../../src/client/index.js';
import { requireProject } from '../../src/config/project.js';
import { fmtNumber } from '../../web/src/ui/format.js';
import { tempDir } from '../helpers.js';
import {
  chartsDrawn,
  consoleBundle,
  consoleWorld,
  hasChromium,
  launchChromium,
  NO_CHROMIUM,
  signedIn,
  skipBrowser,
  TEST_MODEL,
  watchErrors,
} from './harness.js';

if (!hasChromium) console.warn(NO_CHROMIUM);

const SHOTS = path.resolve('test-results/console');
let server: RunningServer;
let browser: Browser;
let admin: TagverseClient;
const keys = { admin: '', editor: '', viewer: '' };

beforeAll(async () => {
  if (skipBrowser) return;
  mkdirSync(SHOTS, { recursive: true });
  browser = await launchChromium();
  const [bundle, dir] = await Promise.all([
    consoleBundle(),
    consoleWorld(tempDir(), { customers: 800, models: { churn_60d: TEST_MODEL } }),
  ]);
  for (const role of ['admin', 'editor', 'viewer'] as const)
    keys[role] = createApiKey(requireProject(dir), role, `console ${role}`).key;
  server = await startServer(dir, { port: 0, watch: false, consoleDir: bundle });
  admin = new TagverseClient({ baseUrl: server.url, apiKey: keys.admin });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function open(page: Page, url: string, ready: string): Promise<void> {
  await page.goto(server.url + url);
  await page.waitForSelector(ready, { timeout: 30_000 });
  // Charts draw after their library arrives: wait for every chart on the page.
  await page.waitForFunction(chartsDrawn, undefined, { timeout: 30_000 });
}

const shot = (page: Page, name: string) =>
  page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

// Pages wait on DuckDB queries and a browser on 2 shared cores: generous limits, rarely approached.
describe.skipIf(skipBrowser)('the console in Chromium', { timeout: 180_000 }, () => {
  it('signs in with an API key, and a deep link opens after sign-in', async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    await page.goto(`${server.url}/tags/golf_lover`);
    await page.waitForSelector('#api-key');
    await shot(page, 'sign-in');
    await page.fill('#api-key', 'tvk_000000_not-a-key-not-a-key-not-a-key');
    await page.click('button[type=submit]');
    await expect.poll(() => page.textContent('[role=alert]')).toContain('not valid');
    await page.fill('#api-key', keys.viewer);
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-testid=tag-page][data-ready=true]');
    expect(await page.textContent('h1')).toBe('Golf lover');
    expect(await page.textContent('[data-testid=role]')).toBe('viewer');
    await page.click('text=Sign out');
    await page.waitForSelector('#api-key');
    await context.close();
  });

  it('every page loads without console errors (screenshots in test-results/console)', async () => {
    const context = await signedIn(browser, keys.admin);
    const page = await context.newPage();
    const errors = watchErrors(page);
    const someone = (await admin.previewSegment('golf_lover', { sample: 1 })).sample[0]!;
    const pages: [string, string, string][] = [
      ['overview', '/', '[data-testid=overview][data-ready=true]'],
      ['tags', '/tags', '[data-testid=catalog][data-ready=true]'],
      ['tag-boolean', '/tags/golf_lover', '[data-testid=tag-page][data-ready=true]'],
      ['tag-number', '/tags/spend_90d', '[data-testid=tag-page][data-ready=true]'],
      ['tag-list', '/tags/cuisine_affinity', '[data-testid=tag-page][data-ready=true]'],
      ['customers', '/customers', '[data-testid=customer-search]'],
      ['customer', `/customers/${someone}?tag=golf_lover`, '[data-testid=evidence]'],
      [
        'segments',
        `/segments?expr=${encodeURIComponent("golf_lover and region = 'Seoul'")}`,
        '[data-testid=segment-count]',
      ],
      ['models', '/models', '[data-testid=models][data-ready=true]'],
      ['model', '/models/churn_60d', '[data-testid=model][data-ready=true]'],
    ];
    for (const [name, url, ready] of pages) {
      await open(page, url, ready);
      await shot(page, name);
      expect(errors, `${name}: ${errors.join('\n')}`).toEqual([]);
    }
    // Numbers on the overview are the API's.
    const store = await admin.store();
    await open(page, '/', '[data-testid=overview][data-ready=true]');
    expect(await page.textContent('[data-testid=stat-entities]')).toBe(
      store.entities.toLocaleString('en-US'),
    );
    expect(await page.textContent('[data-testid=stat-tags]')).toBe(store.tags.toLocaleString('en-US'));
    const sources = (await (
      await fetch(`${server.url}/v1/sources`, { headers: { authorization: `Bearer ${keys.admin}` } })
    ).json()) as { sources: { name: string; rows: number }[] };
    for (const src of sources.sources) {
      const row = page.locator('[data-testid=sources] tbody tr', { hasText: src.name }).first();
      expect(await row.locator('td').nth(2).textContent(), src.name).toBe(src.rows.toLocaleString('en-US'));
    }
    // The server has a models API: the navigation offers the Models page (once /openapi.json is read).
    // Detection waits until the page is idle (1.5 s, then requestIdleCallback up to 3 s): poll past that.
    await expect.poll(() => page.locator('nav >> text=Models').count(), { timeout: 15_000 }).toBe(1);
    await context.close();
  });

  it('the catalog filters by category, and the count is the API’s', async () => {
    const context = await signedIn(browser, keys.viewer);
    const page = await context.newPage();
    await open(page, '/tags?category=condition', '[data-testid=catalog][data-ready=true]');
    const all = await admin.tags();
    const conditions = await admin.tags({ category: 'condition' });
    expect(await page.textContent('[data-testid=tag-count]')).toBe(
      `${conditions.length} of ${all.length} tags`,
    );
    await page.fill('input[type=search]', 'golf');
    await page.selectOption('select[aria-label=category]', '');
    await expect
      .poll(() => page.locator('[data-testid=tag-table] tbody tr').count())
      .toBe(all.filter((t) => `${t.name} ${t.title} ${t.description}`.toLowerCase().includes('golf')).length);
    await context.close();
  });

  it('the segment count changes as the expression is typed, and matches the API', async () => {
    const context = await signedIn(browser, keys.viewer);
    const page = await context.newPage();
    const errors = watchErrors(page);
    await open(page, '/segments', '[data-testid=segments]');
    const box = page.getByRole('combobox', { name: 'Segment expression' });
    await box.click();
    const counted = (expression: string) =>
      page.waitForSelector(
        `[data-testid=segment-count][data-expression="${expression.replace(/"/g, '\\"')}"]`,
      );
    const shown = async () =>
      Number((await page.textContent('[data-testid=segment-count]'))!.replace(/,/g, ''));

    // Autocomplete: a few letters, then Enter takes the suggestion.
    await box.pressSequentially('golf_lo', { delay: 40 });
    await page.waitForSelector('[role=option] >> text=golf_lover');
    await page.keyboard.press('Enter');
    expect(await box.inputValue()).toBe('golf_lover');
    await counted('golf_lover');
    const golfers = await shown();
    expect(golfers).toBe((await admin.previewSegment('golf_lover')).count);

    // Values of an attribute are suggested after "=".
    await box.pressSequentially(' and region = ', { delay: 40 });
    await page.waitForSelector('[role=option] >> text=Seoul');
    await box.pressSequentially("'Seoul'", { delay: 40 });
    const expression = "golf_lover and region = 'Seoul'";
    expect(await box.inputValue()).toBe(expression);
    await counted(expression);
    const seoul = await shown();
    expect(seoul).toBe((await admin.previewSegment(expression)).count);
    expect(seoul).toBeLessThan(golfers);

    // A typo is caught where it stands; the count waits for a valid expression.
    await box.pressSequentially(' or foodi', { delay: 40 });
    await page.keyboard.press('Escape');
    await expect.poll(() => page.textContent('[data-testid=expression-problem]')).toContain("'foodi'");
    await box.pressSequentially('e', { delay: 40 });
    await counted(`${expression} or foodie`);
    expect(await shown()).toBe((await admin.previewSegment(`${expression} or foodie`)).count);
    await shot(page, 'segments-typed');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('the customer page shows the evidence behind a tag', async () => {
    const id = (await admin.previewSegment('golf_lover', { sample: 1 })).sample[0]!;
    const evidence = await admin.explain(id, 'golf_lover');
    const context = await signedIn(browser, keys.viewer);
    const page = await context.newPage();
    const errors = watchErrors(page);
    await open(page, `/customers/${id}`, '[data-testid=customer][data-ready=true]');
    await page.click('button[data-tag=golf_lover]');
    await page.waitForSelector('[data-testid=evidence]');
    expect(await page.textContent('[data-testid=evidence-reason]')).toBe(evidence.reason);
    const events = evidence.aggregates.flatMap((a) => a.events.map((e) => e.eventId));
    expect(events.length).toBeGreaterThan(0);
    const rows = await page
      .locator('[data-testid=evidence-events] tbody tr td:first-child')
      .allTextContents();
    expect(rows).toEqual(events);
    // The timeline circles the evidence; the events table lists the newest events.
    const latest = await admin.profile(id);
    expect(latest.entityId).toBe(id);
    expect(await page.locator('[data-testid=events-table] tbody tr').count()).toBeGreaterThan(0);
    await shot(page, 'customer-evidence');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('a viewer cannot save a segment: no control for it, and the API refuses', async () => {
    await admin.saveSegment({ name: 'seoul_golfers', expression: "golf_lover and region = 'Seoul'" });
    const context = await signedIn(browser, keys.viewer);
    const page = await context.newPage();
    await open(page, `/segments?expr=${encodeURIComponent('foodie')}`, '[data-testid=saved-segments]');
    await page.waitForSelector('[data-testid=segment-count]');
    expect(await page.locator('[data-testid=save-form]').count()).toBe(0);
    expect(await page.textContent('[data-testid=read-only-note]')).toContain('viewer');
    expect(await page.locator('[data-testid=saved-segments] >> text=Delete').count()).toBe(0);
    await shot(page, 'segments-viewer');
    // The same request the save button would send, from the page with the viewer's key.
    const refused = await page.evaluate(async () => {
      const storage = (globalThis as unknown as { sessionStorage: { getItem(k: string): string } })
        .sessionStorage;
      const r = await fetch('/v1/segments', {
        method: 'POST',
        headers: {
          authorization: `Bearer ${storage.getItem('tagverse.console.key')}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ name: 'sneaky', expression: 'foodie' }),
      });
      return { status: r.status, body: (await r.json()) as { code: string } };
    });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('auth.forbidden');
    expect((await admin.listSegments()).segments.map((s) => s.name)).not.toContain('sneaky');
    await context.close();
  });

  it('an editor saves a segment, sees its count, compares overlap and exports it', async () => {
    const context = await signedIn(browser, keys.editor);
    const page = await context.newPage();
    const errors = watchErrors(page);
    await open(
      page,
      `/segments?expr=${encodeURIComponent('foodie and not golf_lover')}`,
      '[data-testid=saved-segments]',
    );
    await page.waitForSelector('[data-testid=segment-count][data-expression="foodie and not golf_lover"]');
    await page.fill('input[aria-label="Segment name"]', 'foodies_not_golfers');
    await page.fill('input[aria-label=Description]', 'Foodies who do not golf');
    await page.click('text=Save segment');
    await page.waitForSelector('[data-testid=saved-segments] >> text=foodies_not_golfers');
    const saved = await admin.segment('foodies_not_golfers');
    const row = page.locator('[data-testid=saved-segments] tr', { hasText: 'foodies_not_golfers' });
    expect(await row.locator('td.num').textContent()).toBe(saved.count.toLocaleString('en-US'));

    // Overlap of the two saved segments and the current expression.
    await page.check('input[aria-label="Compare foodies_not_golfers"]');
    await page.check('input[aria-label="Compare seoul_golfers"]');
    await page.click('text=Compare overlap');
    await page.waitForSelector('[data-testid=overlap]');
    const overlap = await admin.overlap({
      segments: ['foodies_not_golfers', 'seoul_golfers'],
      expressions: [{ name: 'current expression', expression: 'foodie and not golf_lover' }],
    });
    const cells = (await page.locator('[data-testid=overlap] tbody td').allTextContents()).map((t) =>
      Number(t.replace(/,/g, '')),
    );
    expect(cells).toEqual(overlap.matrix.flat());
    await shot(page, 'segments-editor');

    // Export: the CSV the browser downloads holds every member.
    const [download] = await Promise.all([page.waitForEvent('download'), row.locator('text=CSV').click()]);
    const csv = readFileSync((await download.path())!, 'utf8')
      .trim()
      .split('\n');
    expect(csv.length - 1).toBe(saved.count);
    const members: string[] = [];
    for await (const id of admin.allMembers('foodies_not_golfers')) members.push(id);
    expect(csv.slice(1)).toEqual(members);

    page.once('dialog', (d) => d.accept());
    await row.locator('text=Delete').click();
    await expect
      .poll(async () => (await admin.listSegments()).segments.map((s) => s.name))
      .not.toContain('foodies_not_golfers');
    expect(errors).toEqual([]);
    await context.close();
  });
  it('a tag page shows its highlighted definition, versions, distribution, coverage over time, lineage both ways and sample entities', async () => {
    const get = async <T>(route: string): Promise<T> =>
      (await (
        await fetch(server.url + route, { headers: { authorization: `Bearer ${keys.admin}` } })
      ).json()) as T;
    type Lineage = {
      tag: string;
      nodes: { name: string; depth: number }[];
      edges: { from: string; to: string }[];
    };
    // A tag defined in the tag language (not a model's score) that reads other tags, and one that is read.
    let lineage: Lineage | undefined;
    let readOne: Lineage | undefined;
    for (const t of (await admin.tags()).filter((x) => x.kind !== 'model')) {
      const l = await get<Lineage>(`/v1/tags/${t.name}/lineage`);
      if (!lineage && l.edges.some((e) => e.to === t.name)) lineage = l;
      if (!readOne && l.edges.some((e) => e.from === t.name)) readOne = l;
    }
    expect(lineage, 'the test world has a tag that reads tags').toBeDefined();
    expect(readOne, 'the test world has a tag that tags read').toBeDefined();
    const name = lineage!.tag;
    const history = await get<{ versions: unknown[]; coverage: unknown[] }>(`/v1/tags/${name}/history`);
    const tag = await admin.tag(name);
    const context = await signedIn(browser, keys.viewer);
    const page = await context.newPage();
    const errors = watchErrors(page);
    await open(page, `/tags/${name}`, '[data-testid=tag-page][data-ready=true]');
    expect(await page.textContent('h1')).toBe(tag.title);
    // The definition, highlighted: tokens of the language, tag names linked to their pages.
    const reads = lineage!.edges.filter((e) => e.to === name).map((e) => e.from);
    const readBy = lineage!.edges.filter((e) => e.from === name).map((e) => e.to);
    expect(await page.locator('[data-testid=definition] .tok-ident').count()).toBeGreaterThan(0);
    const linked = await page.locator('[data-testid=definition] .tok-ident a').allTextContents();
    expect(new Set(linked)).toEqual(new Set(reads));
    // What it reads and what reads it: the API's lineage, and its graph drawn.
    expect(await page.locator('[data-testid=reads] a').allTextContents()).toEqual(reads);
    expect(await page.locator('[data-testid=read-by] a').allTextContents()).toEqual(readBy);
    expect(await page.getAttribute('[data-testid=lineage-chart]', 'data-chart-ready')).toBe('true');
    // And the other way: the tags that read a tag.
    await open(page, `/tags/${readOne!.tag}`, '[data-testid=tag-page][data-ready=true]');
    expect(await page.locator('[data-testid=read-by] a').allTextContents()).toEqual(
      readOne!.edges.filter((e) => e.from === readOne!.tag).map((e) => e.to),
    );
    await shot(page, 'tag-read-by');
    await open(page, `/tags/${name}`, '[data-testid=tag-page][data-ready=true]');
    // Versions and coverage over time from tag history; the distribution.
    expect(await page.locator('[data-testid=versions] tbody tr').count()).toBe(history.versions.length);
    expect(history.coverage.length).toBeGreaterThanOrEqual(3);
    expect(await page.getAttribute('[data-testid=coverage-history-chart]', 'data-chart-ready')).toBe('true');
    expect(await page.getAttribute('[data-testid=distribution-chart]', 'data-chart-ready')).toBe('true');
    // Sample entities: the API's sample of those that have it, each linking to its customer page.
    const expr =
      tag.type === 'boolean' ? name : tag.type === 'list' ? `size(${name}) > 0` : `${name} is not null`;
    const sample = await admin.previewSegment(expr, { sample: 12 });
    expect(await page.locator('[data-testid=sample-entities] a').allTextContents()).toEqual(sample.sample);
    await page.click(`[data-testid=sample-entities] >> text=${sample.sample[0]}`);
    await page.waitForSelector('[data-testid=customer][data-ready=true]');
    await page.waitForSelector('[data-testid=evidence]');
    await shot(page, 'tag-chain');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('the models page shows each model card from the API: metrics, ROC, gains, calibration, top features', async () => {
    const get = async <T>(route: string): Promise<T> =>
      (await (
        await fetch(server.url + route, { headers: { authorization: `Bearer ${keys.viewer}` } })
      ).json()) as T;
    const list = await get<{ models: { name: string; auc: number; prAuc: number }[] }>('/v1/models');
    expect(list.models.map((m) => m.name)).toEqual(['churn_60d']);
    const context = await signedIn(browser, keys.viewer);
    const page = await context.newPage();
    const errors = watchErrors(page);
    await open(page, '/', '[data-testid=overview][data-ready=true]');
    await page.click('nav >> text=Models');
    await page.waitForSelector('[data-testid=models][data-ready=true]');
    const row = page.locator('[data-testid=model-table] tr[data-model=churn_60d]');
    const fmt = fmtNumber; // the console's own number format, applied to the API's values
    expect(await row.locator('[data-metric=auc]').textContent()).toBe(fmt(list.models[0]!.auc));
    expect(await row.locator('[data-metric=prAuc]').textContent()).toBe(fmt(list.models[0]!.prAuc));
    await row.locator('a').click();
    await page.waitForSelector('[data-testid=model][data-ready=true]');
    await page.waitForFunction(chartsDrawn, undefined, { timeout: 30_000 });
    const detail = await get<{
      card: { metrics: Record<string, number>; topFeatures: unknown[] };
      roc: unknown[];
    }>('/v1/models/churn_60d');
    for (const k of ['auc', 'prAuc', 'logLoss', 'brier'])
      expect(await page.textContent(`[data-testid=metric-${k}]`), k).toBe(fmt(detail.card.metrics[k]!));
    expect(detail.roc).toHaveLength(11);
    for (const title of ['ROC curve', 'Lift and gains by decile', 'Calibration', 'Top features'])
      expect(await page.locator('.panel h2', { hasText: title }).count(), title).toBe(1);
    expect(await page.locator('.chart[data-chart-ready=true]').count()).toBe(4);
    await shot(page, 'model-card');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('the customer page lists model scores and explains one with per-feature contributions', async () => {
    const id = (await admin.previewSegment('churn_60d_score is not null', { sample: 1 })).sample[0]!;
    const evidence = await admin.explain(id, 'churn_60d_score');
    expect(evidence.model?.contributions.length).toBeGreaterThan(0);
    const context = await signedIn(browser, keys.viewer);
    const page = await context.newPage();
    const errors = watchErrors(page);
    await open(page, `/customers/${id}`, '[data-testid=customer][data-ready=true]');
    const scores = page.locator('[data-testid=model-scores] tr', { hasText: 'Churn in 60 days: score' });
    await scores.locator('text=explain').click();
    await page.waitForSelector('[data-testid=model-contributions]');
    expect(await page.textContent('[data-testid=evidence-reason]')).toBe(evidence.reason);
    const features = await page
      .locator('[data-testid=model-contributions] tbody tr td:first-child')
      .allTextContents();
    expect(features).toEqual(evidence.model!.contributions.slice(0, 15).map((c) => c.feature));
    await shot(page, 'customer-model');
    expect(errors).toEqual([]);
    await context.close();
  });
});
