// The model layer's side of request tracing: the slot a tracer is installed in, and what the
// version harness tells it about each run. The tracer itself (src/observability/tracing) sits above
// this room; it installs itself here when tracing is on. With nothing installed — tracing off — a
// run reads one module variable and does nothing else: no span, no allocation.

/** One run of one request, as the harness reports it. */
export interface RunSpan {
  /** The run left the batching queue and started executing (right away without batching). */
  executionStarted(): void;
  /** The run ended (error: it failed). */
  ended(error?: unknown): void;
}

export interface RunTracer {
  /** A run begins for the request being handled; undefined when that request is not traced. */
  start(model: string, version: number, signature: string): RunSpan | undefined;
}

/** The installed tracer (undefined: tracing is off). */
export let currentRunTracer: RunTracer | undefined;

/** Installs the process's run tracer; the function returned uninstalls it. */
export function installRunTracer(tracer: RunTracer): () => void {
  currentRunTracer = tracer;
  return () => {
    if (currentRunTracer === tracer) currentRunTracer = undefined;
  };
}
