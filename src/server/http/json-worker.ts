// Piscina worker for json-offload.ts: decodes one large TF Serving predict / KServe v2 infer JSON
// body with the same codec functions the event loop uses (the native codec when the addon has it),
// and moves the tensors back to the main thread in plain ArrayBuffers: native-backed ones cannot
// cross threads, so the native codec's tensors are copied once into plain memory here (a memcpy:
// ~0.1 ms per MiB, against ~1.5 ms per MiB of native decoding and ~15 ms of TypeScript decoding).
//
// Errors are returned, not thrown: a thrown JetserveError would arrive as a plain Error without its
// code. Everything the codec needs from the model is its signatures, sent with each task as JSON
// text (cloning the signature objects cost ~50 µs a task, a string is a copy) and parsed once per
// worker.

import { move, transferableSymbol, valueSymbol } from 'piscina';
import { DEFAULT_SIGNATURE, signatureNotFound, type SignatureInfo } from '../../engine/signature.js';
import { plainTensor, type Tensor } from '../../engine/tensor.js';
import type { NumericData, NumericDType } from '../../engine/dtypes.js';
import { JetserveError, type ErrorCode } from '../../errors.js';
import { LimitExceededError, type RequestLimits } from '../../wire/limits.js';
import { TYPED_ARRAY_OF } from '../../engine/dtypes.js';
import { decodeKServeInfer, decodeTfPredict, jsonCodec, type SignatureSource } from './codecs.js';

export interface DecodeTask {
  protocol: 'tfserving' | 'kserve';
  /** The request body (transferred to the worker). */
  body: Uint8Array;
  /** JSON.stringify(Model.signatures). */
  signatures: string;
  /** Model.source, for error texts. */
  source: string;
  /** The server's request budgets. */
  limits: RequestLimits;
}

/** A tensor on its way back: numeric data as (buffer, offset, length); strings packed in one buffer. */
export type WireTensor =
  | { dtype: NumericDType; shape: number[]; buffer: ArrayBuffer; byteOffset: number; length: number }
  | { dtype: 'string'; shape: number[]; buffer: ArrayBuffer; offsets: Float64Array };

export type DecodeReply =
  | { ok: true; request: Record<string, unknown> & { inputs: Record<string, WireTensor> } }
  | { ok: false; code: ErrorCode; message: string; internal: boolean; limit: boolean };

/** Parsed signatures by their JSON text (bounded: a server has few models). */
const signatureCache = new Map<string, Record<string, SignatureInfo>>();

function signaturesOf(json: string): Record<string, SignatureInfo> {
  let sigs = signatureCache.get(json);
  if (!sigs) {
    sigs = JSON.parse(json) as Record<string, SignatureInfo>;
    if (signatureCache.size >= 64) signatureCache.clear();
    signatureCache.set(json, sigs);
  }
  return sigs;
}

export default function decode(task: DecodeTask): DecodeReply | ReturnType<typeof move> {
  const signatures = signaturesOf(task.signatures);
  const model: SignatureSource = {
    signatures,
    source: task.source,
    signature(name: string = DEFAULT_SIGNATURE): SignatureInfo {
      const sig = Object.hasOwn(signatures, name) ? signatures[name] : undefined;
      if (!sig) throw signatureNotFound(name, Object.keys(signatures));
      return sig;
    },
  };
  let decoded: { inputs: Record<string, Tensor> } & Record<string, unknown>;
  // the native codec allocates its own (native) memory; the TypeScript one fills plain buffers
  const alloc = jsonCodec() === 'native' ? undefined : plainTensor;
  try {
    decoded =
      task.protocol === 'tfserving'
        ? { ...decodeTfPredict(task.body, model, alloc, task.limits) }
        : { ...decodeKServeInfer(task.body, undefined, model, alloc, task.limits) };
  } catch (err) {
    if (err instanceof JetserveError) {
      return { ok: false, code: err.code, message: err.message, internal: false, limit: err instanceof LimitExceededError };
    }
    return { ok: false, code: 'INTERNAL', message: err instanceof Error ? err.message : String(err), internal: true, limit: false };
  }
  const transfer = new Set<ArrayBuffer>();
  const inputs: Record<string, WireTensor> = {};
  for (const [name, t] of Object.entries(decoded.inputs)) {
    if (t.dtype === 'string') {
      const items = t.data as Uint8Array[];
      const offsets = new Float64Array(items.length + 1);
      let total = 0;
      for (let i = 0; i < items.length; i++) {
        offsets[i] = total;
        total += items[i]!.byteLength;
      }
      offsets[items.length] = total;
      const packed = new Uint8Array(total);
      for (let i = 0; i < items.length; i++) packed.set(items[i]!, offsets[i]);
      transfer.add(packed.buffer).add(offsets.buffer);
      inputs[name] = { dtype: 'string', shape: t.shape, buffer: packed.buffer, offsets };
    } else {
      let d = t.data as NumericData;
      // plainTensor gives every tensor an ArrayBuffer of its own; native memory is copied into one
      if (alloc === undefined) d = new TYPED_ARRAY_OF[t.dtype as NumericDType](d as never) as NumericData;
      transfer.add(d.buffer as ArrayBuffer);
      inputs[name] = { dtype: t.dtype as NumericDType, shape: t.shape, buffer: d.buffer as ArrayBuffer, byteOffset: d.byteOffset, length: d.length };
    }
  }
  const reply: DecodeReply = { ok: true, request: { ...decoded, inputs } };
  return move({
    get [transferableSymbol]() {
      return [...transfer];
    },
    get [valueSymbol]() {
      return reply;
    },
  });
}
