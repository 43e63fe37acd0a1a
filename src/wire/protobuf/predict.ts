// tensorflow.serving.PredictRequest / PredictResponse on the wire, hand-rolled (the hot path).
//
// Decoding runs in two steps so that errors come in TF Serving's order: scanPredictRequest reads
// the model spec and output filter and only notes where each input TensorProto lies; the tensors
// are decoded (decodePredictInputs) after the servable and signature resolved.

import { decodeTensorProto, externalBytes, planTensorProto, writeTensorProto, type TensorProtoPlan } from './tensorproto.js';
import type { Tensor } from '../../engine/tensor.js';
import { invalidArgument } from '../../errors.js';
import { lenFieldSize, tagSize, varintSize, WireError, WireReader, WireWriter, WT_LEN, WT_VARINT } from './primitives.js';

/** tensorflow.serving.ModelSpec as jetserve reads it. */
export interface ModelSpecMessage {
  name: string;
  /** From the google.protobuf.Int64Value wrapper; undefined when absent. */
  version?: number;
  versionLabel?: string;
  /** "" when not given. */
  signatureName: string;
}

/** Where one `inputs` map entry's TensorProto lies in the request buffer. */
export interface InputEntry {
  key: string;
  start: number;
  end: number;
}

export interface ScannedPredictRequest {
  buf: Buffer;
  /** undefined when the request has no model_spec. */
  modelSpec: ModelSpecMessage | undefined;
  inputs: InputEntry[];
  outputFilter: string[];
}

/** A protobuf-level decode failure, reported as INVALID_ARGUMENT naming the message. */
export function malformed(message: string, err: unknown) {
  const detail = err instanceof Error ? err.message : String(err);
  return invalidArgument(`could not parse ${message}: ${detail}`);
}

/** Reads a ModelSpec message occupying r.pos..end (r.end is restored). */
export function readModelSpec(r: WireReader, end: number): ModelSpecMessage {
  const outerEnd = r.end;
  r.end = end;
  const spec: ModelSpecMessage = { name: '', signatureName: '' };
  while (r.pos < end) {
    const tag = r.tag();
    const field = tag >>> 3;
    const wt = tag & 7;
    if (wt === WT_LEN && field === 1) {
      spec.name = r.string();
    } else if (wt === WT_LEN && field === 2) {
      // google.protobuf.Int64Value { int64 value = 1; } (a oneof member: clears the label)
      const vEnd = r.lenEnd();
      let version = 0;
      const saved = r.end;
      r.end = vEnd;
      while (r.pos < vEnd) {
        const vtag = r.tag();
        if (vtag >>> 3 === 1 && (vtag & 7) === WT_VARINT) version = r.int64Number();
        else r.skip(vtag & 7, vtag >>> 3);
      }
      r.end = saved;
      spec.version = version;
      delete spec.versionLabel;
    } else if (wt === WT_LEN && field === 3) {
      spec.signatureName = r.string();
    } else if (wt === WT_LEN && field === 4) {
      spec.versionLabel = r.string();
      delete spec.version;
    } else {
      r.skip(wt, field);
    }
  }
  r.end = outerEnd;
  return spec;
}

/**
 * Reads only the model_spec (field `field`) of any message; the rest is skipped. Malformed bytes
 * are INVALID_ARGUMENT naming `message` (the request type).
 */
export function scanModelSpecField(buf: Buffer, message: string, field = 1): ModelSpecMessage | undefined {
  try {
    const r = new WireReader(buf);
    let spec: ModelSpecMessage | undefined;
    while (r.pos < r.end) {
      const tag = r.tag();
      if (tag >>> 3 === field && (tag & 7) === WT_LEN) {
        const end = r.lenEnd();
        spec = readModelSpec(r, end);
        r.pos = end;
      } else {
        r.skip(tag & 7, tag >>> 3);
      }
    }
    return spec;
  } catch (err) {
    if (err instanceof WireError) throw malformed(message, err);
    throw err;
  }
}

export function scanPredictRequest(buf: Buffer): ScannedPredictRequest {
  try {
    const r = new WireReader(buf);
    const out: ScannedPredictRequest = { buf, modelSpec: undefined, inputs: [], outputFilter: [] };
    while (r.pos < r.end) {
      const tag = r.tag();
      const field = tag >>> 3;
      const wt = tag & 7;
      if (field === 1 && wt === WT_LEN) {
        const end = r.lenEnd();
        // a repeated message field merges: later fields override
        const spec = readModelSpec(r, end);
        out.modelSpec = out.modelSpec ? mergeSpec(out.modelSpec, spec) : spec;
        r.pos = end;
      } else if (field === 2 && wt === WT_LEN) {
        const entryEnd = r.lenEnd();
        const saved = r.end;
        r.end = entryEnd;
        let key = '';
        let start = entryEnd;
        let end = entryEnd;
        while (r.pos < entryEnd) {
          const etag = r.tag();
          if (etag === ((1 << 3) | WT_LEN)) {
            key = r.string();
          } else if (etag === ((2 << 3) | WT_LEN)) {
            end = r.lenEnd();
            start = r.pos;
            r.pos = end;
          } else {
            r.skip(etag & 7, etag >>> 3);
          }
        }
        r.end = saved;
        // map semantics: a later entry with the same key replaces the earlier one
        const existing = out.inputs.findIndex((e) => e.key === key);
        if (existing >= 0) out.inputs.splice(existing, 1);
        out.inputs.push({ key, start, end });
      } else if (field === 3 && wt === WT_LEN) {
        out.outputFilter.push(r.string());
      } else {
        r.skip(wt, field);
      }
    }
    return out;
  } catch (err) {
    if (err instanceof WireError) throw malformed('PredictRequest', err);
    throw err;
  }
}

