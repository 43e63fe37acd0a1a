// TF Serving's request logging (a model config's logging_config): a served model's requests, over
// REST and gRPC, end up as PredictionLog records in TFRecord files that TensorFlow itself reads —
// the check runs tf.data.TFRecordDataset and tensorflow_serving's prediction_log_pb2 in the test
// venv and compares the logged request and response tensors with what was sent and answered. Also:
// sampling, the config's mistakes named by field, and the file writer's bounds (a full buffer drops
// and counts records without waiting; rotation keeps a fixed number of files).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { startServer, type JetserveServer } from '../../src/serve/start.js';
import { parseModelConfig } from '../../src/models/config.js';
import { TfRecordLogFile } from '../../src/models/tfrecord-log-file.js';
import { readTfRecords } from '../../src/wire/tfrecord.js';
import { fixturesDir } from '../helpers/oracle.js';
import { predictRequest } from '../helpers/grpc-requests.js';
import { venvPython } from '../grpc/python-driver.js';

const run = promisify(execFile);
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'jetserve-reqlog-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Reads every record of the files with TensorFlow's own reader and prediction_log_pb2. */
async function readWithTensorFlow(files: string[]): Promise<any[]> {
  const python = await venvPython();
  const script = `
import json, sys
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2
out = []
for record in tf.data.TFRecordDataset(sys.argv[1:]):
    log = prediction_log_pb2.PredictionLog()
    log.ParseFromString(record.numpy())
    p = log.predict_log
    out.append({
        "log_type": log.WhichOneof("log_type"),
        "model": log.log_metadata.model_spec.name,
        "version": log.log_metadata.model_spec.version.value,
        "signature": log.log_metadata.model_spec.signature_name,
        "sampling_rate": log.log_metadata.sampling_config.sampling_rate,
        "tags": list(log.log_metadata.saved_model_tags),
        "timestamp": log.log_metadata.timestamp_secs,
        "request_model": p.request.model_spec.name,
        "inputs": {k: tf.make_ndarray(v).tolist() for k, v in p.request.inputs.items()},
        "output_filter": list(p.request.output_filter),
        "outputs": {k: tf.make_ndarray(v).tolist() for k, v in p.response.outputs.items()},
        "response_version": p.response.model_spec.version.value,
    })
print(json.dumps(out))
`;
  const { stdout } = await run(python, ['-c', script, ...files], { env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' }, maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

function grpcPredict(port: number, x: number[], outputFilter: string[]): Promise<void> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const msg = predictRequest('hpt', { x: { dtype: 'float32', shape: [x.length], data: Float32Array.from(x) } });
  // output_filter (field 3) appended to the protobufjs-encoded request
  const extra = Buffer.concat(outputFilter.map((f) => Buffer.concat([Buffer.from([0x1a, f.length]), Buffer.from(f)])));
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      '/tensorflow.serving.PredictionService/Predict',
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.concat([msg, extra]),
      (err) => {
        client.close();
        if (err) reject(err);
        else resolve();
      },
    );
  });
}

