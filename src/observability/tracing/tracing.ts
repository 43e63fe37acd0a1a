// OpenTelemetry tracing, on only when asked for (--tracing_otlp_endpoint, the OTEL_EXPORTER_OTLP_*
// environment variables, or startServer's spanExporter): then the SDK and the OTLP exporter are
// loaded and every request gets a server span — continued from the client's W3C traceparent (REST
// header, gRPC metadata), its own traceparent returned in the response — with four children:
//
//   decode  the request body in (REST) or the call started (gRPC) → the model run called
//   queue   the run called → it left the batching queue and started executing
//   run     execution → the model's outputs
//   encode  the outputs → the response written
//
// Each carries model.name and model.version (and the signature). Child spans are created when
// their interval is over, with their real start and end times, so no span object lives across a
// request's awaits except its server span. The request's trace travels to the model layer in an
// AsyncLocalStorage, entered only for traced requests.
//
// The provider is jetserve's own (not registered globally): a program's own OpenTelemetry setup
// is left as it is, and several servers in one process each trace to their own exporter.

import { AsyncLocalStorage } from 'node:async_hooks';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, defaultTextMapGetter, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { JETSERVE_VERSION } from '../../version.js';
import { installRunTracer, type RunSpan, type RunTracer } from '../../models/run-trace.js';
import type { SpanExporterLike } from './exporter.js';
import type { GrpcTracing, HttpTracing, RequestTrace } from './request-trace.js';

export interface TracingOptions {
  /** --tracing_otlp_endpoint ('' = from the environment, if set there). */
  otlpEndpoint: string;
  /** A program's exporter (SimpleSpanProcessor): takes precedence over OTLP. */
  spanExporter?: SpanExporterLike | undefined;
  env?: NodeJS.ProcessEnv;
}

export interface Tracing extends HttpTracing, GrpcTracing {
  /** Where spans go, for the start-up log. */
  readonly destination: string;
  /** Exports what is pending (as far as the collector takes it) and stops. Never rejects. */
  shutdown(): Promise<void>;
}

/** True when the options or the environment ask for tracing. */
export function tracingWanted(options: TracingOptions): boolean {
  const env = options.env ?? process.env;
  return Boolean(options.spanExporter || options.otlpEndpoint || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT);
}

const wallNow = (): number => performance.timeOrigin + performance.now();

/** The trace of the request being handled (entered only for traced requests). */
const activeRequest = new AsyncLocalStorage<TracedRequest>();

/** The process's run tracer: finds the traced request the run belongs to. */
const runTracer: RunTracer = {
  start(model, version, signature) {
    return activeRequest.getStore()?.runStarted(model, version, signature);
  },
};
let tracingServers = 0;
let uninstall: (() => void) | undefined;

