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
import { tempDir } from '../helpers.js';
import {
  chartsDrawn,
  consoleBundle,
  consoleWorld,
  hasChromium,
  launchChromium,
  NO_CHROMIUM,
  signedIn,
  watchErrors,
} from './harness.js';

if (!hasChromium) console.warn(NO_CHROMIUM);

const SHOTS = path.resolve('test-results/console');
let server: RunningServer;
let browser: Browser;
let admin: TagverseClient;
const keys = { admin: '', editor: '', viewer: '' };

beforeAll(async () => {
  if (!hasChromium) return;
  mkdirSync(SHOTS, { recursive: true });
  const [bundle, dir] = await Promise.all([consoleBundle(), consoleWorld(tempDir(), { customers: 800 })]);
  for (const role of ['admin', 'editor', 'viewer'] as const)
    keys[role] = createApiKey(requireProject(dir), role, `console ${role}`).key;
  server = await startServer(dir, { port: 0, watch: false, consoleDir: bundle });
  admin = new TagverseClient({ baseUrl: server.url, apiKey: keys.admin });
  browser = await launchChromium();
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
describe.skipIf(!hasChromium)('the console in Chromium', { timeout: 180_000 }, () => {
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
      ['models', '/models', 'text=This server has no models API yet'],
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
    // No models API on this server (the page said so): no Models page in the navigation.
    expect(await page.locator('nav >> text=Models').count()).toBe(0);
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
});
