// OpenTelemetry request tracing (tracing.ts), the per-request interface front ends hold
// (request-trace.ts) and the exporter shape startServer accepts (exporter.ts).
export { startTracing, tracingWanted, type Tracing, type TracingOptions } from './tracing.js';
export type { GrpcTracing, HttpTracing, RequestTrace } from './request-trace.js';
export type { SpanExporterLike } from './exporter.js';
