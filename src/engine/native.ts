// Loads the N-API addon (build/Release/jetserve_native.node) and describes its raw interface.
// Only src/engine/ talks to the addon; everything above uses Model and Tensor.

import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TensorData } from './dtypes.js';

/** A tensor as the addon takes and returns it: TF dtype enum number, shape, data. */
export interface NativeTensor {
  dtype: number;
  shape: number[];
  data: TensorData;
}

/**
 * Tensors as they cross into and out of run(): flat, [dtype, shape, data] per tensor (indexed
 * access is cheaper than named properties through N-API).
 */
export type NativeTensorList = (number | number[] | TensorData)[];

export interface NativeTensorInfo {
  /** Graph tensor name, e.g. "serving_default_x:0". */
  name: string;
  /** TF DataType enum number. */
  dtype: number;
  /** Dims (-1 unknown) or null for unknown rank. */
  shape: number[] | null;
  /** Index of the resolved TF_Output in the session's endpoint table; -1 if the graph lacks it. */
  endpoint: number;
}

export interface NativeSignature {
  methodName: string;
  inputs: Record<string, NativeTensorInfo>;
  outputs: Record<string, NativeTensorInfo>;
}

/** What the addon measured for one cost slot (see native/cost_model.h). */
export interface NativeCostStats {
  slot: number;
  runs: number;
  inlineRuns: number;
  offloadedRuns: number;
  ewmaMicros: number;
  p99Micros: number;
  lastMicros: number;
  maxMicros: number;
  /** max(EWMA, last); -1 while warming up. */
  estimateMicros: number;
}

export interface NativeSession {
  /** Signatures parsed from the MetaGraphDef (SavedModel) or built from the given names (GraphDef). */
  signatures(): Record<string, NativeSignature>;
  /**
   * Runs one signature; the call itself (cost slot, placement, endpoints, each input's dtype and
   * dims) is in the run buffer (run-io.ts), `inputData` holds each input's data in endpoint order.
   * Placement -1 runs on the calling thread always, 0 on the native executor always, n > 0 on the
   * calling thread when the slot's measured cost is below n µs and no run of this session is on
   * the executor. When it ran on the calling thread it returns undefined (the outputs are in the
   * run buffer) or, when they do not fit there, the outputs; TF's errors throw. Otherwise it
   * returns a promise of the outputs. Input tensors are adopted without copy when they are
   * 64-byte aligned native blocks.
   */
  run(inputData: TensorData[]): NativeTensorList | undefined | Promise<NativeTensorList>;
  /** Cost slots that have run at least once. */
  costStats(): NativeCostStats[];
  /** The session's graph as a serialized GraphDef, function library included. */
  graphDef(): Uint8Array;
  /** The type of each device the session can place ops on: "CPU", "GPU", … */
  deviceTypes(): string[];
  /** Forgets every measured cost (throws while runs are in flight). */
  resetCostStats(): void;
  /** Waits for in-flight runs, then closes and deletes the TF session. Idempotent. */
  close(): Promise<void>;
  /** Runs started and not yet completed. */
  readonly inFlight: number;
}

export interface NativeStats {
  liveSessions: number;
  liveTensors: number;
  liveBlocks: number;
  /** Bytes of input data copied because the buffer was not an aligned jetserve block. */
  bytesCopiedIn: number;
  /** Bytes of output data copied (strings, empty or aliased tensors). */
  bytesCopiedOut: number;
  zeroCopyInputs: number;
  zeroCopyOutputs: number;
  executorThreads: number;
}

export interface NativeBinding {
  tfVersion(): string;
  allocAligned(byteLength: number): ArrayBuffer;
  /** Detaches `buffer`: its memory is freed once no TF tensor uses it, without waiting for a GC. */
  releaseAligned(buffer: ArrayBuffer): void;
  /** Data address of an ArrayBuffer (for tests proving zero copy). */
  addressOf(view: ArrayBufferView): bigint;
  stats(): NativeStats;
  /**
   * Stops this thread's executor (waits for runs and loads executing now, drops queued ones) and
   * TF's profiler server when it runs.
   */
  shutdown(): void;
  /** TF's C++ profiler server is exported by this TF library (native/profiler.cc). */
  profilerAvailable(): boolean;
  /** Starts TF's profiler gRPC server on [::]:port (one per process; did it bind? connect to see). */
  startProfilerServer(port: number): void;
  /** Shuts TF's profiler server down off the JS thread (a Profile call in flight ends first). */
  stopProfilerServer(): Promise<void>;
  loadSavedModel(dir: string, tags: string[], config: Uint8Array): Promise<NativeSession>;
  /** Every op the TF library registers, as a serialized OpList. */
  opList(): Uint8Array;
  /** Registers this thread's run buffer (run-io.ts; layout in native/run_io.h). */
  setRunIo(buffer: ArrayBuffer, headBytes: number): void;
  loadGraphDef(path: string, inputs: string[], outputs: string[], config: Uint8Array): Promise<NativeSession>;
  /** Listeners on `port` now drop new SYNs (native/listen_guard.cc); -1 where unsupported. */
  holdListenSockets(port: number): number;
  /** Connections waiting in the accept queues of the listeners on `port`; -1 when unknown. */
  listenQueueLength(port: number): number;
}

const here = dirname(fileURLToPath(import.meta.url));
// src/engine → repo root, and dist/engine → repo root
const ROOT_CANDIDATES = [join(here, '..', '..')];

function locateAddon(): string {
  const override = process.env.JETSERVE_NATIVE_ADDON;
  if (override) return override;
  for (const root of ROOT_CANDIDATES) {
    for (const variant of ['Release', 'Debug']) {
      const file = join(root, 'build', variant, 'jetserve_native.node');
      if (existsSync(file)) return file;
    }
  }
  throw new Error(
    'jetserve native addon not built (build/Release/jetserve_native.node missing). Run `npm install` (or `npm run build:native`).',
  );
}

let binding: NativeBinding | undefined;

export function native(): NativeBinding {
  if (!binding) {
    // TF logs every op-registration/CPU-feature note at INFO; keep stderr for warnings unless asked.
    process.env.TF_CPP_MIN_LOG_LEVEL ??= '1';
    const require = createRequire(import.meta.url);
    const loaded = require(locateAddon()) as NativeBinding;
    // process.exit() and uncaught exceptions run no env cleanup hooks: C exit() would destroy TF's
    // static state under executor threads still inside TF_SessionRun. 'exit' listeners run before
    // that, on this thread (a worker's process.exit() emits it in the worker).
    process.on('exit', () => loaded.shutdown());
    binding = loaded;
  }
  return binding;
}

/** 64-byte aligned, zero-filled native memory that TF can adopt without a copy. */
export function allocAligned(byteLength: number): ArrayBuffer {
  return native().allocAligned(byteLength);
}

/**
 * Detaches an ArrayBuffer its owner is done with (every view of it becomes empty): native memory
 * goes back once no TF tensor uses it, instead of at a GC V8 schedules by the bytes it sees live.
 */
export function releaseAligned(buffer: ArrayBuffer): void {
  native().releaseAligned(buffer);
}
