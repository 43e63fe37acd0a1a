// Wire-level behaviour seen from a raw grpc-js client: malformed messages, deadlines, message-size
// limits, health (Check and Watch), reflection, unix sockets, a 1 MB tensor round trip, and the
// channel-argument parser.

import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeTensorProto } from '../../src/wire/protobuf/tensorproto.js';
import type { Tensor } from '../../src/engine/tensor.js';
import type { ModelResolver, ModelSpec, Servable } from '../../src/models/servable.js';
import { WireReader, WT_LEN } from '../../src/wire/protobuf/primitives.js';
import { decodeMessage, encodeMessage } from '../../src/wire/protobuf/schemas.js';
import { predictRequest } from '../helpers/grpc-requests.js';
import { parseChannelArguments } from '../../src/server/grpc/index.js';
import { AdminAuth } from '../../src/server/admin-auth.js';
import { expectOutputsClose, expectTensorClose, loadOracle } from '../helpers/oracle.js';
import { batchCases, fixtureModel, startStack, type Stack } from './stack.js';

let stack: Stack;
let client: grpc.Client;

beforeAll(async () => {
  // config reload on (administrative: loopback admitted), so its malformed requests reach the decoder
  stack = await startStack([fixtureModel('mlp'), fixtureModel('half_plus_two')], { reloadApi: true, admin: new AdminAuth({ allowLoopback: true }) });
  client = new grpc.Client(stack.target, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': -1,
    'grpc.max_send_message_length': -1,
  });
});

afterAll(async () => {
  client?.close();
  await stack?.close();
});

const identity = (b: Buffer) => b;

function call(c: grpc.Client, path: string, request: Buffer, options: grpc.CallOptions = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    c.makeUnaryRequest(path, identity, identity, request, new grpc.Metadata(), options, (err, res) => {
      if (err) reject(err);
      else resolve(res!);
    });
  });
}

async function callError(c: grpc.Client, path: string, request: Buffer, options: grpc.CallOptions = {}): Promise<grpc.ServiceError> {
  try {
    await call(c, path, request, options);
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error(`${path} succeeded unexpectedly`);
}

function predictOutputs(response: Buffer): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  const r = new WireReader(response);
  while (!r.done) {
    const tag = r.tag();
    if (tag === ((1 << 3) | WT_LEN)) {
      const end = r.lenEnd();
      let key = '';
      let start = 0;
      let stop = 0;
      while (r.pos < end) {
        const t = r.tag();
        if (t === ((1 << 3) | WT_LEN)) key = r.string();
        else {
          stop = r.lenEnd();
          start = r.pos;
          r.pos = stop;
        }
      }
      out[key] = decodeTensorProto(response, start, stop, key);
    } else r.skip(tag & 7, tag >>> 3);
  }
  return out;
}

const PREDICT = '/tensorflow.serving.PredictionService/Predict';

describe('raw protobuf', () => {
  it('a grpc-js client with protobufjs-encoded messages gets TF\'s outputs', async () => {
    for (const c of batchCases('mlp')) {
      const res = await call(client, PREDICT, predictRequest('mlp', c.inputs));
      expectOutputsClose(predictOutputs(res), c.outputs, 1e-5, c.name);
    }
  });

  it('1,000 concurrent single-row Predicts on one connection each get their own row', async () => {
    const big = loadOracle('mlp').rowByRowCases[0]!;
    const x = big.inputs.x!;
    const y = big.outputs.y!;
    const rows = x.shape[0]!;
    const responses = await Promise.all(
      Array.from({ length: rows }, (_, i) =>
        call(
          client,
          PREDICT,
          predictRequest('mlp', { x: { dtype: 'float32', shape: [1, 4], data: (x.data as Float32Array).slice(i * 4, i * 4 + 4) } }),
        ),
      ),
    );
    responses.forEach((res, i) => {
      const want: Tensor = { dtype: 'float32', shape: [1, 3], data: (y.data as Float32Array).slice(i * 3, i * 3 + 3) };
      // the batcher may merge rows: a batched matmul sums in another order than a lone row
      expectTensorClose(predictOutputs(res).y!, want, 1e-5, 1e-6, `row ${i}`);
    });
  });

  it('a 1 MB tensor round trip', async () => {
    const n = 256 * 1024;
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = (i % 1000) / 7;
    const res = await call(client, PREDICT, predictRequest('half_plus_two', { x: { dtype: 'float32', shape: [n], data: x } }));
    const y = predictOutputs(res).y!;
    expect(y.shape).toEqual([n]);
    const data = y.data as Float32Array;
    for (let i = 0; i < n; i += 997) expect(data[i]).toBe(Math.fround(Math.fround(0.5 * x[i]!) + 2));
  });

  it('malformed messages are INVALID_ARGUMENT naming the message', async () => {
    let err = await callError(client, PREDICT, Buffer.from([0x0a, 0x40, 0x01]));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/^could not parse PredictRequest: length 64 at offset 2 runs past the message end/);
    err = await callError(client, '/inference.GRPCInferenceService/ModelInfer', Buffer.from([0x2a, 0x03, 0x0a, 0x05]));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/^could not parse ModelInferRequest/);
    err = await callError(client, PREDICT, Buffer.from([0x07]));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    // the messages decoded by protobufjs (metadata, statistics, model service, …) too
    for (const [path, type] of [
      ['/tensorflow.serving.PredictionService/GetModelMetadata', 'GetModelMetadataRequest'],
      ['/tensorflow.serving.PredictionService/MultiInference', 'MultiInferenceRequest'],
      ['/tensorflow.serving.ModelService/HandleReloadConfigRequest', 'ReloadConfigRequest'],
      ['/inference.GRPCInferenceService/ModelStatistics', 'ModelStatisticsRequest'],
    ]) {
      err = await callError(client, path!, Buffer.from([0xff, 0xff, 0xff, 0x01]));
      expect(err.code, path).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err.details).toBe(`could not parse ${type}: invalid wire type 7 at offset 4`);
    }
    // a model_spec whose own fields overrun it (protobufjs decodes the outer message; the spec
    // reader must still answer INVALID_ARGUMENT, not INTERNAL)
    const badSpec = Buffer.from([0x0a, 0x03, 0x0a, 0x40, 0x01, 0x12, 0x0d, ...Buffer.from('signature_def')]);
    for (const [path, type] of [
      ['/tensorflow.serving.PredictionService/GetModelMetadata', 'GetModelMetadataRequest'],
      ['/tensorflow.serving.ModelService/GetModelStatus', 'GetModelStatusRequest'],
      ['/tensorflow.serving.PredictionService/Classify', 'ClassificationRequest'],
    ]) {
      err = await callError(client, path!, badSpec);
      expect(err.code, path).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err.details, path).toMatch(new RegExp(`^could not parse ${type}: `));
    }
    // an empty request has no model spec
    err = await callError(client, PREDICT, Buffer.alloc(0));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toBe('Missing ModelSpec');
  });

  it('unimplemented methods answer UNIMPLEMENTED', async () => {
    const err = await callError(client, '/inference.GRPCInferenceService/RepositoryIndex', Buffer.alloc(0));
    expect(err.code).toBe(grpc.status.UNIMPLEMENTED);
  });
});

