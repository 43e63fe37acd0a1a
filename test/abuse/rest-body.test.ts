// Abuse probes against the REST port's request bodies (issue 10): a huge TF-JSON predict (50 M
// numbers, 100 MB at full scale) and KServe JSON infer, and connections that declare a 200 MB
// Content-Length and send nothing (TF-JSON, KServe binary, FlatBuffers). Each prints its summary
// row: what the attacker got, the server's peak RSS growth, a normal client's p99 meanwhile, and
// whether the server is still up. Light scale in `npm test`, full scale in `npm run test:abuse`.

import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLATBUFFERS_CONTENT_TYPE } from '../../src/wire/flatbuffers/flatbuffers.js';
import { FULL, MiB, normalClient, report, sampleRss, scale, startServerProcess, type ServerProcess } from './harness.js';

const PREDICT = '/v1/models/half_plus_two:predict';
const INFER = '/v2/models/half_plus_two/infer';
/** --rest_api_timeout_in_ms for this server: a missing body is answered 408 after it. */
const TIMEOUT_MS = scale(2500, 5000);

let srv: ServerProcess;

beforeAll(async () => {
  srv = await startServerProcess([`--rest_api_timeout_in_ms=${TIMEOUT_MS}`]);
}, 120_000);

afterAll(async () => {
  await srv?.stop();
});

const base = () => `http://127.0.0.1:${srv.restPort}`;

/** A well-behaved client's call: a one-number predict that must succeed. */
async function tinyPredict(): Promise<void> {
  const r = await fetch(base() + PREDICT, { method: 'POST', body: '{"instances": [1.0]}' });
  const text = await r.text();
  if (r.status !== 200 || text !== '{"predictions": [2.5]}') throw new Error(`normal client got ${r.status} ${text}`);
}

/** "1,1,…,1" with n numbers, as bytes (built once per size: 100 MB at full scale). */
function ones(n: number): Buffer {
  return Buffer.alloc(2 * n - 1, '1,');
}

