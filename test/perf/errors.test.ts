// Error accounting: every failed request is counted once under its code — "HTTP <status>" with
// the server's own message, "connection" for a dropped connection, "timeout" past --timeout-ms,
// the gRPC status name — never as a success, and never in the latency figures.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startServer } from '../../src/serve/start.js';
import { answer, mlpBasePath, OK_BODY, perf, scriptedTarget } from './helpers.js';

describe('errors by code against a scripted server', () => {
  it('HTTP statuses with their messages, dropped connections and timeouts, in the proportions served', async () => {
    const served: Record<string, number> = {};
    const target = await scriptedTarget((n, req, res) => {
      const kind = n % 40 === 0 ? 'connection' : n % 20 === 7 ? 'timeout' : n % 4 === 1 ? 'HTTP 503' : n % 4 === 2 ? 'HTTP 400' : 'ok';
      served[kind] = (served[kind] ?? 0) + 1;
      if (kind === 'connection') req.socket.destroy();
      else if (kind === 'timeout') setTimeout(() => answer(res, 200, OK_BODY), 2000);
      else if (kind === 'HTTP 503') answer(res, 503, '{"error": "The batch scheduling queue to which this task was submitted is full"}');
      else if (kind === 'HTTP 400') answer(res, 400, '{"error": "input x: expected shape [-1,4]"}');
      else answer(res, 200, OK_BODY);
    });
    try {
      const { result, err } = await perf(['--url', target.url, '--model', 'scripted', '--concurrency', '4', '--timeout-ms', '100', '--duration', '1', '--warmup', '0', '--max-windows', '3', '--quiet']);
      const l = result.levels[0]!;
      expect(Object.keys(l.errors).sort()).toEqual(['HTTP 400', 'HTTP 503', 'connection', 'timeout']);
      expect(l.error_messages['HTTP 503']).toBe('The batch scheduling queue to which this task was submitted is full');
      expect(l.error_messages['HTTP 400']).toBe('input x: expected shape [-1,4]');
      expect(l.error_messages.timeout).toBe('no answer within 100 ms');
      expect(l.error_count).toBe(Object.values(l.errors).reduce((a, b) => a + b, 0));
      // every outcome perf counted was served; the measured windows cover nearly all the run
      const total = l.requests + l.error_count;
      const servedTotal = Object.values(served).reduce((a, b) => a + b, 0);
      expect(total).toBeLessThanOrEqual(servedTotal);
      expect(total).toBeGreaterThan(servedTotal * 0.8);
      // the proportions perf saw are the ones the server made (within the edges of the windows)
      for (const kind of ['HTTP 503', 'HTTP 400', 'connection', 'timeout']) {
        const share = (l.errors[kind] ?? 0) / total;
        const servedShare = served[kind]! / servedTotal;
        expect(Math.abs(share - servedShare), kind).toBeLessThan(0.03 + servedShare * 0.15);
      }
      expect(Math.abs(l.requests / total - served.ok! / servedTotal)).toBeLessThan(0.05);
      // failures never enter the latencies: the timed-out requests (100 ms) are not in them
      expect(l.latency_us.max).toBeLessThan(100_000);
      expect(l.latency_histogram.counts.reduce((a, b) => a + b, 0)).toBe(l.requests);
      expect(err).toMatch(/× HTTP 503: The batch scheduling queue/);
    } finally {
      await target.close();
    }
  }, 60_000);
});

describe('errors by code against jetserve', () => {
  it('a bad request in --input-data fails with 400 / INVALID_ARGUMENT on REST and gRPC, the good one succeeds', async () => {
    const server = await startServer({ modelName: 'mlp', modelBasePath: mlpBasePath(), restApiPort: 0, port: 0, host: '127.0.0.1', log: false });
    const dir = mkdtempSync(join(tmpdir(), 'jetserve-perf-errors-'));
    try {
      // one valid request, one with 5 columns where the model takes 4
      const data = join(dir, 'data.json');
      writeFileSync(data, JSON.stringify({ data: [{ x: [[1, 2, 3, 4]] }, { x: { content: [1, 2, 3, 4, 5], shape: [1, 5] } }] }));
      const common = ['--model', 'mlp', '--input-data', data, '--concurrency', '1', '--workers', '1', '--duration', '0.5', '--warmup', '0', '--max-windows', '3', '--quiet'];
      const restRun = (await perf(['--url', `http://127.0.0.1:${server.http!.port}`, ...common])).result.levels[0]!;
      const grpcRun = (await perf(['--url', `grpc://127.0.0.1:${server.grpc!.port}`, '--protocol', 'kserve-grpc', ...common])).result.levels[0]!;
      for (const [l, code] of [
        [restRun, 'HTTP 400'],
        [grpcRun, 'INVALID_ARGUMENT'],
      ] as const) {
        expect(Object.keys(l.errors)).toEqual([code]);
        expect(l.error_messages[code]).toMatch(/x/);
        // one client alternating between the two requests: as many failures as successes (± the window edges)
        expect(Math.abs(l.errors[code]! - l.requests)).toBeLessThanOrEqual(3);
      }
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
