// What the front ends see of tracing: a per-request trace they start when a request arrives (its
// server span, continued from the client's W3C traceparent), tell when the body is in, and end with
// the status; and `run`, which runs the request's handling inside the trace so the model layer's
// spans (queue, run) find their parent. Front ends hold an HttpTracing / GrpcTracing only when
// tracing is on: when it is off they hold undefined and do no per-request tracing work at all.

export interface RequestTrace {
  /** The server span's W3C traceparent, returned to the client. */
  readonly traceparent: string;
  /** The request body is in: decoding starts (REST; gRPC calls start with their message). */
  bodyReceived(): void;
  /** The response is written (HTTP status, or the gRPC status code with `grpc`). */
  end(status: number): void;
}

export interface HttpTracing {
  startHttp(method: string, path: string, requestId: string, traceparent: string, tracestate: string): RequestTrace;
  /** Runs `fn` (the request's handling, synchronous part) inside the trace. */
  run<T>(trace: RequestTrace, fn: () => T): T;
}

export interface GrpcTracing {
  startGrpc(path: string, requestId: string, traceparent: string | undefined, tracestate: string | undefined): RequestTrace;
  run<T>(trace: RequestTrace, fn: () => T): T;
}
