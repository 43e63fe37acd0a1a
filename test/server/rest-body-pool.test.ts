// Large JSON bodies are received into reused memory (body-pool.ts) and given back once decoded:
// many different large bodies in flight at once, over several connections, each get the outputs
// of their own inputs, and the blocks do come back to the pool.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonBodies } from '../../src/server/http/body-pool.js';
import { demoBasePath, postJson, startServer, type TestServer } from './helpers.js';

const N = 20_000; // ~150 KB of JSON

function values(seed: number): number[] {
  return Array.from({ length: N }, (_, i) => ((i * 31 + seed * 977) % 4001) / 8 - 250);
}

describe('JSON request bodies in reused memory', () => {
  let srv: TestServer;
  beforeAll(async () => {
    // offload off: bodies are decoded inline, then given back
    srv = await startServer([{ name: 'half_plus_two', basePath: demoBasePath() }], { jsonOffloadThresholdBytes: 0 });
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
    expect(jsonBodies.held).toBeGreaterThan(0);
  }, 60_000);
});
