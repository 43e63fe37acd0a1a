// The --html report in a real browser (Debian's headless Chromium through playwright-core, as the
// dashboard test): `jetserve perf` against the default `jetserve` (the bundled demo model, metrics
// on), the way README's "jetserve perf" section runs it; the page renders its three kinds of chart
// with data in them and no error, and its screenshot is saved to docs/perf-report.png (the README
// shows it).

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type JetserveServer } from '../../src/serve/start.js';
import { perf } from './helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT = join(process.cwd(), 'docs', 'perf-report.png');

let server: JetserveServer;
let dir: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run installs it)`);
  dir = mkdtempSync(join(tmpdir(), 'jetserve-perf-html-'));
  // `npx jetserve --enable_metrics`: no model flags, the demo model half_plus_two
  server = await startServer({ enableMetrics: true, restApiPort: 0, port: false, host: '127.0.0.1', log: false });
}, 120_000);

afterAll(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the HTML report in headless Chromium', () => {
  it('renders the latency-vs-throughput curve, latency and batch-size histograms; screenshot for the README', async () => {
    const html = join(dir, 'report.html');
    const { result } = await perf(['--url', `http://127.0.0.1:${server.http!.port}`, '--model', 'half_plus_two', '--concurrency', '1:16:x2', '--duration', '0.5', '--warmup', '0.3', '--max-windows', '3', '--html', html, '--quiet']);
    expect(result.levels).toHaveLength(5);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 960 } });
      const errors: string[] = [];
      const requests: string[] = [];
      page.on('pageerror', (err) => errors.push(err.message));
      page.on('request', (req) => requests.push(req.url()));
      await page.goto(pathToFileURL(html).href);
      const charts = await page.$$eval('figure', (figures) =>
        figures.map((f) => {
          const svg = f.querySelector('svg')!;
          const box = svg.getBoundingClientRect();
          return {
            caption: f.querySelector('figcaption')!.textContent ?? '',
            points: Number(svg.getAttribute('data-points')),
            marks: svg.querySelectorAll('circle, rect').length,
            width: box.width,
            height: box.height,
          };
        }),
      );
      const of = (prefix: string) => charts.filter((c) => c.caption.startsWith(prefix));
      expect(of('Latency vs throughput')).toHaveLength(1);
      expect(of('Latency vs throughput')[0]!.points).toBe(15); // p50, p90, p99 at 5 levels
      expect(of('Latency histogram')).toHaveLength(6); // the peak level's in the overview, then one per level
      expect(of('Server batch sizes')).toHaveLength(6);
      for (const c of charts) {
        expect(c.width, c.caption).toBeGreaterThan(300);
        expect(c.height, c.caption).toBeGreaterThan(200);
        expect(c.marks, c.caption).toBeGreaterThan(0);
      }
      const rows = await page.$$eval('table tr', (trs) => trs.length);
      expect(rows).toBe(6); // header + 5 levels
      expect(errors).toEqual([]);
      expect(requests.filter((u) => !u.startsWith('file:'))).toEqual([]); // self-contained
      await page.screenshot({ path: SCREENSHOT, fullPage: false });
      expect(existsSync(SCREENSHOT)).toBe(true);
    } finally {
      await browser.close();
    }
  }, 120_000);
});
