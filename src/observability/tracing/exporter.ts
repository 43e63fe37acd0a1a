// The exporter shape startServer's `spanExporter` option takes: an OpenTelemetry SpanExporter
// (e.g. @opentelemetry/sdk-trace-base's InMemorySpanExporter), typed structurally so the options
// module does not import the SDK, which is loaded only when tracing is on.

export interface SpanExporterLike {
  export(spans: unknown[], resultCallback: (result: { code: number; error?: Error }) => void): void;
  shutdown(): Promise<void>;
  forceFlush?(): Promise<void>;
}
