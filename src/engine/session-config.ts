// Serializes the few ConfigProto fields jetserve sets through TF_SetConfig. Hand-written protobuf
// encoding keeps a second protobuf runtime out of the addon (TF's own is hidden inside its .so).

import { availableParallelism } from 'node:os';

export interface GpuOptions {
  /** ConfigProto.gpu_options.per_process_gpu_memory_fraction (0..1). */
  memoryFraction?: number;
  /** ConfigProto.gpu_options.allow_growth. */
  allowGrowth?: boolean;
  /** ConfigProto.gpu_options.visible_device_list, e.g. "0,1". */
  visibleDevices?: string;
}

export interface SessionOptions {
  /** Threads inside one op (Eigen pool). Default: one per core (big convolutions need them; small ops don't split). */
  intraOpThreads?: number;
  /**
   * Threads running independent ops. Default -1: run every op inline in the calling (executor)
   * thread — measured 3-4x faster than TF's default for small graphs (bench/engine.ts).
   */
  interOpThreads?: number;
  gpu?: GpuOptions;
}

export const DEFAULT_INTRA_OP_THREADS = availableParallelism();
export const DEFAULT_INTER_OP_THREADS = -1;

/** grappler's remapper: TF's default 'on', or 'off' (graph-rewrites.ts measures which one a model runs faster with). */
export type RemapperToggle = 'on' | 'off';

/**
 * The executor that runs the session's graph: TF's default (a ready queue, atomic pending counts,
 * kernels dispatched to the inter-op pool or inline) or TF's single-threaded executor, which runs
 * the kernels in one precomputed order on the calling thread with none of that bookkeeping and
 * cannot run control flow, reference-typed edges, collectives or partitioned graphs.
 */
export type ExecutorKind = 'default' | 'single-threaded';

/** The per-model choices graph-rewrites.ts makes for a session. */
export interface SessionVariant {
  remapper: RemapperToggle;
  executor: ExecutorKind;
}

export const TF_DEFAULT_VARIANT: SessionVariant = { remapper: 'on', executor: 'default' };

export function encodeConfigProto(options: SessionOptions, variant: SessionVariant = TF_DEFAULT_VARIANT): Uint8Array {
  const out: number[] = [];
  const intra = options.intraOpThreads ?? DEFAULT_INTRA_OP_THREADS;
  const inter = options.interOpThreads ?? DEFAULT_INTER_OP_THREADS;
  if (intra !== 0) writeVarintField(out, 2, intra); // intra_op_parallelism_threads
  if (inter !== 0) writeVarintField(out, 5, inter); // inter_op_parallelism_threads
  if (options.gpu) {
    const gpu: number[] = [];
    const { memoryFraction, allowGrowth, visibleDevices } = options.gpu;
    if (memoryFraction !== undefined) {
      gpu.push((1 << 3) | 1); // per_process_gpu_memory_fraction, fixed64 double
      const bytes = new Uint8Array(new Float64Array([memoryFraction]).buffer);
      gpu.push(...bytes);
    }
    if (allowGrowth !== undefined) writeVarintField(gpu, 4, allowGrowth ? 1 : 0);
    if (visibleDevices !== undefined) writeBytesField(gpu, 5, new TextEncoder().encode(visibleDevices));
    writeBytesField(out, 6, Uint8Array.from(gpu)); // gpu_options
  }
  writeVarintField(out, 7, 1); // allow_soft_placement: CPU fallback for ops without a GPU kernel
  if (variant.remapper === 'off') {
    const rewriter: number[] = [];
    writeVarintField(rewriter, 14, 2); // RewriterConfig.remapping = OFF
    const graph: number[] = [];
    writeBytesField(graph, 10, Uint8Array.from(rewriter)); // GraphOptions.rewrite_options
    writeBytesField(out, 10, Uint8Array.from(graph)); // ConfigProto.graph_options
  }
  if (variant.executor === 'single-threaded') {
    const experimental: number[] = [];
    writeBytesField(experimental, 3, new TextEncoder().encode('SINGLE_THREADED_EXECUTOR')); // Experimental.executor_type
    writeBytesField(out, 16, Uint8Array.from(experimental)); // ConfigProto.experimental
  }
  return Uint8Array.from(out);
}

function writeVarint(out: number[], value: number): void {
  // negative int32/int64 values are encoded as 10-byte two's complement varints
  let v = BigInt.asUintN(64, BigInt(value));
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
}

function writeVarintField(out: number[], field: number, value: number): void {
  writeVarint(out, field << 3);
  writeVarint(out, value);
}

function writeBytesField(out: number[], field: number, bytes: Uint8Array): void {
  writeVarint(out, (field << 3) | 2);
  writeVarint(out, bytes.length);
  out.push(...bytes);
}
