// Streamed JSON responses on native uWebSockets.js, whose chunks the native encoder writes into two
// blocks used in turn (a chunk's memory is reused two chunks later, after uWS copied it): the bytes
// that arrive are exactly the reference encoder's text, for a fast reader, a slow reader
// (backpressure: uWS keeps its own copy of what the socket did not take) and two large responses
// streamed at the same time on two connections.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePredictResponse } from '../../src/wire/json/tfserving.js';
import { encodeInferResponse } from '../../src/wire/json/kserve.js';
import { countResponses, demoBasePath, parseResponses, rawExchange, startServer, type TestServer } from './helpers.js';

const N = 700_000; // ~8 MB of response text: ~30 chunks of 256 KiB

function inputs(seed: number): Float32Array {
  const x = new Float32Array(N);
  let s = seed;
  for (let i = 0; i < N; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    x[i] = (s % 2_000_000) / 997 - 1000;
  }
  return x;
}

/** half_plus_two's outputs in float32, as TF computes them (0.5 * x + 2). */
function outputs(x: Float32Array): Float32Array {
  return x.map((v) => Math.fround(Math.fround(0.5 * v) + 2));
}

function rawPost(path: string, body: string): string {
  return `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

describe('streamed responses with reused chunk memory (native uWS)', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startServer([{ name: 'half_plus_two', basePath: demoBasePath() }]);
  });
  afterAll(() => srv?.close());

  const predict = (x: Float32Array) => rawPost('/v1/models/half_plus_two:predict', `{"instances": [${Array.from(x).join(',')}]}`);
  const infer = (x: Float32Array) =>
    rawPost('/v2/models/half_plus_two/infer', JSON.stringify({ inputs: [{ name: 'x', shape: [N], datatype: 'FP32', data: Array.from(x) }] }));
  const predictText = (x: Float32Array) =>
    encodePredictResponse({ y: { dtype: 'float32', shape: [N], data: outputs(x) } }, 'row');
  const inferText = (x: Float32Array) =>
    Buffer.from(
      encodeInferResponse({ modelName: 'half_plus_two', modelVersion: '1', outputs: { y: { dtype: 'float32', shape: [N], data: outputs(x) } } })
        .body,
    ).toString();

  async function exchange(raw: string, pauseMs: number): Promise<{ chunked: boolean; text: string }> {
    const got = await rawExchange(srv.port, raw, countResponses(1), { pauseMs, timeoutMs: 60_000 });
    const [res] = parseResponses(got).responses;
    expect(res!.status).toBe(200);
    return { chunked: res!.headers['transfer-encoding'] === 'chunked', text: res!.body.toString() };
  }

  it('TF-JSON and KServe JSON: a fast reader and a slow reader get the reference text', async () => {
    const x = inputs(1);
    for (const pauseMs of [0, 600]) {
      const tf = await exchange(predict(x), pauseMs);
      expect(tf.chunked).toBe(true);
      expect(tf.text === predictText(x)).toBe(true);
      const ks = await exchange(infer(x), pauseMs);
      expect(ks.chunked).toBe(true);
      expect(ks.text === inferText(x)).toBe(true);
    }
  }, 120_000);

  it('two large responses streamed at once stay apart', async () => {
    const a = inputs(2);
    const b = inputs(3);
    const [ra, rb] = await Promise.all([exchange(predict(a), 300), exchange(infer(b), 0)]);
    expect(ra.text === predictText(a)).toBe(true);
    expect(rb.text === inferText(b)).toBe(true);
  }, 120_000);
});
