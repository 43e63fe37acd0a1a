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

export interface NativeSession {
  /** Signatures parsed from the MetaGraphDef (SavedModel) or built from the given names (GraphDef). */
  signatures(): Record<string, NativeSignature>;
  /** Runs on the native executor. Input tensors are adopted without copy when 64-byte aligned native blocks. */
  run(inputEndpoints: number[], inputs: NativeTensor[], outputEndpoints: number[]): Promise<NativeTensor[]>;
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
  /** Data address of an ArrayBuffer (for tests proving zero copy). */
  addressOf(view: ArrayBufferView): bigint;
  stats(): NativeStats;
  setExecutorThreads(count: number): void;
  loadSavedModel(dir: string, tags: string[], config: Uint8Array): Promise<NativeSession>;
  loadGraphDef(path: string, inputs: string[], outputs: string[], config: Uint8Array): Promise<NativeSession>;
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
    binding = require(locateAddon()) as NativeBinding;
  }
  return binding;
}

/** 64-byte aligned, zero-filled native memory that TF can adopt without a copy. */
export function allocAligned(byteLength: number): ArrayBuffer {
  return native().allocAligned(byteLength);
}
