// jetserve's defaults never refuse what TF Serving's defaults serve (issue 10). TF Serving batches
// only with --enable_batching, so by default it queues nothing and never answers "queue full";
// jetserve batches by default, and that default queue refuses nothing either. A real server started
// with default flags (startServer) on loopback takes 64 concurrent TF-JSON predicts and 64
// concurrent gRPC Predicts, mixing 1, 4,096 and 262,144 rows of half_plus_two (y = x / 2 + 2),
// and answers every one with the right values. With a --batching_parameters_file the user chose TF
// Serving's batching, and its queue limit keeps its meaning: 503 / UNAVAILABLE with TF Serving's
// message once max_enqueued_batches × max_batch_size rows wait.

import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Batching, batchingFromFlags, describeBatching, QUEUE_FULL_MESSAGE } from '../../src/batching/index.js';
import { allocTensor } from '../../src/engine/tensor.js';
import { startServer, type JetserveServer } from '../../src/serve/start.js';
import { decodeMessage } from '../../src/wire/protobuf/schemas.js';
import { predictRequest } from '../helpers/grpc-requests.js';
import { fixturesDir } from '../helpers/oracle.js';

const BASE = join(fixturesDir(), 'half_plus_two');
const ROWS = [1, 4096, 262_144];
const CONCURRENT = 64;

/** Row j of a request: exact in float32, and so is y = x / 2 + 2. */
const xAt = (j: number) => (j % 1024) * 0.25;
const yAt = (j: number) => xAt(j) / 2 + 2;

interface Outcome {
  rows: number;
  status: string;
  /** First wrong value, or '' when all were right. */
  wrong: string;
}

function firstWrong(values: ArrayLike<number>, rows: number): string {
  if (values.length !== rows) return `${values.length} values for ${rows} rows`;
  for (let j = 0; j < rows; j++) if (values[j] !== yAt(j)) return `y[${j}] = ${values[j]}, expected ${yAt(j)}`;
  return '';
}

const restBodies = new Map(ROWS.map((n) => [n, JSON.stringify({ instances: Array.from({ length: n }, (_, j) => xAt(j)) })]));
const grpcBodies = new Map(
  ROWS.map((n) => {
    const x = allocTensor('float32', [n]);
    const data = x.data as Float32Array;
    for (let j = 0; j < n; j++) data[j] = xAt(j);
    return [n, predictRequest('half_plus_two', { x })];
  }),
);

async function restPredict(port: number, rows: number): Promise<Outcome> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/models/half_plus_two:predict`, { method: 'POST', body: restBodies.get(rows)! });
  const text = await res.text();
  if (res.status !== 200) return { rows, status: `${res.status} ${text.slice(0, 200)}`, wrong: '' };
  return { rows, status: '200', wrong: firstWrong((JSON.parse(text) as { predictions: number[] }).predictions, rows) };
}

interface PredictResponse {
  outputs: Record<string, { tensor_content: Buffer; float_val: number[] }>;
}

function grpcPredict(client: grpc.Client, rows: number): Promise<Outcome> {
  const identity = (b: Buffer) => b;
  return new Promise((resolve) => {
    client.makeUnaryRequest('/tensorflow.serving.PredictionService/Predict', identity, identity, grpcBodies.get(rows)!, (err, res) => {
      if (err) return resolve({ rows, status: `${grpc.status[err.code!]} ${err.details}`, wrong: '' });
      const y = decodeMessage<PredictResponse>('tensorflow.serving.PredictResponse', res!).outputs['y']!;
      const bytes = Uint8Array.from(y.tensor_content);
      const values = bytes.length > 0 ? new Float32Array(bytes.buffer) : y.float_val;
      resolve({ rows, status: 'OK', wrong: firstWrong(values, rows) });
    });
  });
}

describe('default flags: batching on, nothing refused', () => {
  let server: JetserveServer;
  let client: grpc.Client;
  beforeAll(async () => {
    server = await startServer({ modelName: 'half_plus_two', modelBasePath: BASE, restApiPort: 0, port: 0, log: () => {} });
    client = new grpc.Client(`127.0.0.1:${server.grpc!.port}`, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': 64 * 2 ** 20,
    });
  }, 120_000);
  afterAll(async () => {
    client?.close();
    await server?.close();
  });

  it(`${CONCURRENT} concurrent REST and ${CONCURRENT} gRPC predicts of 1, 4,096 and 262,144 rows: 0 errors, every value right`, async () => {
    const rest = Array.from({ length: CONCURRENT }, (_, i) => restPredict(server.http!.port, ROWS[i % ROWS.length]!));
    const rpc = Array.from({ length: CONCURRENT }, (_, i) => grpcPredict(client, ROWS[(i + 1) % ROWS.length]!));
    const outcomes = await Promise.all([...rest, ...rpc]);
    const failed = outcomes.filter((o) => (o.status !== '200' && o.status !== 'OK') || o.wrong !== '');
    console.log(
      `default batching: ${outcomes.length} requests (${ROWS.map((n) => `${outcomes.filter((o) => o.rows === n).length} × ${n} rows`).join(', ')}), ${failed.length} failed`,
    );
    expect(failed.slice(0, 5)).toEqual([]);
    expect(outcomes).toHaveLength(2 * CONCURRENT);
  }, 120_000);

  it('the log line says the default queue is unbounded', () => {
    const batching = batchingFromFlags({ enableBatching: true });
    expect(batching).toBeInstanceOf(Batching);
    expect(describeBatching(batching)).toMatch(/max_enqueued_batches unbounded \(jetserve's default/);
  });
});

describe('a --batching_parameters_file: TF Serving’s queue limit applies', () => {
  let dir: string;
  let server: JetserveServer;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jetserve-queue-limit-'));
    const file = join(dir, 'batching.pbtxt');
    // at most 1 × 1000 rows wait; one batch runs at a time
    writeFileSync(file, 'max_batch_size { value: 1000 }\nmax_enqueued_batches { value: 1 }\nnum_batch_threads { value: 1 }\n');
    server = await startServer({
      modelName: 'half_plus_two',
      modelBasePath: BASE,
      restApiPort: 0,
      port: false,
      batchingParametersFile: file,
      log: () => {},
    });
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses what does not fit with 503 and TF Serving’s message; what it takes is right', async () => {
    const outcomes = await Promise.all(Array.from({ length: CONCURRENT }, () => restPredict(server.http!.port, 4096)));
    const refused = outcomes.filter((o) => o.status.startsWith('503'));
    const served = outcomes.filter((o) => o.status === '200');
    expect(refused.length).toBeGreaterThan(0);
    for (const o of refused) expect(JSON.parse(o.status.slice(4)).error).toBe(QUEUE_FULL_MESSAGE);
    expect(served.length).toBeGreaterThan(0);
    expect(served.filter((o) => o.wrong !== '')).toEqual([]);
    expect(refused.length + served.length).toBe(CONCURRENT);
  }, 120_000);
});
