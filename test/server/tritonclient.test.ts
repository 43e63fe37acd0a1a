// The official Triton Python HTTP client (tritonclient.http, from the test venv) against a real
// jetserve server: health, server / model metadata, model config, and infer with JSON and with
// binary tensors. test/clients/triton_http_client.py runs the calls and prints what the client
// returned; the outputs must equal Python TF's (the fixture oracle).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureVenv } from '../../scripts/python-env.mjs';
import type { Tensor } from '../../src/engine/tensor.js';
import { expectTensorClose, loadOracle, type OracleCase } from '../helpers/oracle.js';
import { demoBasePath, isUtf8, DTYPE_OF_KSERVE, fixtureConfig, KSERVE_TYPES, rawBytes, startServer, tensorFromRaw, type TestServer } from './helpers.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCRIPT = join(ROOT, 'test', 'clients', 'triton_http_client.py');

let srv: TestServer;
let python: string;

beforeAll(async () => {
  python = await ensureVenv();
  srv = await startServer([
    { name: 'half_plus_two', basePath: demoBasePath() },
    fixtureConfig('mlp'),
    fixtureConfig('multi_sig'),
    fixtureConfig('strings'),
    fixtureConfig('dtypes'),
  ]);
});

afterAll(async () => {
  await srv?.close();
});

interface InferJob {
  id: string;
  model: string;
  version?: string;
  binary: boolean;
  inputs: object[];
  outputs: string[] | null;
}

function runClient(job: object): Promise<any> {
  return new Promise((res, rej) => {
    const child = spawn(python, [SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', rej);
    child.on('exit', (code) => {
      if (code !== 0) rej(new Error(`triton client exited ${code}: ${err}`));
      else {
        try {
          res(JSON.parse(out));
        } catch {
          rej(new Error(`triton client printed no JSON: ${out}\n${err}`));
        }
      }
    });
    child.stdin.end(JSON.stringify(job));
  });
}

function inputSpec(name: string, t: Tensor): object {
  const base = { name, datatype: KSERVE_TYPES[t.dtype], shape: t.shape };
  if (t.dtype === 'string') {
    return { ...base, strings_b64: (t.data as Uint8Array[]).map((s) => Buffer.from(s).toString('base64')) };
  }
  return { ...base, b64: rawBytes(t).toString('base64') };
}

// numpy / tritonclient have no bfloat16 and no complex: those cases stay with the TS suites
const CLIENT_DTYPES = new Set(['bool', 'uint8', 'uint16', 'uint32', 'uint64', 'int8', 'int16', 'int32', 'int64', 'float16', 'float32', 'float64', 'string']);

function clientCases(model: string, binary: boolean): OracleCase[] {
  return loadOracle(model).cases.filter(
    (c) =>
      !c.examples &&
      [...Object.values(c.inputs), ...Object.values(c.outputs)].every(
        (t) =>
          CLIENT_DTYPES.has(t.dtype) &&
          // the client's JSON path writes strings as UTF-8 text and cannot send FP16
          (binary || (t.dtype !== 'float16' && (t.dtype !== 'string' || (t.data as Uint8Array[]).every(isUtf8)))),
      ) &&
      // tritonclient has no signature notion: only cases of the serving signature
      c.signature === 'serving_default',
  );
}


const MODELS = ['half_plus_two', 'mlp', 'multi_sig', 'strings'];

describe('official tritonclient.http against jetserve', () => {
  let report: any;
  const jobs: { job: InferJob; c: OracleCase }[] = [];

  beforeAll(async () => {
    for (const model of MODELS) {
      for (const binary of [false, true]) {
        for (const c of clientCases(model, binary)) {
          jobs.push({
            c,
            job: {
              id: `${model} ${binary ? 'binary' : 'json'} ${c.name}`,
              model,
              binary,
              inputs: Object.entries(c.inputs).map(([n, t]) => inputSpec(n, t)),
              // JSON: name the outputs (binary_data=False); binary: let the client ask for all in binary
              outputs: binary ? null : Object.keys(c.outputs),
            },
          });
        }
      }
    }
    jobs.push({
      c: loadOracle('half_plus_two').cases[0]!,
      job: {
        id: 'half_plus_two version 1',
        model: 'half_plus_two',
        version: '1',
        binary: true,
        inputs: Object.entries(loadOracle('half_plus_two').cases[0]!.inputs).map(([n, t]) => inputSpec(n, t)),
        outputs: ['y'],
      },
    });
    report = await runClient({ url: `127.0.0.1:${srv.port}`, model: 'half_plus_two', infer: jobs.map((j) => j.job) });
  }, 300_000);

  it('health: is_server_live, is_server_ready, is_model_ready', () => {
    expect(report.live).toBe(true);
    expect(report.ready).toBe(true);
    expect(report.model_ready).toBe(true);
    expect(report.unknown_model_ready).toBe(false);
  });

  it('server metadata, model metadata and model config as the client parses them', () => {
    expect(report.server_metadata).toMatchObject({ name: 'jetserve', extensions: expect.arrayContaining(['binary_tensor_data']) });
    expect(report.server_metadata.jetserve.http_engine).toBe('uWebSockets.js native');
    expect(report.model_metadata).toEqual({
      name: 'half_plus_two',
      versions: ['1'],
      platform: 'tensorflow_savedmodel',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1] }],
    });
    expect(report.model_config).toMatchObject({ name: 'half_plus_two', max_batch_size: 0 });
    expect(report.unknown_model_error).toBe("Request for unknown model: 'no_such_model' is not found");
  });

  it('infer with JSON and binary tensors returns Python TF’s outputs', () => {
    expect(report.infer).toHaveLength(jobs.length);
    expect(jobs.filter((j) => j.job.binary).length).toBeGreaterThan(3);
    expect(jobs.filter((j) => !j.job.binary).length).toBeGreaterThan(3);
    for (const [i, { job, c }] of jobs.entries()) {
      const got = report.infer[i];
      expect(got.error, job.id).toBeUndefined();
      expect(got.response_id, job.id).toBe(job.id);
      expect(got.model_version, job.id).toBe('1');
      const names = job.outputs ?? Object.keys(c.outputs);
      expect(Object.keys(got.outputs).sort(), job.id).toEqual([...names].sort());
      for (const name of names) {
        const o = got.outputs[name];
        const dtype = DTYPE_OF_KSERVE[o.datatype]!;
        const tensor =
          dtype === 'string'
            ? { dtype, shape: o.shape, data: o.strings_b64.map((s: string) => new Uint8Array(Buffer.from(s, 'base64'))) }
            : tensorFromRaw(Buffer.from(o.b64, 'base64'), dtype, o.shape);
        const [rel, abs] = /each run alone/.test(c.name) ? [1e-4, 1e-6] : [1e-6, 1e-30];
        expectTensorClose(tensor as Tensor, c.outputs[name]!, rel, abs, `${job.id}: ${name}`);
      }
    }
  });
});
