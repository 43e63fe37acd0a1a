// Open loop (--request-rate): on a fast target the requests go out at the requested rate (± 5 %),
// and latency is counted from each request's intended send time, so a server stall shows as the
// queue it builds (every request that should have gone out during it), not as one slow request —
// what a closed loop, or a load tool that waits for free connections, reports (coordinated omission).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type JetserveServer } from '../../src/serve/start.js';
import { answer, mlpBasePath, OK_BODY, perf, scriptedTarget } from './helpers.js';

let server: JetserveServer;
let rest: string;

beforeAll(async () => {
  server = await startServer({ modelName: 'mlp', modelBasePath: mlpBasePath(), restApiPort: 0, port: false, host: '127.0.0.1', log: false });
  rest = `http://127.0.0.1:${server.http!.port}`;
});

afterAll(async () => {
  await server?.close();
});

describe('open-loop pacing on a fast target (jetserve, mlp)', () => {
  for (const rate of [200, 1000]) {
    it(`--request-rate ${rate}: sent and answered within 5 % of ${rate}/s`, async () => {
      const { result } = await perf(['--url', rest, '--model', 'mlp', '--request-rate', String(rate), '--duration', '1', '--warmup', '0.5', '--max-windows', '3', '--quiet']);
      const l = result.levels[0]!;
      expect(result.mode).toBe('request-rate');
      expect(l.request_rate).toBe(rate);
      expect(l.error_count).toBe(0);
      expect(Math.abs(l.achieved_rate_rps! - rate) / rate).toBeLessThanOrEqual(0.05);
      expect(Math.abs(l.throughput_rps - rate) / rate).toBeLessThanOrEqual(0.05);
    });
  }

  it('--request-distribution poisson keeps the mean rate', async () => {
    // a Poisson count of mean N deviates by sqrt(N) on its own: at 500/s over 3 windows of 1 s
    // (N = 1,500) that is 2.6 %, and ±5 % would fail one run in twenty by chance alone; at
    // 2,000/s (N = 6,000) one standard deviation is 1.3 % and ±5 % is 3.9 of them
    const rate = 2000;
    const { result } = await perf(['--url', rest, '--model', 'mlp', '--request-rate', String(rate), '--request-distribution', 'poisson', '--duration', '1', '--warmup', '0.5', '--max-windows', '3', '--quiet']);
    expect(Math.abs(result.levels[0]!.achieved_rate_rps! - rate) / rate).toBeLessThanOrEqual(0.05);
  });
});

describe('latency from the intended send time (no coordinated omission)', () => {
  it('a 300 ms stall every second: the open loop reports the queue it builds; a closed loop hides it', async () => {
    // answers at once, except that every response due in the first 300 ms of each second is held
    // until that stall ends
    const stallMs = 300;
    const target = await scriptedTarget((_n, _req, res) => {
      const phase = Date.now() % 1000;
      if (phase < stallMs) setTimeout(() => answer(res, 200, OK_BODY), stallMs - phase);
      else answer(res, 200, OK_BODY);
    });
    try {
      const common = ['--url', target.url, '--model', 'scripted', '--duration', '1', '--warmup', '0', '--max-windows', '3', '--quiet'];
      // one connection: requests due during a stall wait client-side, and that wait is counted
      const open = (await perf([...common, '--request-rate', '200', '--max-inflight', '1'])).result.levels[0]!;
      const closed = (await perf([...common, '--concurrency', '1'])).result.levels[0]!;
      // 30 % of the intended sends fall in a stall and wait up to 300 ms (150 ms on average)
      expect(open.latency_us.p90).toBeGreaterThan(100_000);
      expect(open.latency_us.p99).toBeGreaterThan(200_000);
      // the closed loop sends nothing while it waits: one slow request per stall among thousands
      expect(closed.latency_us.p90).toBeLessThan(20_000);
      expect(closed.latency_us.max).toBeGreaterThan(100_000);
      // the open loop kept sending on schedule (the backlog went out once the connection freed)
      expect(Math.abs(open.achieved_rate_rps! - 200) / 200).toBeLessThanOrEqual(0.05);
    } finally {
      await target.close();
    }
  }, 60_000);
});
