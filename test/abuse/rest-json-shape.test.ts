// Abuse probes (issue 10) against the REST decoders' structure handling: bodies nested 100,000
// levels deep, and names that are Object.prototype keys ("__proto__", "constructor", "toString")
// as signature, input and output names. Each prints its summary row and must get the same clear
// 4xx every time, with the server up and other clients served.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MiB, normalClient, report, sampleRss, scale, startServerProcess, type ServerProcess } from './harness.js';

const PREDICT = '/v1/models/half_plus_two:predict';
const INFER = '/v2/models/half_plus_two/infer';

let srv: ServerProcess;

beforeAll(async () => {
  srv = await startServerProcess();
}, 120_000);

afterAll(async () => {
  await srv?.stop();
});

const base = () => `http://127.0.0.1:${srv.restPort}`;

async function post(path: string, body: string): Promise<string> {
  const r = await fetch(base() + path, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  const text = await r.text();
  let error = text;
  try {
    error = JSON.parse(text).error ?? text;
  } catch {
    /* keep the text */
  }
  return `${r.status} ${error}`;
}

/** Sends `bodies` round-robin, `count` requests with `concurrency` in flight; the distinct answers. */
async function attack(count: number, concurrency: number, bodies: [string, string][]): Promise<Map<string, number>> {
  const answers = new Map<string, number>();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const [path, body] = bodies[next++ % bodies.length]!;
        const a = await post(path, body);
        answers.set(a, (answers.get(a) ?? 0) + 1);
      }
    }),
  );
  return answers;
}

async function probe(name: string, count: number, bodies: [string, string][]): Promise<Map<string, number>> {
  const rss = sampleRss(srv.pid);
  const client = normalClient(async () => {
    if ((await post(PREDICT, '{"instances": [1.0]}')) !== '200 {"predictions": [2.5]}') throw new Error('normal client failed');
  });
  const answers = await attack(count, 4, bodies);
  const latency = await client.stop();
  const mem = rss.stop();
  const alive = srv.alive();
  report({
    probe: name,
    target: 'rest',
    attackerGot: [...answers.keys()].map((a) => a.slice(0, 90)).join(' | ').slice(0, 240),
    rssGrowthMiB: mem.growthBytes / MiB,
    normalClient: latency,
    serverAlive: alive,
  });
  expect(alive).toBe(true);
  expect(latency.errors).toBe(0);
  expect(mem.growthBytes).toBeLessThan(128 * MiB);
  return answers;
}

describe('REST: JSON nested 100,000 levels deep', () => {
  it('TF-JSON and KServe bodies → 400 naming --rest_api_max_json_depth, every time', async () => {
    const lists = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const objects = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    const count = scale(40, 1000);
    const answers = await probe(`nesting depth 100,000 (lists and objects, TF-JSON and KServe), ${count} requests`, count, [
      [PREDICT, `{"instances": ${lists}}`],
      [PREDICT, `{"zzz": ${objects}, "instances": [1.0]}`],
      [INFER, `{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": ${lists}}]}`],
      [INFER, `{"parameters": ${objects}, "inputs": []}`],
    ]);
    for (const a of answers.keys()) expect(a).toMatch(/^400 JSON Parse error: nesting exceeds the limit of 256 levels \(--rest_api_max_json_depth\)/);
  }, 180_000);
});

describe('REST: Object.prototype names', () => {
  it('signature, input and output names "__proto__" / "constructor" / "toString" get the unknown-name 4xx', async () => {
    const count = scale(60, 3000);
    const bodies: [string, string][] = [];
    for (const n of ['__proto__', 'constructor', 'toString']) {
      bodies.push([PREDICT, `{"signature_name": "${n}", "instances": [1.0]}`]);
      bodies.push([PREDICT, `{"inputs": {"${n}": [1.0]}}`]);
      bodies.push([INFER, `{"inputs": [{"name": "${n}", "datatype": "FP32", "shape": [1], "data": [1]}]}`]);
      bodies.push([INFER, `{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}], "outputs": [{"name": "${n}"}]}`]);
      bodies.push([INFER, `{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}], "parameters": {"signature_name": "${n}"}}`]);
    }
    const answers = await probe(`"__proto__" / "constructor" / "toString" as signature, input and output names, ${count} requests`, count, bodies);
    for (const a of answers.keys()) expect(a).toMatch(/^400 /);
    expect(srv.stderr()).not.toMatch(/internal error|TypeError/);
  }, 180_000);
});
