// Request metrics for the gRPC services (--monitoring_config_file): wraps the unary inference
// handlers so each call is counted in request_count{model_name,status} and, when OK, timed in
// request_latency{model_name,API,entrypoint="GRPC"}, as TF Serving's PredictionServiceImpl does
// (API = the method name: Predict, Classify, Regress; KServe: ModelInfer). The handlers stay as
// they are: the wrapper reads the model name from the request bytes (one scan of the top-level
// fields) and watches the callback. Without metrics the handlers are returned untouched.

import type * as grpc from '@grpc/grpc-js';
import type { ServingMetrics } from '../../observability/serving-metrics.js';
import { scanModelSpecField } from '../../wire/protobuf/predict.js';
import { WireReader, WT_LEN } from '../../wire/protobuf/primitives.js';

type NameOf = (request: Buffer) => string;

/** model_spec (field 1).name of a PredictRequest / ClassificationRequest / RegressionRequest. */
const modelSpecName: NameOf = (request) => scanModelSpecField(request, 'request')?.name ?? '';

/** ModelInferRequest.model_name (field 1). */
const inferModelName: NameOf = (request) => {
  const r = new WireReader(request);
  let name = '';
  while (!r.done) {
    const tag = r.tag();
    if (tag >>> 3 === 1 && (tag & 7) === WT_LEN) name = r.string();
    else r.skip(tag & 7, tag >>> 3);
  }
  return name;
};

function instrument(
  handler: grpc.handleUnaryCall<Buffer, Buffer>,
  metrics: ServingMetrics,
  api: string,
  nameOf: NameOf,
): grpc.handleUnaryCall<Buffer, Buffer> {
  return (call, callback) => {
    const started = performance.now();
    let name: string;
    try {
      name = nameOf(call.request);
    } catch {
      name = ''; // malformed: the handler answers INVALID_ARGUMENT, counted under model_name=""
    }
    const recorder = metrics.request(name, api, 'GRPC');
    handler(call, (err, value, trailer, flags) => {
      if (err) recorder.failedWithStatus(typeof err.code === 'number' ? err.code : 2);
      else recorder.ok(started);
      callback(err, value, trailer, flags);
    });
  };
}

/** The counted methods: gRPC path → API label and how to find the model name. */
const COUNTED: ReadonlyMap<string, { api: string; nameOf: NameOf }> = new Map([
  ['/tensorflow.serving.PredictionService/Predict', { api: 'Predict', nameOf: modelSpecName }],
  ['/tensorflow.serving.PredictionService/Classify', { api: 'Classify', nameOf: modelSpecName }],
  ['/tensorflow.serving.PredictionService/Regress', { api: 'Regress', nameOf: modelSpecName }],
  // ModelStreamInfer (a stream of requests on one call) is not counted
  ['/inference.GRPCInferenceService/ModelInfer', { api: 'ModelInfer', nameOf: inferModelName }],
]);

/** A service implementation with its counted unary methods wrapped (the others as they are). */
export function instrumentService(
  definition: grpc.ServiceDefinition,
  handlers: grpc.UntypedServiceImplementation,
  metrics: ServingMetrics,
): grpc.UntypedServiceImplementation {
  let out: grpc.UntypedServiceImplementation | undefined;
  for (const [key, method] of Object.entries(definition)) {
    const counted = COUNTED.get(method.path);
    const handler = handlers[key] ?? (method.originalName ? handlers[method.originalName] : undefined);
    if (!counted || typeof handler !== 'function' || method.requestStream || method.responseStream) continue;
    out ??= { ...handlers };
    out[key] = instrument(handler as grpc.handleUnaryCall<Buffer, Buffer>, metrics, counted.api, counted.nameOf);
  }
  return out ?? handlers;
}

/**
 * Makes `server.addService` instrument the inference services added after this call (grpc-js's
 * Server and jetserve's transport take the same service definitions and implementations).
 */
export function countRequests(server: Pick<grpc.Server, 'addService'>, metrics: ServingMetrics): void {
  const add = server.addService.bind(server);
  server.addService = (definition, handlers) => add(definition, instrumentService(definition, handlers, metrics));
}