describe('logging_config: PredictionLog records in TFRecord files', () => {
  it('logs REST and gRPC predicts that TensorFlow reads back: request and response tensors, model spec, metadata', async () => {
    const prefix = join(dir, 'logs', 'hpt');
    const config = join(dir, 'models.config');
    writeFileSync(
      config,
      `model_config_list {
  config {
    name: "hpt"
    base_path: "${join(fixturesDir(), 'half_plus_two')}"
    logging_config {
      log_collector_config { type: "file" filename_prefix: "${prefix}" }
      sampling_config { sampling_rate: 1.0 }
    }
  }
  config {
    name: "unlogged"
    base_path: "${join(fixturesDir(), 'half_plus_two')}"
    logging_config {
      log_collector_config { type: "file" filename_prefix: "${join(dir, 'logs', 'never')}" }
    }
  }
}
`,
    );
    const server: JetserveServer = await startServer({ modelConfigFile: config, restApiPort: 0, port: 0, host: '127.0.0.1', log: false });
    let closed = false;
    try {
      const rest = await fetch(`http://127.0.0.1:${server.http!.port}/v1/models/hpt:predict`, {
        method: 'POST',
        body: JSON.stringify({ instances: [1.0, 2.0, 5.0] }),
      });
      expect(await rest.json()).toEqual({ predictions: [2.5, 3.0, 4.5] });
      await grpcPredict(server.grpc!.port, [3, 4], ['y']);
      const unlogged = await fetch(`http://127.0.0.1:${server.http!.port}/v1/models/unlogged:predict`, { method: 'POST', body: '{"instances": [7.0]}' });
      expect(unlogged.status).toBe(200);
      await server.close();
      closed = true;
    } finally {
      if (!closed) await server.close();
    }
    const files = readdirSync(join(dir, 'logs')).sort();
    expect(files).toEqual([`hpt-${process.pid}-00000.tfrecord`]); // sampling_rate unset = 0: nothing for "unlogged"
    const records = await readWithTensorFlow(files.map((f) => join(dir, 'logs', f)));
    const now = Date.now() / 1000;
    expect(records).toHaveLength(2);
    for (const r of records) {
      expect(r).toMatchObject({ log_type: 'predict_log', model: 'hpt', version: 1, signature: 'serving_default', sampling_rate: 1, tags: ['serve'], request_model: 'hpt', response_version: 1 });
      expect(Math.abs(r.timestamp - now)).toBeLessThan(120);
    }
    // the order requests completed in
    expect(records[0]).toMatchObject({ inputs: { x: [1, 2, 5] }, outputs: { y: [2.5, 3, 4.5] }, output_filter: [] });
    expect(records[1]).toMatchObject({ inputs: { x: [3, 4] }, outputs: { y: [3.5, 4] }, output_filter: ['y'] });
  });

  it('samples: sampling_rate 0.5 logs about half of 200 requests', async () => {
    const prefix = join(dir, 'sampled', 'half');
    const server = await startServer({
      models: [{ name: 'hpt', basePath: join(fixturesDir(), 'half_plus_two'), loggingConfig: { filenamePrefix: prefix, samplingRate: 0.5 } }],
      restApiPort: 0,
      port: false,
      host: '127.0.0.1',
      log: false,
    });
    try {
      for (let i = 0; i < 200; i++) {
        const r = await fetch(`http://127.0.0.1:${server.http!.port}/v1/models/hpt:predict`, { method: 'POST', body: `{"instances": [${i}]}` });
        expect(r.status).toBe(200);
      }
    } finally {
      await server.close();
    }
    const records = readTfRecords(readFileSync(`${prefix}-${process.pid}-00000.tfrecord`), 'log');
    // binomial(200, 0.5): outside 60..140 with probability below 1e-8
    expect(records.length).toBeGreaterThan(60);
    expect(records.length).toBeLessThan(140);
  });

  it.each([
    ['type: "kafka" filename_prefix: "/tmp/x"', '', /logging_config\.log_collector_config\.type 'kafka' is not supported: jetserve's collector is "file"/],
    ['type: "file"', '', /logging_config\.log_collector_config\.filename_prefix must be a non-empty path prefix/],
    ['type: "file" filename_prefix: "/tmp/x"', 'sampling_config { sampling_rate: 1.5 }', /logging_config\.sampling_config\.sampling_rate must be between 0 and 1, not 1\.5/],
    [
      'type: "file" filename_prefix: "/tmp/x"',
      'sampling_config { per_task_sampling_configs { dc: "a" sampling_rate: 1 } }',
      /per_task_sampling_configs is not supported/,
    ],
  ])('refuses logging_config { log_collector_config { %s } %s } naming the field', (collector, sampling, message) => {
    const text = `model_config_list { config { name: "m" base_path: "/m" logging_config { log_collector_config { ${collector} } ${sampling} } } }`;
    expect(() => parseModelConfig(text, 'models.config')).toThrow(message);
  });
});

describe('TfRecordLogFile: bounded memory and disk, never waiting', () => {
  it('drops and counts records past the buffer limit instead of holding them; what is written parses', async () => {
    const log = new TfRecordLogFile(join(dir, 'bounded', 'b'), { maxBufferBytes: 64 * 1024, maxFileBytes: 1 << 30, maxFiles: 2 }, () => {});
    const record = Buffer.alloc(10_000, 7);
    let accepted = 0;
    // appended in one synchronous burst: nothing can be written meanwhile, so the buffer fills
    for (let i = 0; i < 100; i++) if (log.append(record)) accepted++;
    expect(accepted).toBe(6); // 6 × (10,000 + 16 framing bytes) fit in 64 KiB
    expect(log.stats.dropped).toBe(94);
    await log.close();
    expect(log.stats.written).toBe(6);
    const records = readTfRecords(readFileSync(log.files[0]!), 'b');
    expect(records).toHaveLength(6);
    expect(records.every((r) => r.equals(record))).toBe(true);
    expect(log.append(record)).toBe(false); // closed
  });

  it('rotates at the file size limit and keeps the newest maxFiles files', async () => {
    const log = new TfRecordLogFile(join(dir, 'rotated', 'r'), { maxBufferBytes: 1 << 20, maxFileBytes: 25_000, maxFiles: 2 }, () => {});
    for (let i = 0; i < 10; i++) {
      log.append(Buffer.alloc(10_000, i));
      await log.flush();
    }
    await log.close();
    expect(log.stats).toEqual({ written: 10, dropped: 0, files: 5 });
    const left = readdirSync(join(dir, 'rotated')).sort();
    expect(left).toEqual([`r-${process.pid}-00003.tfrecord`, `r-${process.pid}-00004.tfrecord`]);
    const last = readTfRecords(readFileSync(join(dir, 'rotated', left[1]!)), 'r');
    expect(last.map((r) => r[0])).toEqual([8, 9]);
  });

  it('a file that cannot be written is reported once and its records are dropped', async () => {
    writeFileSync(join(dir, 'not-a-dir'), 'x');
    const errors: string[] = [];
    const log = new TfRecordLogFile(join(dir, 'not-a-dir', 'sub', 'x'), { maxBufferBytes: 1 << 20, maxFileBytes: 1 << 20, maxFiles: 1 }, (m) => errors.push(m));
    expect(() => log.append(Buffer.alloc(10))).not.toThrow();
    await log.flush();
    log.append(Buffer.alloc(10));
    await log.close();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/request log .*not-a-dir\/sub\/x: .*records are dropped from now on/);
    expect(log.stats.dropped).toBe(2);
  });
});