describe('deadlines', () => {
  /** A resolver whose servables record their run options, optionally stalling resolve(). */
  function recordingResolver(inner: ModelResolver, stallMs: number) {
    const runs: { deadline?: number }[] = [];
    const resolver: ModelResolver = {
      resolve(spec: ModelSpec): Servable {
        const s = inner.resolve(spec);
        const until = Date.now() + stallMs;
        while (Date.now() < until) {
          /* an overloaded server: the request sits here past its deadline */
        }
        return {
          name: s.name,
          version: s.version,
          model: s.model,
          run(inputs, options) {
            runs.push({ ...(options.deadline !== undefined ? { deadline: options.deadline } : {}) });
            return s.run(inputs, options);
          },
        };
      },
      status: (n, v) => inner.status(n, v),
      modelNames: () => inner.modelNames(),
      labels: (n) => inner.labels(n),
    };
    return { resolver, runs };
  }

  it('passes the client deadline to the run', async () => {
    const { resolver, runs } = recordingResolver(stack.manager, 0);
    const s = await startStack([], {}, resolver as never);
    const c = new grpc.Client(s.target, grpc.credentials.createInsecure());
    try {
      const before = Date.now();
      await call(c, PREDICT, predictRequest('mlp', batchCases('mlp')[0]!.inputs), { deadline: Date.now() + 5000 });
      expect(runs).toHaveLength(1);
      expect(runs[0]!.deadline).toBeGreaterThan(before + 4000);
      expect(runs[0]!.deadline).toBeLessThanOrEqual(Date.now() + 5000);
    } finally {
      c.close();
      await s.close();
    }
  });

  it('a request whose deadline passed before it could run is not run: DEADLINE_EXCEEDED', async () => {
    const { resolver, runs } = recordingResolver(stack.manager, 300);
    const s = await startStack([], {}, resolver as never);
    const c = new grpc.Client(s.target, grpc.credentials.createInsecure());
    try {
      const err = await callError(c, PREDICT, predictRequest('mlp', batchCases('mlp')[0]!.inputs), { deadline: Date.now() + 100 });
      expect(err.code).toBe(grpc.status.DEADLINE_EXCEEDED);
      expect(runs).toHaveLength(0);
    } finally {
      c.close();
      await s.close();
    }
  });
});

