// A model manager over the fixture models plus a gRPC server on a loopback port, for the gRPC suites.

import { join } from 'node:path';
import { Batching } from '../../src/batching/index.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { ModelManager, type ModelConfig } from '../../src/models/manager.js';
import { startGrpcServer, type GrpcServer, type GrpcServerOptions } from '../../src/server/grpc/index.js';
import { fixturesDir, loadOracle, type OracleCase } from '../helpers/oracle.js';
import { wire, type WireTensor } from './python-driver.js';

export interface Stack {
  manager: ModelManager;
  server: GrpcServer;
  /** "127.0.0.1:<port>" */
  target: string;
  close(): Promise<void>;
}

export function fixtureModel(name: string, extra: Partial<ModelConfig> = {}): ModelConfig {
  return { name, basePath: join(fixturesDir(), name), ...extra };
}

export async function startStack(
  models: ModelConfig[],
  options: GrpcServerOptions = {},
  manager?: ModelManager,
): Promise<Stack> {
  // batching on and shapes left to TF, as the server's defaults (--enable_batching, --validate_input_shapes)
  const m = manager ?? (await ModelManager.create(models, { batching: new Batching(), load: { validateShapes: false } }));
  const server = await startGrpcServer(m, { port: 0, host: '127.0.0.1', log: () => {}, ...options });
  return {
    manager: m,
    server,
    target: `127.0.0.1:${server.port}`,
    async close() {
      await server.close(2000);
      if (!manager) await m.close();
    },
  };
}

export function wireAll(tensors: Readonly<Record<string, Tensor>>): Record<string, WireTensor> {
  return Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, wire(t)]));
}

/** A model's oracle cases that are one request each (row-by-row cases are many requests). */
export function batchCases(model: string): OracleCase[] {
  return loadOracle(model).cases.filter((c) => !c.rowByRow);
}
