// Warmup (TF Serving's saved_model_warmup): before a version becomes AVAILABLE, replay the requests
// recorded in `<version dir>/assets.extra/tf_serving_warmup_requests` — a TFRecord file, one
// serialized tensorflow.serving.PredictionLog per record (predict, classify, regress or
// multi_inference log), at most 1000 records, each replayed `iterations` times. A missing file is
// fine; a corrupt file (DATA_LOSS), a failing request or another log type (session_run_log,
// predict_streamed_log → UNIMPLEMENTED, as TF Serving) fails the load with a message naming the record.

import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { DEFAULT_SIGNATURE } from '../engine/signature.js';
import type { Model } from '../engine/model.js';
import { asJetserveError, JetserveError } from '../errors.js';
import { decodePredictInputs, scanPredictRequest } from '../wire/protobuf/predict.js';
import { WireReader, WT_LEN } from '../wire/protobuf/primitives.js';
import { readTfRecords } from '../wire/tfrecord.js';
import { checkPredictSignature, classifyOrRegress, multiInference } from './example-methods.js';
import type { Servable } from './servable.js';

export interface WarmupOptions {
  /** --num_request_iterations_for_warmup (0 → 1). */
  iterations?: number;
  /**
   * Told how long a version's warmup took (wall time in µs) and how it ended ("OK" or the error
   * code), when the version has a warmup file (monitoring: model_warmup_latency).
   */
  observe?: (versionDir: string, micros: number, status: string) => void;
  /** --enable_signature_method_name_check for the replayed classify / regress / predict requests. */
  signatureMethodNameCheck?: boolean;
}

export const WARMUP_FILE = join('assets.extra', 'tf_serving_warmup_requests');
export const MAX_WARMUP_RECORDS = 1000;

// the TFRecord container lives in src/wire/tfrecord.ts (request logs write it); re-exported for callers of this module
export { crc32c, readTfRecords } from '../wire/tfrecord.js';

const LOG_TYPES: Record<number, string> = {
  2: 'classify_log',
  3: 'regress_log',
  4: 'multi_inference_log',
  5: 'session_run_log',
  6: 'predict_log',
  7: 'predict_streamed_log',
};

/**
 * The log a PredictionLog record holds: its type and the bytes of its `request` (field 1 of every
 * *Log message). The last log set wins, as protobuf's oneof does.
 */
function requestOf(record: Buffer): { request?: Buffer; type: string } {
  const r = new WireReader(record);
  let found: { request?: Buffer; type: string } = { type: 'none' };
  while (!r.done) {
    const tag = r.tag();
    const field = tag >>> 3;
    if ((tag & 7) === WT_LEN && LOG_TYPES[field]) {
      const end = r.lenEnd();
      found = { type: LOG_TYPES[field]! };
      const inner = new WireReader(record, r.pos, end);
      while (!inner.done) {
        const t = inner.tag();
        if (t >>> 3 === 1 && (t & 7) === WT_LEN) {
          const e = inner.lenEnd();
          found.request = record.subarray(inner.pos, e);
          inner.pos = e;
        } else inner.skip(t & 7, t >>> 3);
      }
      r.pos = end;
    } else {
      r.skip(tag & 7, field);
    }
  }
  return found;
}

/** Runs one logged request on the loading version, as TF Serving's warmup does per log type. */
async function replay(target: Servable, type: string, request: Buffer): Promise<void> {
  // the loading version answers whatever model spec the record names (TF Serving runs warmup on
  // the version's session directly)
  const resolve = () => target;
  switch (type) {
    case 'predict_log': {
      const req = scanPredictRequest(request);
      const signature = req.modelSpec?.signatureName || DEFAULT_SIGNATURE;
      checkPredictSignature(target, signature);
      await target.run(decodePredictInputs(req), { signature, ...(req.outputFilter.length ? { outputs: req.outputFilter } : {}) });
      return;
    }
    case 'classify_log':
      await classifyOrRegress(request, 'classify', resolve);
      return;
    case 'regress_log':
      await classifyOrRegress(request, 'regress', resolve);
      return;
    case 'multi_inference_log':
      await multiInference(request, resolve);
      return;
    default:
      throw new JetserveError('UNIMPLEMENTED', `Unsupported log_type for warmup: ${type}`);
  }
}

/** Replays a version's warmup file on `model`. Returns the number of records replayed. */
export async function runWarmup(model: Model, versionDir: string, options: WarmupOptions = {}): Promise<number> {
  const file = join(versionDir, WARMUP_FILE);
  if (!existsSync(file)) return 0;
  const observe = options.observe;
  if (!observe) return replayFile(model, versionDir, file, options);
  const started = performance.now();
  try {
    const n = await replayFile(model, versionDir, file, options);
    observe(versionDir, (performance.now() - started) * 1000, 'OK');
    return n;
  } catch (err) {
    observe(versionDir, (performance.now() - started) * 1000, asJetserveError(err).code);
    throw err;
  }
}

async function replayFile(model: Model, versionDir: string, file: string, options: WarmupOptions): Promise<number> {
  const records = readTfRecords(readFileSync(file), file);
  if (records.length > MAX_WARMUP_RECORDS) {
    throw new JetserveError('INVALID_ARGUMENT', `${file}: ${records.length} warmup records, more than the limit of ${MAX_WARMUP_RECORDS}`);
  }
  const iterations = Math.max(1, options.iterations ?? 1);
  const target: Servable = {
    name: basename(dirname(versionDir)),
    version: Number(basename(versionDir)) || 0,
    model,
    run: (inputs, runOptions) => model.run(inputs, runOptions),
    signatureMethodNameCheck: options.signatureMethodNameCheck ?? false,
  };
  for (let i = 0; i < records.length; i++) {
    let log: { request?: Buffer; type: string };
    try {
      log = requestOf(records[i]!);
    } catch (err) {
      throw new JetserveError('DATA_LOSS', `${file}: record ${i} is not a PredictionLog: ${(err as Error).message}`);
    }
    try {
      for (let k = 0; k < iterations; k++) await replay(target, log.type, log.request ?? Buffer.alloc(0));
    } catch (err) {
      const e = asJetserveError(err);
      throw new JetserveError(e.code, `warmup record ${i} (${log.type}) of ${file} failed: ${e.message}`);
    }
  }
  return records.length;
}