function mergeSpec(a: ModelSpecMessage, b: ModelSpecMessage): ModelSpecMessage {
  const merged: ModelSpecMessage = {
    name: b.name || a.name,
    signatureName: b.signatureName || a.signatureName,
  };
  if (b.version !== undefined) merged.version = b.version;
  else if (b.versionLabel !== undefined) merged.versionLabel = b.versionLabel;
  else if (a.version !== undefined) merged.version = a.version;
  else if (a.versionLabel !== undefined) merged.versionLabel = a.versionLabel;
  return merged;
}

/** Decodes the scanned input TensorProtos (numeric data into aligned buffers, at most one copy). */
export function decodePredictInputs(req: ScannedPredictRequest): Record<string, Tensor> {
  const inputs: Record<string, Tensor> = Object.create(null) as Record<string, Tensor>;
  for (const entry of req.inputs) {
    inputs[entry.key] = decodeTensorProto(req.buf, entry.start, entry.end, entry.key);
  }
  return inputs;
}

export interface ResponseModelSpec {
  name: string;
  version: number;
  signatureName: string;
}

function modelSpecSize(spec: ResponseModelSpec, nameBytes: number, sigBytes: number): number {
  const versionPayload = tagSize(1) + varintSize(spec.version);
  return (
    lenFieldSize(1, nameBytes) + lenFieldSize(2, versionPayload) + (sigBytes > 0 ? lenFieldSize(3, sigBytes) : 0)
  );
}

/** Writes a ModelSpec as field `field` of the enclosing message. */
export function writeModelSpecField(w: WireWriter, field: number, spec: ResponseModelSpec): void {
  const nameBytes = Buffer.byteLength(spec.name);
  const sigBytes = Buffer.byteLength(spec.signatureName);
  w.lenHeader(field, modelSpecSize(spec, nameBytes, sigBytes));
  w.stringField(1, spec.name, nameBytes);
  w.lenHeader(2, tagSize(1) + varintSize(spec.version));
  w.tag(1, WT_VARINT);
  w.varint(spec.version);
  if (sigBytes > 0) w.stringField(3, spec.signatureName, sigBytes);
}

export function modelSpecFieldSize(field: number, spec: ResponseModelSpec): number {
  return lenFieldSize(field, modelSpecSize(spec, Buffer.byteLength(spec.name), Buffer.byteLength(spec.signatureName)));
}

/**
 * Encodes a PredictResponse { outputs = 1 (map<string, TensorProto>); model_spec = 2 } into one
 * exactly-sized buffer (each output's bytes are copied once).
 */
export function encodePredictResponse(
  outputs: Readonly<Record<string, Tensor>>,
  spec: ResponseModelSpec,
  options: { tensorContent?: boolean } = {},
): Buffer {
  return encodePredictResponseParts(outputs, spec, options, false)[0]!;
}

/**
 * Like encodePredictResponse, but large tensor_content bytes are not copied: the result is a list
 * of pieces (headers in one buffer, tensor data as views of the output tensors) to write in order.
 */
export function encodePredictResponseGather(
  outputs: Readonly<Record<string, Tensor>>,
  spec: ResponseModelSpec,
  options: { tensorContent?: boolean } = {},
): Buffer[] {
  return encodePredictResponseParts(outputs, spec, options, true);
}

function encodePredictResponseParts(
  outputs: Readonly<Record<string, Tensor>>,
  spec: ResponseModelSpec,
  options: { tensorContent?: boolean },
  gather: boolean,
): Buffer[] {
  const keys = Object.keys(outputs);
  const plans: TensorProtoPlan[] = new Array(keys.length);
  const keyBytes: number[] = new Array(keys.length);
  const entrySizes: number[] = new Array(keys.length);
  let size = 0;
  let external = 0;
  for (let i = 0; i < keys.length; i++) {
    const plan = planTensorProto(outputs[keys[i]!]!, options);
    plans[i] = plan;
    if (gather) external += externalBytes(plan);
    keyBytes[i] = Buffer.byteLength(keys[i]!);
    entrySizes[i] = lenFieldSize(1, keyBytes[i]!) + lenFieldSize(2, plan.size);
    size += lenFieldSize(1, entrySizes[i]!);
  }
  size += modelSpecFieldSize(2, spec);
  const w = new WireWriter(size - external);
  for (let i = 0; i < keys.length; i++) {
    w.lenHeader(1, entrySizes[i]!);
    w.stringField(1, keys[i]!, keyBytes[i]!);
    w.lenHeader(2, plans[i]!.size);
    writeTensorProto(w, plans[i]!, gather);
  }
  writeModelSpecField(w, 2, spec);
  return external > 0 ? w.finishGather() : [w.finish()];
}
