// Mutation fuzzing of the front ends with a fixed seed (the same requests every run): valid REST
// bodies (TF-JSON predict / classify / regress, KServe JSON and binary infer, FlatBuffers, repository) and valid gRPC
// request bytes (Predict, ModelInfer, GetModelMetadata, GetModelStatus, ModelStatistics) get bytes
// deleted, inserted and replaced. Every answer must be a deliberate one — 2xx or the client-error
// statuses the protocols define, never 500 / INTERNAL / UNKNOWN (a bug surfacing) — nothing may be
// logged as an internal error, and the servers must still answer correctly afterwards. Written
// after a fuzz run found malformed model_specs answered INTERNAL.

import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/engine/tensor.js';
import { ModelManager } from '../../src/models/manager.js';
import { encodeFlatPredictRequest, FLATBUFFERS_CONTENT_TYPE } from '../../src/wire/flatbuffers/flatbuffers.js';
import { encodeMessage } from '../../src/wire/protobuf/schemas.js';
import { startGrpcServer, type GrpcServer } from '../../src/server/grpc/server.js';
import { HttpServer } from '../../src/server/http/server.js';
import { predictRequest } from '../helpers/grpc-requests.js';
import { fixtureConfig } from './helpers.js';
import { AdminAuth } from '../../src/server/admin-auth.js';

// JETSERVE_FUZZ_SEED / JETSERVE_FUZZ_SCALE explore further by hand (npm test uses the defaults)
const SEED = Number(process.env.JETSERVE_FUZZ_SEED ?? 0);
const SCALE = Number(process.env.JETSERVE_FUZZ_SCALE ?? 1);
const REST_REQUESTS = 3000 * SCALE;
const GRPC_REQUESTS = 2000 * SCALE; // per transport
const CONCURRENCY = 32;

/** A small deterministic generator (LCG): the same mutations on every run. */
function generator(seed: number): (n: number) => number {
  let state = seed;
  return (n) => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state % n;
  };
}

/** 1–4 byte-level edits: delete, insert, overwrite, or splice in a copy of another part. */
function mutate(bytes: Uint8Array, rand: (n: number) => number): Buffer {
  const a = [...bytes];
  for (let k = 1 + rand(4); k > 0; k--) {
    const pos = rand(a.length + 1);
    switch (rand(4)) {
      case 0:
        a.splice(pos, 1);
        break;
      case 1:
        a.splice(pos, 0, rand(256));
        break;
      case 2:
        if (a.length > 0) a[pos % a.length] = rand(256);
        break;
      default:
        a.splice(pos, 0, ...a.slice(rand(a.length + 1), rand(a.length + 1)));
    }
  }
  return Buffer.from(a);
}

const f32 = (shape: number[], values: number[]): Tensor => ({ dtype: 'float32', shape, data: new Float32Array(values) });

let manager: ModelManager;
let http: HttpServer;
let base: string;
const logged: string[] = [];
const grpcServers: GrpcServer[] = [];

beforeAll(async () => {
  manager = await ModelManager.create(['mlp', 'half_plus_two', 'strings', 'multi_sig'].map(fixtureConfig));
  http = new HttpServer(manager, { log: (m) => logged.push(m), repositoryApi: true, admin: new AdminAuth({ allowLoopback: true }) });
  base = `http://127.0.0.1:${await http.listen(0, '127.0.0.1')}`;
});

afterAll(async () => {
  for (const s of grpcServers) await s.close(1000);
  await http?.close(1000);
  await manager?.close();
});