/** Posts a body over a raw socket and returns "status error-text" (the attacker's view). */
function rawPost(path: string, head: Record<string, string>, body: Buffer | undefined): Promise<string> {
  return new Promise((resolve) => {
    const socket: Socket = connect(srv.restPort, '127.0.0.1');
    let got = '';
    const headers = Object.entries(head)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    socket.on('connect', () => {
      socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\n${headers}\r\n`);
      if (body) socket.write(body);
    });
    socket.on('data', (d) => {
      got += d.toString('latin1');
      const end = got.indexOf('\r\n\r\n');
      const len = /content-length: (\d+)/i.exec(got);
      if (end >= 0 && len && got.length >= end + 4 + Number(len[1])) {
        socket.destroy();
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      const status = /^HTTP\/1\.1 (\d+)/.exec(got)?.[1];
      const error = /"error": ?"([^"]*)"/.exec(got)?.[1];
      resolve(status ? `${status}${error ? ` ${error}` : ''}` : 'no response (connection closed)');
    });
  });
}

describe('REST: one huge JSON predict', () => {
  const numbers = scale(5_000_000, 50_000_000);

  for (const protocol of ['TF-JSON', 'KServe JSON'] as const) {
    it(`${protocol}: ${numbers / 1e6} M numbers (${Math.round((2 * numbers) / MiB)} MiB) → 413 naming --rest_api_max_tensor_elements, bounded memory`, async () => {
      const data = ones(numbers);
      const [open, close] =
        protocol === 'TF-JSON'
          ? ['{"instances": [', ']}']
          : [`{"inputs": [{"name": "x", "datatype": "FP32", "shape": [${numbers}], "data": [`, ']}]}'];
      const body = Buffer.concat([Buffer.from(open), data, Buffer.from(close)]);
      const rss = sampleRss(srv.pid);
      const client = normalClient(tinyPredict);
      const got = await rawPost(protocol === 'TF-JSON' ? PREDICT : INFER, { 'Content-Type': 'application/json', 'Content-Length': String(body.length) }, body);
      await new Promise((r) => setTimeout(r, 300)); // the client keeps going a little after the refusal
      const latency = await client.stop();
      const mem = rss.stop();
      const alive = srv.alive();
      report({
        probe: `${protocol} ${protocol === 'TF-JSON' ? 'predict' : 'infer'} of ${numbers / 1e6} M numbers (${Math.round(body.length / MiB)} MiB body)`,
        target: 'rest',
        attackerGot: got.slice(0, 120),
        rssGrowthMiB: mem.growthBytes / MiB,
        normalClient: latency,
        serverAlive: alive,
      });
      expect(alive).toBe(true);
      expect(got).toMatch(/^413 request exceeds the limit of 4194304 tensor elements per request \(--rest_api_max_tensor_elements\)/);
      // the body itself is held while it is decoded; the refusal costs at most the budget's
      // tensor (16 MiB of float32) and the decoder's working set on top of it
      expect(mem.growthBytes).toBeLessThan(body.length * (FULL ? 2.5 : 4) + 160 * MiB);
      expect(latency.errors).toBe(0);
      expect(latency.requests).toBeGreaterThan(0);
    }, 180_000);
  }
});

describe('REST: declared Content-Length of 200 MB with no body', () => {
  const connections = scale(4, 20);
  const DECLARED = '200000000';

  const cases = {
    'TF-JSON predict': { path: PREDICT, head: { 'Content-Type': 'application/json' } },
    'KServe binary infer': { path: INFER, head: { 'Content-Type': 'application/octet-stream', 'Inference-Header-Content-Length': '100' } },
    'FlatBuffers predict': { path: PREDICT, head: { 'Content-Type': FLATBUFFERS_CONTENT_TYPE } },
  };

  for (const [name, c] of Object.entries(cases)) {
    it(`${name}: ${connections} connections, memory stays flat, 408 after --rest_api_timeout_in_ms`, async () => {
      const rss = sampleRss(srv.pid);
      const client = normalClient(tinyPredict);
      const answers = await Promise.all(
        Array.from({ length: connections }, () => rawPost(c.path, { ...c.head, 'Content-Length': DECLARED }, undefined)),
      );
      const latency = await client.stop();
      const mem = rss.stop();
      const alive = srv.alive();
      report({
        probe: `${name}: ${connections} connections declaring Content-Length ${DECLARED}, no body`,
        target: 'rest',
        attackerGot: [...new Set(answers)].join('; ').slice(0, 120),
        rssGrowthMiB: mem.growthBytes / MiB,
        normalClient: latency,
        serverAlive: alive,
      });
      expect(alive).toBe(true);
      for (const a of answers) expect(a).toBe(`408 Request body not received within ${TIMEOUT_MS} ms`);
      // a 200 MB block per connection would be connections × 200 MB
      expect(mem.growthBytes).toBeLessThan(64 * MiB);
      expect(latency.errors).toBe(0);
    }, 120_000);
  }
});

describe('REST: the largest accepted request, its response read slowly', () => {
  const numbers = scale(1_000_000, 4_194_304);

  it(`TF-JSON predict of ${numbers} numbers (the default budget at full scale) → 200, response streamed with bounded memory`, async () => {
    const body = Buffer.concat([Buffer.from('{"instances": ['), ones(numbers), Buffer.from(']}')]);
    const rss = sampleRss(srv.pid);
    const client = normalClient(tinyPredict);
    // the attacker does not read its response for 2 s, then reads it all
    const received = await new Promise<{ status: string; bytes: number; chunked: boolean }>((resolve) => {
      const socket = connect(srv.restPort, '127.0.0.1');
      const parts: Buffer[] = [];
      socket.on('connect', () => {
        socket.write(`POST ${PREDICT} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
        socket.write(body);
        socket.pause();
        setTimeout(() => socket.resume(), 2000);
      });
      socket.on('data', (d) => {
        parts.push(d);
        if (d.subarray(-5).toString('latin1') === '0\r\n\r\n') socket.destroy();
      });
      socket.on('error', () => {});
      socket.on('close', () => {
        const all = Buffer.concat(parts);
        const head = all.subarray(0, all.indexOf('\r\n\r\n')).toString('latin1');
        resolve({ status: head.split(' ')[1] ?? 'none', bytes: all.length, chunked: /transfer-encoding: chunked/i.test(head) });
      });
    });
    const latency = await client.stop();
    const mem = rss.stop();
    const alive = srv.alive();
    report({
      probe: `largest accepted TF-JSON predict: ${numbers} numbers (${Math.round(body.length / MiB)} MiB), response not read for 2 s`,
      target: 'rest',
      attackerGot: `${received.status}, ${(received.bytes / MiB).toFixed(1)} MiB ${received.chunked ? 'streamed (chunked)' : 'in one piece'}`,
      rssGrowthMiB: mem.growthBytes / MiB,
      normalClient: latency,
      serverAlive: alive,
    });
    expect(alive).toBe(true);
    expect(received.status).toBe('200');
    expect(received.chunked).toBe(true);
    expect(received.bytes).toBeGreaterThan(numbers * 3);
    // body + input and output tensors (4 bytes a number each) + about one chunk of text; the
    // response as one string was ~80 bytes a number (330 MB of heap for 4 M floats)
    expect(mem.growthBytes).toBeLessThan(body.length * 2 + numbers * 8 + 96 * MiB);
    expect(latency.errors).toBe(0);
  }, 180_000);
});