describe('limits and options', () => {
  it('--grpc_max_message_size rejects larger requests with RESOURCE_EXHAUSTED', async () => {
    const s = await startStack([], { maxMessageSize: 4096 }, stack.manager);
    const c = new grpc.Client(s.target, grpc.credentials.createInsecure());
    try {
      const big = { x: { dtype: 'float32' as const, shape: [4096], data: new Float32Array(4096) } };
      const err = await callError(c, PREDICT, predictRequest('half_plus_two', big));
      expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      // a small one still works
      await call(c, PREDICT, predictRequest('mlp', batchCases('mlp')[0]!.inputs));
    } finally {
      c.close();
      await s.close();
    }
  });

  it('the default max message size takes a 100 MB tensor', async () => {
    const n = 25 * 1024 * 1024;
    const x = new Float32Array(n).fill(2);
    const res = await call(client, PREDICT, predictRequest('half_plus_two', { x: { dtype: 'float32', shape: [n], data: x } }));
    const y = predictOutputs(res).y!;
    expect(y.shape).toEqual([n]);
    expect((y.data as Float32Array)[n - 1]).toBe(3);
  });

  it('parses --grpc_channel_arguments', () => {
    expect(parseChannelArguments('grpc.max_concurrent_streams=100, grpc.primary_user_agent=x,grpc.keepalive_time_ms=-1')).toEqual({
      'grpc.max_concurrent_streams': 100,
      'grpc.primary_user_agent': 'x',
      'grpc.keepalive_time_ms': -1,
    });
    expect(parseChannelArguments('')).toEqual({});
    expect(() => parseChannelArguments('novalue')).toThrow(/not key=value/);
  });

  it('listens on a unix socket (--grpc_socket_path)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jetserve-grpc-'));
    const s = await startStack([], { port: null, socketPath: join(dir, 'grpc.sock') }, stack.manager);
    const c = new grpc.Client(`unix:${join(dir, 'grpc.sock')}`, grpc.credentials.createInsecure());
    try {
      expect(s.server.addresses).toEqual([`unix:${join(dir, 'grpc.sock')}`]);
      const res = await call(c, PREDICT, predictRequest('mlp', batchCases('mlp')[0]!.inputs));
      expectOutputsClose(predictOutputs(res), batchCases('mlp')[0]!.outputs, 1e-5);
    } finally {
      c.close();
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('health and reflection', () => {
  it('Health.Check: SERVING for the server and its services, NOT_FOUND for others', async () => {
    const check = async (service: string) =>
      decodeMessage<{ status: number }>(
        'grpc.health.v1.HealthCheckResponse',
        await call(client, '/grpc.health.v1.Health/Check', encodeMessage('grpc.health.v1.HealthCheckRequest', { service })),
      ).status;
    expect(await check('')).toBe(1);
    expect(await check('inference.GRPCInferenceService')).toBe(1);
    expect(await check('PredictionService')).toBe(1);
    const err = await callError(client, '/grpc.health.v1.Health/Check', encodeMessage('grpc.health.v1.HealthCheckRequest', { service: 'x' }));
    expect(err.code).toBe(grpc.status.NOT_FOUND);
  });

  it('Health.Watch streams SERVING, then NOT_SERVING when the server shuts down', async () => {
    const s = await startStack([], {}, stack.manager);
    const c = new grpc.Client(s.target, grpc.credentials.createInsecure());
    const statuses: number[] = [];
    const stream = c.makeServerStreamRequest(
      '/grpc.health.v1.Health/Watch',
      identity,
      identity,
      encodeMessage('grpc.health.v1.HealthCheckRequest', { service: '' }),
    );
    const gotTwo = new Promise<void>((resolve) => {
      stream.on('data', (b: Buffer) => {
        statuses.push(decodeMessage<{ status: number }>('grpc.health.v1.HealthCheckResponse', b).status);
        if (statuses.length === 2) resolve();
      });
      stream.on('error', () => resolve());
    });
    await new Promise((r) => setTimeout(r, 100));
    const closing = s.server.close(500);
    await gotTwo;
    await closing;
    c.close();
    expect(statuses).toEqual([1, 2]);
  });

  it('server reflection lists the services and serves their descriptors', async () => {
    const require = createRequire(import.meta.url);
    const reflectionDir = join(dirname(require.resolve('@grpc/reflection/package.json')), 'build', 'proto');
    const def = protoLoader.loadSync('grpc/reflection/v1/reflection.proto', { includeDirs: [reflectionDir], keepCase: true });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      grpc: { reflection: { v1: { ServerReflection: grpc.ServiceClientConstructor } } };
    };
    const rc = new pkg.grpc.reflection.v1.ServerReflection(stack.target, grpc.credentials.createInsecure());
    const ask = (request: object) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const stream = (rc as unknown as { ServerReflectionInfo(): grpc.ClientDuplexStream<object, Record<string, unknown>> }).ServerReflectionInfo();
        stream.on('data', (d: Record<string, unknown>) => {
          resolve(d);
          stream.end();
        });
        stream.on('error', reject);
        stream.write(request);
      });
    try {
      const list = (await ask({ list_services: '' })) as { list_services_response: { service: { name: string }[] } };
      const names = list.list_services_response.service.map((s) => s.name);
      for (const name of [
        'tensorflow.serving.PredictionService',
        'tensorflow.serving.ModelService',
        'inference.GRPCInferenceService',
        'grpc.health.v1.Health',
      ]) {
        expect(names).toContain(name);
      }
      const file = (await ask({ file_containing_symbol: 'tensorflow.serving.PredictRequest' })) as {
        file_descriptor_response: { file_descriptor_proto: Buffer[] };
      };
      expect(file.file_descriptor_response.file_descriptor_proto.length).toBeGreaterThan(0);
    } finally {
      rc.close();
    }
  });
});
