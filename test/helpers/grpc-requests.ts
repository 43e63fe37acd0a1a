// Request bytes for gRPC tests, built with protobufjs from jetserve's .proto files: an encoder
// independent of the server's hand-rolled PredictRequest reader.

import { encodeTensorProto } from '../../src/wire/protobuf/tensorproto.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { decodeMessage, encodeMessage } from '../../src/wire/protobuf/schemas.js';

/** A tensorflow.serving.PredictRequest for `model` (signature_name set when given). */
export function predictRequest(model: string, inputs: Record<string, Tensor>, signature?: string): Buffer {
  return encodeMessage('tensorflow.serving.PredictRequest', {
    model_spec: { name: model, ...(signature !== undefined ? { signature_name: signature } : {}) },
    inputs: Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, decodeMessage('tensorflow.TensorProto', encodeTensorProto(t))])),
  });
}
