// Per-call observability for the gRPC services, the same on every transport: the request id (the
// client's x-request-id metadata, or a new one) returned in the response's initial metadata, the
// sampled access log (--access_log_sample_rate) and OpenTelemetry tracing (traceparent in from the
// call's metadata, out in the response metadata, the handler run inside the trace). Installed by
// wrapping addService, like the metrics (metrics.ts); unary methods only — streams keep their
// handlers as they are.

import type * as grpc from '@grpc/grpc-js';
import * as grpcJs from '@grpc/grpc-js';
import type { AccessLog } from '../../observability/logging/access-log.js';
import { REQUEST_ID_HEADER, requestIdOf } from '../../observability/logging/request-id.js';
import type { GrpcTracing, RequestTrace } from '../../observability/tracing/request-trace.js';

export interface CallObservers {
  accessLog?: AccessLog | undefined;
  tracing?: GrpcTracing | undefined;
}

/** What jetserve's transports' calls add to grpc-js's: header lookups and response headers without Metadata objects. */
interface FastCall {
  header?(name: string): string | undefined;
  addResponseHeader?(name: string, value: string): void;
}

type UnaryCall = grpc.ServerUnaryCall<Buffer, Buffer> & FastCall;

function headerOf(call: UnaryCall, name: string): string | undefined {
  if (call.header) return call.header(name);
  const v = call.metadata?.get(name)[0];
  return typeof v === 'string' ? v : undefined;
}

/** Sets response metadata: jetserve's transports add header fields; grpc-js gets one Metadata. */
function respondWith(call: UnaryCall, entries: readonly (readonly [string, string])[]): void {
  if (call.addResponseHeader) {
    for (const [k, v] of entries) call.addResponseHeader(k, v);
    return;
  }
  const md = new grpcJs.Metadata();
  for (const [k, v] of entries) md.set(k, v);
  call.sendMetadata(md);
}

function observe(handler: grpc.handleUnaryCall<Buffer, Buffer>, path: string, observers: CallObservers): grpc.handleUnaryCall<Buffer, Buffer> {
  const { accessLog, tracing } = observers;
  return (call: UnaryCall, callback) => {
    const requestId = requestIdOf(headerOf(call, REQUEST_ID_HEADER));
    let trace: RequestTrace | undefined;
    if (tracing !== undefined) {
      trace = tracing.startGrpc(path, requestId, headerOf(call, 'traceparent'), headerOf(call, 'tracestate'));
      respondWith(call, [
        [REQUEST_ID_HEADER, requestId],
        ['traceparent', trace.traceparent],
      ]);
    } else {
      respondWith(call, [[REQUEST_ID_HEADER, requestId]]);
    }
    const started = accessLog !== undefined ? performance.now() : 0;
    const done: grpc.sendUnaryData<Buffer> = (err, value, trailer, flags) => {
      const code = err ? (typeof err.code === 'number' ? err.code : grpcJs.status.UNKNOWN) : grpcJs.status.OK;
      trace?.end(code);
      if (accessLog?.sampled()) {
        accessLog.write({
          request_id: requestId,
          protocol: 'grpc',
          method: 'POST',
          path,
          status: code,
          duration_ms: Math.round((performance.now() - started) * 1000) / 1000,
          bytes_in: call.request?.length ?? 0,
          remote: call.getPeer(),
        });
      }
      callback(err, value, trailer, flags);
    };
    if (trace !== undefined) tracing!.run(trace, () => handler(call, done));
    else handler(call, done);
  };
}

/** A service implementation with its unary methods observed. */
export function observeService(
  definition: grpc.ServiceDefinition,
  handlers: grpc.UntypedServiceImplementation,
  observers: CallObservers,
): grpc.UntypedServiceImplementation {
  const out: grpc.UntypedServiceImplementation = { ...handlers };
  for (const [key, method] of Object.entries(definition)) {
    const name = typeof handlers[key] === 'function' ? key : method.originalName;
    const handler = name !== undefined ? handlers[name] : undefined;
    if (typeof handler !== 'function' || method.requestStream || method.responseStream) continue;
    out[name!] = observe(handler as grpc.handleUnaryCall<Buffer, Buffer>, method.path, observers);
  }
  return out;
}

/** Makes `server.addService` observe the services added after this call. */
export function observeCalls(server: Pick<grpc.Server, 'addService'>, observers: CallObservers): void {
  const add = server.addService.bind(server);
  server.addService = (definition, handlers) => add(definition, observeService(definition, handlers, observers));
}