describe('fuzzed requests get deliberate answers and leave the servers serving', () => {
  it(`REST: ${REST_REQUESTS} mutated bodies → only 2xx / 4xx / 501, nothing logged`, async () => {
    const binaryHeader = Buffer.from(
      JSON.stringify({
        inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 16 } }],
        outputs: [{ name: 'y', parameters: { binary_data: true } }],
      }),
    );
    const json = { 'Content-Type': 'application/json' };
    const seeds: [string, string | Buffer, Record<string, string>?][] = [
      // KServe binary tensor extension and the FlatBuffers protocol: binary bodies with framing
      [
        '/v2/models/mlp/infer',
        Buffer.concat([binaryHeader, Buffer.from(new Float32Array([1, 2, 3, 4]).buffer)]),
        { 'Content-Type': 'application/octet-stream', 'Inference-Header-Content-Length': String(binaryHeader.length) },
      ],
      [
        '/v1/models/mlp:predict',
        Buffer.from(encodeFlatPredictRequest({ x: f32([1, 4], [1, 2, 3, 4]) })),
        { 'Content-Type': FLATBUFFERS_CONTENT_TYPE },
      ],
      ['/v1/models/mlp:predict', '{"instances": [[1.0, 2.0, 3.0, 4.0]]}', json],
      ['/v1/models/mlp:predict', '{"signature_name": "serving_default", "inputs": {"x": [[1, 2, 3, 4]]}}'],
      ['/v1/models/half_plus_two:classify', '{"examples": [{"x": 1.0}]}'],
      ['/v1/models/half_plus_two:regress', '{"signature_name": "regress_x_to_y", "examples": [{"x": 1.0}]}'],
      ['/v1/models/strings:predict', '{"instances": ["abc", {"b64": "AAEC"}]}'],
      ['/v2/models/mlp/infer', '{"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}'],
      ['/v2/models/mlp/infer', '{"id": "7", "inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [[1, 2], [3, 4]]}], "outputs": [{"name": "y"}]}'],
      ['/v2/repository/index', '{"ready": true}'],
    ];
    const rand = generator(12345 + SEED);
    const statuses = new Map<number, number>();
    const unexpected: string[] = [];
    for (let sent = 0; sent < REST_REQUESTS; sent += CONCURRENCY) {
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          const [path, body, headers] = seeds[rand(seeds.length)]!;
          const mutated = mutate(Buffer.from(body), rand);
          const r = await fetch(base + path, { method: 'POST', body: mutated, ...(headers ? { headers } : {}) });
          const text = await r.text();
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          if (r.status >= 500 && r.status !== 501) unexpected.push(`${r.status} ${path} ${JSON.stringify(mutated.toString('latin1'))}: ${text}`);
        }),
      );
    }
    expect(unexpected).toEqual([]);
    expect(logged).toEqual([]);
    // the mutations are not all fatal: some still succeed, most are refused
    expect(statuses.get(200) ?? 0).toBeGreaterThan(100);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(REST_REQUESTS / 2);
    const ok = await fetch(`${base}/v1/models/half_plus_two:predict`, { method: 'POST', body: '{"instances": [1.0, 2.0]}' });
    expect(await ok.json()).toEqual({ predictions: [2.5, 3.0] });
  }, 120_000);

  for (const transport of ['jetserve', 'grpc-js'] as const) {
    it(`gRPC (${transport} transport): ${GRPC_REQUESTS} mutated requests → never INTERNAL / UNKNOWN, nothing logged`, async () => {
      const grpcLogged: string[] = [];
      const server = await startGrpcServer(manager, { port: 0, host: '127.0.0.1', transport, log: (m) => grpcLogged.push(m) });
      grpcServers.push(server);
      const client = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
      const seeds: [string, Buffer][] = [
        ['/tensorflow.serving.PredictionService/Predict', predictRequest('mlp', { x: f32([2, 4], [1, 2, 3, 4, 5, 6, 7, 8]) })],
        [
          '/tensorflow.serving.PredictionService/Predict',
          predictRequest('strings', { text: { dtype: 'string', shape: [2], data: [Buffer.from('ab'), Buffer.from('c')] } }),
        ],
        [
          '/inference.GRPCInferenceService/ModelInfer',
          encodeMessage('inference.ModelInferRequest', {
            model_name: 'mlp',
            inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4] } }],
          }),
        ],
        [
          '/inference.GRPCInferenceService/ModelInfer',
          encodeMessage('inference.ModelInferRequest', {
            model_name: 'mlp',
            inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4] }],
            raw_input_contents: [Buffer.from(new Float32Array([1, 2, 3, 4]).buffer)],
          }),
        ],
        [
          '/tensorflow.serving.PredictionService/GetModelMetadata',
          encodeMessage('tensorflow.serving.GetModelMetadataRequest', { model_spec: { name: 'mlp' }, metadata_field: ['signature_def'] }),
        ],
        ['/tensorflow.serving.ModelService/GetModelStatus', encodeMessage('tensorflow.serving.GetModelStatusRequest', { model_spec: { name: 'mlp' } })],
        ['/inference.GRPCInferenceService/ModelStatistics', encodeMessage('inference.ModelStatisticsRequest', { name: 'mlp' })],
      ];
      const rand = generator((transport === 'jetserve' ? 777 : 778) + SEED);
      const codes = new Map<number, number>();
      const unexpected: string[] = [];
      try {
        for (let sent = 0; sent < GRPC_REQUESTS; sent += CONCURRENCY) {
          await Promise.all(
            Array.from({ length: CONCURRENCY }, () => {
              const [path, seed] = seeds[rand(seeds.length)]!;
              const request = mutate(seed, rand);
              return new Promise<void>((done) => {
                client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, request, { deadline: Date.now() + 20_000 }, (err) => {
                  const code = err ? err.code : grpc.status.OK;
                  codes.set(code, (codes.get(code) ?? 0) + 1);
                  if (code === grpc.status.INTERNAL || code === grpc.status.UNKNOWN) {
                    unexpected.push(`${path} ${request.toString('hex')}: ${err?.details}`);
                  }
                  done();
                });
              });
            }),
          );
        }
        expect(unexpected).toEqual([]);
        expect(grpcLogged).toEqual([]);
        expect(codes.get(grpc.status.OK) ?? 0).toBeGreaterThan(10); // some mutations still parse and run
        expect(codes.get(grpc.status.INVALID_ARGUMENT) ?? 0).toBeGreaterThan(GRPC_REQUESTS / 2);
        // still answering correctly: half_plus_two over the same channel
        const answer = await new Promise<Buffer>((resolve, reject) =>
          client.makeUnaryRequest(
            '/tensorflow.serving.PredictionService/Predict',
            (b: Buffer) => b,
            (b: Buffer) => b,
            predictRequest('half_plus_two', { x: f32([2], [1, 2]) }),
            (err, value) => (err ? reject(err) : resolve(value!)),
          ),
        );
        const y = Buffer.from(new Float32Array([2.5, 3.0]).buffer);
        expect(answer.includes(y)).toBe(true);
      } finally {
        client.close();
      }
    }, 120_000);
  }
});
