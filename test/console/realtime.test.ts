/**
 * The overview's ingestion rate, in Chromium, against a server with real-time ingestion on: an admin
 * sees the events accepted (the real-time status route's count) and a rate above zero after events
 * arrive between two readings; a viewer is told the rate is for admin keys. Without real-time
 * ingestion the panel is absent (console.test.ts's server).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { createApiKey } from '../../src/api/keys.js';
import { type RunningServer, startServer } from '../../src/api/server.js';
import { requireProject } from '../../src/config/project.js';
import { build } from '../../src/engine/build.js';
import { generateWorld } from '../../src/generate/index.js';
import { ingest } from '../../src/ingest/ingest.js';
import { tempDir } from '../helpers.js';
import { consoleBundle, launchChromium, signedIn, skipBrowser, watchErrors } from './harness.js';

let server: RunningServer;
let browser: Browser;
const keys = { admin: '', viewer: '', ingest: '' };
let worldMs = 0;

beforeAll(async () => {
  if (skipBrowser) return;
  browser = await launchChromium();
  const dir = tempDir();
  const [bundle] = await Promise.all([
    consoleBundle(),
    generateWorld({ customers: 60, months: 2, seed: 3, out: dir, start: '2025-01-01' }),
  ]);
  // Segment `Card Payment` track calls become transactions.
  const file = path.join(dir, 'tagverse.yaml');
  const doc = YAML.parseDocument(readFileSync(file, 'utf8'));
  doc.set(
    'realtime',
    doc.createNode({
      flush_interval_ms: 300,
      segment: { track: [{ events: ['Card Payment'], source: 'transactions' }] },
    }),
  );
  writeFileSync(file, doc.toString());
  await ingest(dir);
  await build(dir);
  for (const role of ['admin', 'viewer', 'ingest'] as const)
    keys[role] = createApiKey(requireProject(dir), role, `console ${role}`).key;
  server = await startServer(dir, { port: 0, watch: false, consoleDir: bundle });
  await server.realtime!.ready;
  worldMs = Math.floor(server.holder.current.info.asOfMicros / 1000);
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function send(n: number, from: number): Promise<void> {
  const batch = Array.from({ length: n }, (_, i) => ({
    type: 'track',
    userId: `C${String(1 + (i % 50)).padStart(7, '0')}`,
    event: 'Card Payment',
    messageId: `console-rate-${from + i}`,
    timestamp: new Date(worldMs - 60_000 + i).toISOString(),
    properties: {
      merchant_id: 'M000758',
      mcc: '5499',
      amount: 1000 + i,
      currency: 'KRW',
      channel: 'offline',
    },
  }));
  const r = await fetch(`${server.url}/v1/batch`, {
    method: 'POST',
    headers: { authorization: `Bearer ${keys.ingest}`, 'content-type': 'application/json' },
    body: JSON.stringify({ batch }),
  });
  expect(r.status, await r.text()).toBe(200);
}

async function accepted(): Promise<number> {
  const r = await fetch(`${server.url}/v1/realtime/status`, {
    headers: { authorization: `Bearer ${keys.admin}` },
  });
  return ((await r.json()) as { accepted: number }).accepted;
}

describe.skipIf(skipBrowser)('the overview with real-time ingestion on', { timeout: 120_000 }, () => {
  it('an admin sees events accepted and the rate; a viewer is told it is for admins', async () => {
    await send(40, 0);
    const context = await signedIn(browser, keys.admin);
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(`${server.url}/`);
    await page.waitForSelector('[data-testid=overview][data-ready=true]');
    await page.waitForSelector('[data-testid=ingest-accepted]');
    const shown = async () =>
      Number((await page.textContent('[data-testid=ingest-accepted]'))!.replace(/,/g, ''));
    await expect.poll(shown).toBe(await accepted());
    expect(await accepted()).toBe(40);
    // Events between two readings (5 s apart): a rate above zero, and the new total.
    await send(250, 40);
    await expect.poll(shown, { timeout: 15_000 }).toBe(290);
    const rate = Number((await page.textContent('[data-testid=ingest-rate]'))!.replace(/,/g, ''));
    expect(rate).toBeGreaterThan(0);
    expect(rate).toBeLessThanOrEqual(250);
    await page.screenshot({
      path: path.resolve('test-results/console/overview-realtime.png'),
      fullPage: true,
    });
    expect(errors).toEqual([]);
    await context.close();

    const viewer = await signedIn(browser, keys.viewer);
    const vpage = await viewer.newPage();
    await vpage.goto(`${server.url}/`);
    await vpage.waitForSelector('[data-testid=overview][data-ready=true]');
    await vpage.waitForSelector('text=its rate is shown to admin keys');
    expect(await vpage.locator('[data-testid=ingest-rate]').count()).toBe(0);
    await viewer.close();
  });
});
