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
import { decodePredictInputs, scanPredictRequest } from '../proto/predict.js';
import { WireReader, WT_LEN } from '../proto/wire.js';
import { classifyOrRegress, multiInference } from './example-methods.js';
import type { Servable } from './servable.js';

export interface WarmupOptions {
  /** --num_request_iterations_for_warmup (0 → 1). */
  iterations?: number;
  /**
   * Told how long a version's warmup took (wall time in µs) and how it ended ("OK" or the error
   * code), when the version has a warmup file (monitoring: model_warmup_latency).
   */
  observe?: (versionDir: string, micros: number, status: string) => void;
}

export const WARMUP_FILE = join('assets.extra', 'tf_serving_warmup_requests');
export const MAX_WARMUP_RECORDS = 1000;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC-32C (Castagnoli), as TFRecord uses. */
export function crc32c(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function maskedCrc(buf: Uint8Array): number {
  const c = crc32c(buf);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** Splits a TFRecord file into its records, checking both CRCs (DATA_LOSS when anything is off). */
export function readTfRecords(buf: Buffer, file: string): Buffer[] {
  const records: Buffer[] = [];
  let pos = 0;
  while (pos < buf.length) {
    if (pos + 12 > buf.length) throw new JetserveError('DATA_LOSS', `${file}: truncated record header at byte ${pos}`);
    const header = buf.subarray(pos, pos + 8);
    const len = Number(buf.readBigUInt64LE(pos));
    if (buf.readUInt32LE(pos + 8) !== maskedCrc(header)) {
      throw new JetserveError('DATA_LOSS', `${file}: corrupted record ${records.length} at byte ${pos} (length checksum mismatch)`);
    }
    const start = pos + 12;
    if (start + len + 4 > buf.length) throw new JetserveError('DATA_LOSS', `${file}: truncated record ${records.length} at byte ${pos}`);
    const data = buf.subarray(start, start + len);
    if (buf.readUInt32LE(start + len) !== maskedCrc(data)) {
      throw new JetserveError('DATA_LOSS', `${file}: corrupted record ${records.length} at byte ${pos} (data checksum mismatch)`);
    }
    records.push(data);
    pos = start + len + 4;
  }
  return records;
}

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
