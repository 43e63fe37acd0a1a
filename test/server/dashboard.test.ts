// The dashboard (issue 13 item 7) in a real browser: Debian's headless Chromium driven by
// playwright-core (no browser download). The server is the `jetserve` default — the bundled demo
// model — with --enable_dashboard and an admin token; the page gets the token from its URL
// fragment (never sent to the server), shows half_plus_two AVAILABLE, and while this test sends
// predict traffic its request-rate, latency and batch-size charts move. A screenshot is saved to
// docs/dashboard.png (the README shows it). Without the token the page asks for one.

import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type JetserveServer } from '../../src/serve/start.js';
import { demoBasePath } from './helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TOKEN = 'dashboard-test-token-0123456789';
const SCREENSHOT = join(process.cwd(), 'docs', 'dashboard.png');

let dir: string;
let server: JetserveServer;
let browser: BrowserContext;
let base: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run installs it)`);
  dir = mkdtempSync(join(tmpdir(), 'jetserve-dashboard-'));
  writeFileSync(join(dir, 'token'), TOKEN);
  // the demo model in two versions, with labels, a traffic split and a shadow: the page shows them all
  for (const v of ['1', '2']) cpSync(join(demoBasePath(), '1'), join(dir, 'half_plus_two', v), { recursive: true });
  writeFileSync(
    join(dir, 'models.conf'),
    `model_config_list { config {
      name: 'half_plus_two' base_path: '${join(dir, 'half_plus_two')}'
      model_version_policy { all {} }
      version_labels { key: 'stable' value: 1 } version_labels { key: 'canary' value: 2 }
      traffic_split { key: 1 value: 80 } traffic_split { key: 2 value: 20 }
      shadow { version: 2 percent: 25 }
    } }`,
  );
  server = await startServer({
    enableDashboard: true,
    adminTokenFile: join(dir, 'token'),
    modelConfigFile: join(dir, 'models.conf'),
    modelMemoryBudgetMb: 2048,
    restApiPort: 0,
    port: false,
    host: '127.0.0.1',
    log: false,
  });
  base = `http://127.0.0.1:${server.http!.port}`;
  // a fresh profile (--user-data-dir) in the test's temporary directory
  browser = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1200, height: 640 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The chart's values as the page keeps them on its <svg> (points drawn, last and largest value). */
async function chart(page: Page, id: string): Promise<{ points: number; last: number; max: number }> {
  return page.$eval(`#${id} svg`, (svg) => {
    const data = (svg as unknown as { dataset: Record<string, string | undefined> }).dataset;
    return { points: Number(data.points ?? 0), last: Number(data.last ?? 0), max: Number(data.max ?? 0) };
  });
}

describe('dashboard in headless Chromium', () => {
  it('shows the demo model AVAILABLE, and its charts move with live traffic; screenshot for the README', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(`${base}/dashboard#token=${TOKEN}`);
    // the fragment is consumed, not left in the address bar
    await page.waitForFunction('location.hash === ""');
    const state = page.locator('tr[data-model="half_plus_two"] .state');
    await expect.poll(() => state.first().textContent(), { timeout: 15_000 }).toBe('AVAILABLE');
    await expect.poll(() => page.textContent('#connection'), { timeout: 10_000 }).toBe('live');
    expect(await page.textContent('#memory')).toMatch(/of the 2048\.0 MiB budget/);

    expect(await page.textContent('tr[data-model="half_plus_two"][data-version="2"]')).toMatch(/canary.*20 %/);
    // traffic: concurrent predicts, 2 clients for 2 s then 4 more for 2 s (the batcher merges some)
    const before = await chart(page, 'chart-rate');
    let sent = 0;
    const client = async (startAfterMs: number, until: number) => {
      await new Promise((r) => setTimeout(r, startAfterMs));
      while (Date.now() < until) {
        const r = await fetch(`${base}/v1/models/half_plus_two:predict`, { method: 'POST', body: '{"instances": [1.0, 2.0, 5.0]}' });
        expect(r.status).toBe(200);
        await r.arrayBuffer();
        sent++;
      }
    };
    const end = Date.now() + 4_000;
    await Promise.all([client(0, end), client(0, end), ...[1, 2, 3, 4].map(() => client(2_000, end))]);
    await expect.poll(async () => (await chart(page, 'chart-rate')).max, { timeout: 10_000 }).toBeGreaterThan(0);
    const rate = await chart(page, 'chart-rate');
    expect(rate.points).toBeGreaterThan(before.points);
    // at most the requests this test sent, per second, over the window the chart saw
    expect(rate.max).toBeLessThanOrEqual(sent);
    expect((await chart(page, 'chart-latency')).max).toBeGreaterThan(0);
    // three rows per request: every batch holds at least 3
    expect((await chart(page, 'chart-batch')).max).toBeGreaterThanOrEqual(3);
    // the shadow version's comparisons show up (identical versions: no mismatch)
    await expect.poll(() => page.textContent('tr[data-model="half_plus_two"][data-version="2"] .shadow')).toMatch(/shadow 25 %: [1-9]\d* compared, 0 mismatched/);

    mkdirSync(join(process.cwd(), 'docs'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('without the token the page asks for one, and connects once it is given', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/dashboard`);
    await page.waitForSelector('#login[open]');
    expect(await page.textContent('#login-reason')).toMatch(/Authorization: Bearer <token>/);
    await page.fill('#token', TOKEN);
    await page.click('#login button');
    await expect.poll(() => page.textContent('#connection'), { timeout: 10_000 }).toBe('live');
    await page.close();
  });
});
