// Large JSON and KServe binary bodies are received into reused memory (body-pool.ts) and given
// back once decoded: many different large bodies in flight at once, over several connections, each
// get the outputs of their own inputs, and the blocks do come back to the pool — except a body
// whose BYTES tensors are views into it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { native } from '../../src/engine/native.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { requestBodies } from '../../src/server/body-pool.js';
import { demoBasePath, fixtureConfig, postJson, request, startServer, type TestServer } from './helpers.js';

const N = 20_000; // ~150 KB of JSON

function values(seed: number): number[] {
  return Array.from({ length: N }, (_, i) => ((i * 31 + seed * 977) % 4001) / 8 - 250);
}

describe('JSON request bodies in reused memory', () => {
  let srv: TestServer;
  beforeAll(async () => {
    // offload off: bodies are decoded inline, then given back
    srv = await startServer([{ name: 'half_plus_two', basePath: demoBasePath() }, fixtureConfig('strings')], { jsonOffloadThresholdBytes: 0 });
  });
  afterAll(() => srv?.close());

  it('64 different large bodies at once (TF-JSON and KServe JSON): each gets its own outputs', async () => {
    const replies = await Promise.all(
      Array.from({ length: 64 }, async (_, k) => {
        const x = values(k);
        const kserve = k % 2 === 1;
        const r = kserve
          ? await postJson(srv.base, '/v2/models/half_plus_two/infer', { inputs: [{ name: 'x', shape: [N], datatype: 'FP32', data: x }] })
          : await postJson(srv.base, '/v1/models/half_plus_two:predict', `{"instances": [${x.join(',')}]}`);
        expect(r.status).toBe(200);
        const json = r.json;
        const y: number[] = kserve ? json.outputs[0].data : json.predictions;
        return { x, y };
      }),
    );
    for (const { x, y } of replies) {
      expect(y.length).toBe(N);
      for (let i = 0; i < N; i += 997) expect(y[i]).toBe(0.5 * x[i]! + 2);
    }
    expect(requestBodies.held).toBeGreaterThan(0);
  }, 60_000);
});

/** A KServe infer body with binary tensor data: the JSON header, then the blob. */
function binaryInfer(header: object, blob: Uint8Array): { body: Uint8Array; headers: Record<string, string> } {
  const json = Buffer.from(JSON.stringify(header));
  return {
    body: Buffer.concat([json, blob]),
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(json.length) },
  };
}

describe('KServe binary request bodies in reused memory', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startServer([{ name: 'half_plus_two', basePath: demoBasePath() }, fixtureConfig('strings')]);
  });
  afterAll(() => srv?.close());

  /** half_plus_two on values(k) as binary tensor data (~80 KB); resolves to x and the answer's y. */
  async function inferBinary(k: number): Promise<{ x: Float32Array; y: number[] }> {
    const x = Float32Array.from(values(k));
    const { body, headers } = binaryInfer(
      { inputs: [{ name: 'x', shape: [N], datatype: 'FP32', parameters: { binary_data_size: x.byteLength } }] },
      new Uint8Array(x.buffer),
    );
    const r = await request(srv.base, '/v2/models/half_plus_two/infer', { body, headers });
    expect(r.status, r.text).toBe(200);
    return { x, y: r.json.outputs[0].data as number[] };
  }

  it('numeric binary tensor data: the body goes back to the pool once copied into its tensor', async () => {
    const held = requestBodies.held;
    const replies = await Promise.all(Array.from({ length: 16 }, (_, k) => inferBinary(k)));
    for (const { x, y } of replies) {
      expect(y.length).toBe(N);
      for (let i = 0; i < N; i += 997) expect(y[i]).toBe(0.5 * x[i]! + 2);
    }
    // ~80 KB bodies: blocks of the 128 KiB class came back
    expect(requestBodies.held).toBeGreaterThanOrEqual(held + 128 * 1024);
  }, 60_000);

  it('a request\'s decoded tensors are freed once it is answered, not left to the GC', async () => {
    // what reaches the model: a request alone takes the idle batch slot with its own tensor
    const model = srv.manager.resolve({ name: 'half_plus_two' }).model;
    const seen: Tensor[] = [];
    const run = model.run;
    model.run = function (inputs, options) {
      seen.push(inputs.x!);
      return run.call(this, inputs, options);
    };
    try {
      const blocksBefore = native().stats().liveBlocks;
      for (let k = 0; k < 5; k++) {
        const { x, y } = await inferBinary(k);
        for (let i = 0; i < N; i += 997) expect(y[i]).toBe(0.5 * x[i]! + 2);
        // answered: the 80 KB tensor decoded from the body is released (its view is empty)
        expect(seen[k]!.shape).toEqual([N]);
        expect(seen[k]!.data.length).toBe(0);
      }
      await new Promise((r) => setImmediate(r));
      expect(native().stats().liveBlocks - blocksBefore).toBeLessThan(3);
    } finally {
      model.run = run;
    }
  }, 60_000);

  it('BYTES binary tensor data keeps its body: numeric bodies of the same size in flight do not overwrite it', async () => {
    const TEXT = 80_000;
    const replies = await Promise.all(
      Array.from({ length: 32 }, async (_, k) => {
        if (k % 2 === 0) {
          await inferBinary(k);
          return;
        }
        const letter = String.fromCharCode(97 + (k % 26));
        const element = Buffer.alloc(4 + TEXT, letter);
        element.writeUInt32LE(TEXT, 0);
        const { body, headers } = binaryInfer(
          { inputs: [{ name: 'text', shape: [1], datatype: 'BYTES', parameters: { binary_data_size: element.length } }], outputs: [{ name: 'upper' }] },
          element,
        );
        const r = await request(srv.base, '/v2/models/strings/infer', { body, headers });
        expect(r.status, r.text).toBe(200);
        expect(r.json.outputs[0].data).toEqual([letter.toUpperCase().repeat(TEXT)]);
      }),
    );
    expect(replies.length).toBe(32);
  }, 60_000);
});