/** Loads the SDK and starts tracing; undefined when tracing is not wanted. */
export async function startTracing(options: TracingOptions): Promise<Tracing | undefined> {
  if (!tracingWanted(options)) return undefined;
  const [{ BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor }, { resourceFromAttributes }, { W3CTraceContextPropagator }] =
    await Promise.all([import('@opentelemetry/sdk-trace-base'), import('@opentelemetry/resources'), import('@opentelemetry/core')]);
  const env = options.env ?? process.env;
  let processor;
  let destination: string;
  if (options.spanExporter) {
    processor = new SimpleSpanProcessor(options.spanExporter as ConstructorParameters<typeof SimpleSpanProcessor>[0]);
    destination = 'the program\'s span exporter';
  } else {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
    const exporter = new OTLPTraceExporter(options.otlpEndpoint ? { url: options.otlpEndpoint } : {});
    // bounded: the batch processor drops spans past its queue (2048) instead of growing
    processor = new BatchSpanProcessor(exporter);
    destination = options.otlpEndpoint || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || `${env.OTEL_EXPORTER_OTLP_ENDPOINT} (OTLP)`;
  }
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME || 'jetserve', 'service.version': JETSERVE_VERSION }),
    spanProcessors: [processor],
  });
  const tracer = provider.getTracer('jetserve', JETSERVE_VERSION);
  const propagator = new W3CTraceContextPropagator();
  const parentOf = (traceparent: string | undefined, tracestate: string | undefined): Context =>
    traceparent ? propagator.extract(ROOT_CONTEXT, tracestate ? { traceparent, tracestate } : { traceparent }, defaultTextMapGetter) : ROOT_CONTEXT;

  if (tracingServers++ === 0) uninstall = installRunTracer(runTracer);
  let stopped = false;
  return {
    destination,
    startHttp(method, path, requestId, traceparent, tracestate) {
      const m = method.toUpperCase();
      return new TracedRequest(tracer, `${m} ${path}`, parentOf(traceparent, tracestate), {
        'http.request.method': m,
        'url.path': path,
        'jetserve.request_id': requestId,
      }, 'http');
    },
    startGrpc(path, requestId, traceparent, tracestate) {
      const [service = '', methodName = ''] = path.slice(1).split('/');
      const request = new TracedRequest(tracer, path.slice(1), parentOf(traceparent, tracestate), {
        'rpc.system': 'grpc',
        'rpc.service': service,
        'rpc.method': methodName,
        'jetserve.request_id': requestId,
      }, 'grpc');
      request.bodyReceived(); // a unary call starts with its message in
      return request;
    },
    run<T>(request: RequestTrace, fn: () => T): T {
      return activeRequest.run(request as TracedRequest, fn);
    },
    async shutdown() {
      if (stopped) return;
      stopped = true;
      if (--tracingServers === 0) uninstall?.();
      // a collector that cannot be reached loses the last spans; it never fails the shutdown
      await provider.shutdown().catch(() => {});
    },
  };
}

type Attributes = Record<string, string | number>;

/** One traced request: its server span, and the times its child spans are made from. */
class TracedRequest implements RequestTrace {
  readonly traceparent: string;
  private readonly span: Span;
  private readonly context: Context;
  private decodeStart: number;
  private runsStarted = 0;
  private lastRunEnd = 0;
  private modelAttributes: Attributes | undefined;

  constructor(
    private readonly tracer: Tracer,
    name: string,
    parent: Context,
    attributes: Attributes,
    private readonly protocol: 'http' | 'grpc',
  ) {
    const start = wallNow();
    this.span = tracer.startSpan(name, { kind: SpanKind.SERVER, startTime: start, attributes }, parent);
    this.context = trace.setSpan(parent, this.span);
    this.decodeStart = start;
    const c = this.span.spanContext();
    this.traceparent = `00-${c.traceId}-${c.spanId}-0${(c.traceFlags & 1).toString(16)}`;
  }

  bodyReceived(): void {
    this.decodeStart = wallNow();
  }

  /** A run of this request begins: the decode span ends here (first run), a run span starts. */
  runStarted(model: string, version: number, signature: string): RunSpan {
    const now = wallNow();
    const attributes: Attributes = { 'model.name': model, 'model.version': version, 'model.signature': signature };
    if (this.runsStarted++ === 0) {
      this.modelAttributes = attributes;
      this.span.setAttributes(attributes);
      this.child('decode', this.decodeStart, now, attributes);
    }
    let executing = now;
    return {
      executionStarted: () => {
        executing = wallNow();
      },
      ended: (error?: unknown) => {
        const end = wallNow();
        this.child('queue', now, executing, attributes);
        this.child('run', executing, end, attributes, error);
        this.lastRunEnd = Math.max(this.lastRunEnd, end);
      },
    };
  }

  end(status: number): void {
    const now = wallNow();
    if (this.lastRunEnd > 0 && this.modelAttributes) this.child('encode', this.lastRunEnd, now, this.modelAttributes);
    const failed = this.protocol === 'http' ? status >= 500 || status === 0 : status !== 0;
    if (this.protocol === 'http') this.span.setAttribute('http.response.status_code', status);
    else this.span.setAttribute('rpc.grpc.status_code', status);
    if (failed) this.span.setStatus({ code: SpanStatusCode.ERROR });
    this.span.end(now);
  }

  private child(name: string, start: number, end: number, attributes: Attributes, error?: unknown): void {
    const span = this.tracer.startSpan(name, { kind: SpanKind.INTERNAL, startTime: start, attributes }, this.context);
    if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    span.end(Math.max(start, end));
  }
}
