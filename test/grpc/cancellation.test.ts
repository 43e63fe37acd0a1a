// A cancelled gRPC call never reaches the executor: a request reset in the same socket read as
// its END_STREAM (Rapid Reset) never runs, and one already waiting in the batching queue is
// dropped when its client cancels. The model is the real mlp fixture behind a ServableBatcher
// whose model.run is counted (and can be held, to keep the one batch slot busy).

import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServableBatcher } from '../../src/batching/index.js';
import type { Model } from '../../src/engine/model.js';
import { ModelManager } from '../../src/models/manager.js';
import { startGrpcServer, type GrpcModelSource, type GrpcServer } from '../../src/server/grpc/index.js';
import type { TransportName } from '../../src/server/grpc/transport.js';
import { predictRequest } from '../helpers/grpc-requests.js';
import { batchCases, fixtureModel } from './stack.js';
import { grpcData, grpcHeaders, rawConnect, rstStream } from './raw-h2.js';

const PREDICT = '/tensorflow.serving.PredictionService/Predict';
const identity = (b: Buffer) => b;
const TRANSPORTS: TransportName[] = ['jetserve', 'http2', 'grpc-js'];

let manager: ModelManager;
beforeAll(async () => {
  manager = await ModelManager.create([fixtureModel('mlp')], { batching: false });
});
afterAll(async () => {
  await manager?.close();
});

describe.each(TRANSPORTS)('cancellation on the %s transport', (transport) => {
  let server: GrpcServer;
  let runs = 0;
  let hold: Promise<void> | undefined;
  let release: (() => void) | undefined;

  beforeAll(async () => {
    const real = manager.resolve({ name: 'mlp' });
    const counted = {
      signature: (name: string) => real.model.signature(name),
      validate: (inputs: never, options: never) => real.model.validate(inputs, options),
      run: async (inputs: never, options: never) => {
        runs++;
        if (hold) await hold;
        return real.model.run(inputs, options);
      },
    } as unknown as Model;
    // one batch slot: while a request holds it, the next one waits in the queue
    const batcher = new ServableBatcher(counted, { parameters: { numBatchThreads: 1, maxBatchSize: 64, batchTimeoutMicros: 0 } });
    // the manager's capabilities, with resolve() going through the counting batcher
    const resolver: GrpcModelSource = {
      resolve: () => ({ name: 'mlp', version: real.version, model: real.model, run: (inputs, options) => batcher.run(inputs, options) }),
      status: (n, v) => manager.status(n, v),
      modelNames: () => manager.modelNames(),
      labels: (n) => manager.labels(n),
      ready: () => manager.ready(),
      modelStatistics: (n, v) => manager.modelStatistics(n, v),
      repositoryIndex: () => manager.repositoryIndex(),
      repositoryLoad: (n, p) => manager.repositoryLoad(n, p),
      repositoryUnload: (n) => manager.repositoryUnload(n),
      reloadConfig: (c) => manager.reloadConfig(c),
    };
    server = await startGrpcServer(resolver, { port: 0, host: '127.0.0.1', log: () => {}, transport, reflection: false });
  });

  afterAll(async () => {
    release?.();
    await server?.close(500);
  });

  it('requests reset in the same read as their END_STREAM (Rapid Reset) never run', async () => {
    runs = 0;
    const request = predictRequest('mlp', batchCases('mlp')[0]!.inputs);
    const conn = await rawConnect(server.port);
    const burst: Buffer[] = [];
    for (let i = 0; i < 20; i++) {
      const id = 1 + 2 * i;
      burst.push(grpcHeaders(id, PREDICT), grpcData(id, request), rstStream(id));
    }
    conn.socket.write(Buffer.concat(burst));
    await new Promise((r) => setTimeout(r, 300));
    conn.socket.destroy();
    expect(runs).toBe(0);
    // the server still serves
    const client = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
    await new Promise<void>((resolve, reject) =>
      client.makeUnaryRequest(PREDICT, identity, identity, request, (e) => (e ? reject(e) : resolve())),
    );
    client.close();
    expect(runs).toBe(1);
  });

  it('a call cancelled while it waits in the batching queue is dropped, never run', async () => {
    runs = 0;
    hold = new Promise<void>((r) => (release = r));
    const request = predictRequest('mlp', batchCases('mlp')[0]!.inputs);
    const client = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
    const first = new Promise<grpc.ServiceError | null>((resolve) =>
      client.makeUnaryRequest(PREDICT, identity, identity, request, (e) => resolve(e)),
    );
    while (runs === 0) await new Promise((r) => setTimeout(r, 5));
    // the one slot is held: this call queues
    let second: grpc.ClientUnaryCall | undefined;
    const secondDone = new Promise<grpc.ServiceError | null>((resolve) => {
      second = client.makeUnaryRequest(PREDICT, identity, identity, request, (e) => resolve(e));
    });
    await new Promise((r) => setTimeout(r, 150));
    second!.cancel();
    expect((await secondDone)?.code).toBe(grpc.status.CANCELLED);
    await new Promise((r) => setTimeout(r, 50));
    hold = undefined;
    release!();
    expect(await first).toBeNull();
    await new Promise((r) => setTimeout(r, 100));
    expect(runs).toBe(1);
    client.close();
  });
});
