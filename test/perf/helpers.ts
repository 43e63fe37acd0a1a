// Helpers of the `jetserve perf` suites: run perf in this process with captured output, and a
// scripted TF Serving-like HTTP target (node:http) whose answers the test decides request by
// request — statuses, stalls, dropped connections — and counts.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parsePerfArgs, runPerf, type PerfResult } from '../../src/cli/perf/index.js';
import { fixturesDir } from '../helpers/oracle.js';

export interface Captured {
  result: PerfResult;
  out: string;
  err: string;
}

export async function perf(args: string[]): Promise<Captured> {
  let out = '';
  let err = '';
  const result = await runPerf(parsePerfArgs(args), { out: (t) => (out += t), err: (t) => (err += t), tty: false });
  return { result, out, err };
}

export function mlpBasePath(): string {
  return join(fixturesDir(), 'mlp');
}

/** TF Serving metadata of a model with one input x float32 [-1, 4]. */
const METADATA = JSON.stringify({
  model_spec: { name: 'scripted', version: '1' },
  metadata: {
    signature_def: {
      signature_def: {
        serving_default: {
          inputs: { x: { dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: '-1' }, { size: '4' }], unknown_rank: false }, name: 'x:0' } },
          outputs: { y: { dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: '-1' }, { size: '3' }], unknown_rank: false }, name: 'y:0' } },
          method_name: 'tensorflow/serving/predict',
        },
      },
    },
  },
});

export type Script = (n: number, req: IncomingMessage, res: ServerResponse) => void;

export interface ScriptedTarget {
  url: string;
  /** Predict requests received. */
  readonly predicts: number;
  close(): Promise<void>;
}

/** A model server whose n-th predict (1-based) is answered by `script`. */
export async function scriptedTarget(script: Script): Promise<ScriptedTarget> {
  let predicts = 0;
  const server: Server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/v1/models/scripted/metadata') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(METADATA);
      return;
    }
    req.resume();
    req.on('end', () => {
      if (req.url !== '/v1/models/scripted:predict') {
        res.writeHead(404).end('{"error": "not found"}');
        return;
      }
      script(++predicts, req, res);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    get predicts() {
      return predicts;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const OK_BODY = '{"outputs": [[0.1, 0.2, 0.7]]}';

export function answer(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
}
