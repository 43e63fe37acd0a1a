// tensorflow.serving.PredictionLog for request logging (a model config's logging_config): a
// predict_log holding the PredictRequest and PredictResponse, with LogMetadata (model spec,
// sampling config, SavedModel tags, timestamp). Field numbers from tensorflow_serving/apis/
// prediction_log.proto, logging.proto, predict.proto and model.proto:
//   PredictionLog { log_metadata = 1; predict_log = 6 }   PredictLog { request = 1; response = 2 }
//   LogMetadata { model_spec = 1; sampling_config = 2; saved_model_tags = 3; timestamp_secs = 4 }
//   SamplingConfig { double sampling_rate = 1 }
//   PredictRequest { model_spec = 1; map<string, TensorProto> inputs = 2; repeated string output_filter = 3 }

import type { Tensor } from '../../engine/tensor.js';
import { encodePredictResponse, modelSpecFieldSize, writeModelSpecField, type ResponseModelSpec } from './predict.js';
import { lenFieldSize, tagSize, varintSize, WireWriter, WT_LEN, WT_VARINT } from './primitives.js';
import { planTensorProto, writeTensorProto, type TensorProtoPlan } from './tensorproto.js';

export interface PredictionLogInput {
  spec: ResponseModelSpec;
  inputs: Readonly<Record<string, Tensor>>;
  outputs: Readonly<Record<string, Tensor>>;
  /** The request's output filter (empty: every output). */
  outputFilter?: readonly string[];
  samplingRate: number;
  savedModelTags: readonly string[];
  /** Seconds since the epoch. */
  timestampSecs: number;
}

/** A PredictRequest { model_spec, inputs (tensor_content), output_filter } in one buffer. */
export function encodePredictRequest(
  inputs: Readonly<Record<string, Tensor>>,
  spec: ResponseModelSpec,
  outputFilter: readonly string[] = [],
): Buffer {
  const keys = Object.keys(inputs);
  const plans: TensorProtoPlan[] = [];
  const entrySizes: number[] = [];
  let size = modelSpecFieldSize(1, spec);
  for (const key of keys) {
    const plan = planTensorProto(inputs[key]!, { tensorContent: true });
    plans.push(plan);
    const entry = lenFieldSize(1, Buffer.byteLength(key)) + lenFieldSize(2, plan.size);
    entrySizes.push(entry);
    size += lenFieldSize(2, entry);
  }
  for (const name of outputFilter) size += lenFieldSize(3, Buffer.byteLength(name));
  const w = new WireWriter(size);
  writeModelSpecField(w, 1, spec);
  keys.forEach((key, i) => {
    w.lenHeader(2, entrySizes[i]!);
    w.stringField(1, key, Buffer.byteLength(key));
    w.lenHeader(2, plans[i]!.size);
    writeTensorProto(w, plans[i]!);
  });
  for (const name of outputFilter) w.stringField(3, name, Buffer.byteLength(name));
  return w.finish();
}

function encodeLogMetadata(log: PredictionLogInput): Buffer {
  const samplingConfig = tagSize(1) + 8;
  let size = modelSpecFieldSize(1, log.spec) + lenFieldSize(2, samplingConfig) + tagSize(4) + varintSize(log.timestampSecs);
  for (const tag of log.savedModelTags) size += lenFieldSize(3, Buffer.byteLength(tag));
  const w = new WireWriter(size);
  writeModelSpecField(w, 1, log.spec);
  w.lenHeader(2, samplingConfig);
  w.tag(1, 1); // double: wire type 1 (64-bit)
  w.buf.writeDoubleLE(log.samplingRate, w.pos);
  w.pos += 8;
  for (const tag of log.savedModelTags) w.stringField(3, tag, Buffer.byteLength(tag));
  w.tag(4, WT_VARINT);
  w.varint(log.timestampSecs);
  return w.finish();
}

/** One serialized PredictionLog with a predict_log. */
export function encodePredictionLog(log: PredictionLogInput): Buffer {
  const metadata = encodeLogMetadata(log);
  const request = encodePredictRequest(log.inputs, log.spec, log.outputFilter);
  const response = encodePredictResponse(log.outputs, log.spec, { tensorContent: true });
  const predictLog = lenFieldSize(1, request.length) + lenFieldSize(2, response.length);
  const w = new WireWriter(lenFieldSize(1, metadata.length) + lenFieldSize(6, predictLog));
  w.bytesField(1, metadata);
  w.tag(6, WT_LEN);
  w.varint(predictLog);
  w.bytesField(1, request);
  w.bytesField(2, response);
  return w.finish();
}
