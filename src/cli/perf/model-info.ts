// What `jetserve perf` learns about the model before loading it: each input's dtype and shape,
// from the target's own metadata API (TF Serving REST /v1/models/m/metadata, KServe v2 REST
// /v2/models/m, gRPC GetModelMetadata / ModelMetadata) or, in-process, from the loaded SavedModel.

import * as grpc from '@grpc/grpc-js';
import { dtypeFromTfEnum, type DType } from '../../engine/dtypes.js';
import { dtypeOfKServe } from '../../wire/kserve-binary.js';
import { decodeMessage, encodeMessage } from '../../wire/protobuf/schemas.js';
import type { PerfOptions } from './options.js';

export interface InputSpec {
  dtype: DType;
  /** -1: variable; null: unknown rank. */
  shape: number[] | null;
}

export interface ModelInfo {
  name: string;
  signature: string;
  inputs: Record<string, InputSpec>;
  outputs: string[];
}

/** The target could not be used (unreachable, unknown model, metadata missing): exit 1. */
export class TargetError extends Error {}

const TF_DTYPE_BY_NAME: Record<string, number> = {
  DT_FLOAT: 1, DT_DOUBLE: 2, DT_INT32: 3, DT_UINT8: 4, DT_INT16: 5, DT_INT8: 6, DT_STRING: 7, DT_COMPLEX64: 8,
  DT_INT64: 9, DT_BOOL: 10, DT_BFLOAT16: 14, DT_UINT16: 17, DT_COMPLEX128: 18, DT_HALF: 19, DT_UINT32: 22, DT_UINT64: 23,
};

interface TensorInfoJson {
  dtype?: string | number;
  tensor_shape?: { dim?: { size?: string | number }[]; unknown_rank?: boolean };
}

function tfTensorInfo(where: string, info: TensorInfoJson): InputSpec {
  const num = typeof info.dtype === 'number' ? info.dtype : TF_DTYPE_BY_NAME[info.dtype ?? ''];
  const dtype = num === undefined ? undefined : dtypeFromTfEnum(num);
  if (!dtype) throw new TargetError(`${where} has dtype ${String(info.dtype)}, which perf cannot generate`);
  const shape = info.tensor_shape?.unknown_rank ? null : (info.tensor_shape?.dim ?? []).map((d) => Number(d.size ?? -1));
  return { dtype, shape };
}

function fromSignatureDef(model: string, signature: string, defs: Record<string, { inputs?: Record<string, TensorInfoJson>; outputs?: Record<string, TensorInfoJson> }>): ModelInfo {
  const def = defs[signature];
  if (!def) throw new TargetError(`model '${model}' has no signature '${signature}' (it has: ${Object.keys(defs).join(', ') || 'none'}); pick one with --signature`);
  const inputs: Record<string, InputSpec> = {};
  for (const [name, info] of Object.entries(def.inputs ?? {})) inputs[name] = tfTensorInfo(`input '${name}'`, info);
  return { name: model, signature, inputs, outputs: Object.keys(def.outputs ?? {}) };
}

function fromKServe(model: string, signature: string, meta: { inputs?: { name: string; datatype: string; shape: (number | string)[] }[]; outputs?: { name: string }[] }): ModelInfo {
  const inputs: Record<string, InputSpec> = {};
  for (const t of meta.inputs ?? []) {
    const dtype = dtypeOfKServe(t.datatype);
    if (!dtype) throw new TargetError(`input '${t.name}' has datatype ${t.datatype}, which perf cannot generate`);
    inputs[t.name] = { dtype, shape: t.shape.map(Number) };
  }
  return { name: model, signature, inputs, outputs: (meta.outputs ?? []).map((o) => o.name) };
}

async function getJson(url: string): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    throw new TargetError(`cannot reach ${url}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`);
  }
  const text = await res.text();
  if (!res.ok) throw new TargetError(`GET ${url} answered ${res.status}: ${text.slice(0, 300)}`);
  try {
    return JSON.parse(text);
  } catch {
    throw new TargetError(`GET ${url} did not answer JSON: ${text.slice(0, 200)}`);
  }
}

/** The model to load when --model is not given: the only one a REST target lists. */
async function soleModel(base: string): Promise<string> {
  let names: string[] = [];
  try {
    const index = (await fetch(`${base}/v2/repository/index`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(10_000) })) as Response;
    if (index.ok) names = ((await index.json()) as { name: string }[]).map((m) => m.name);
  } catch {
    // not a KServe repository API: fall through
  }
  if (names.length === 1) return names[0]!;
  throw new TargetError(`give --model NAME${names.length > 1 ? ` (the server lists ${names.join(', ')})` : ''}`);
}

export function restBase(url: string): string {
  return url.replace(/\/+$/, '');
}

export function grpcUnary(target: string, path: string, request: Buffer, timeoutMs = 30_000): Promise<Buffer> {
  const client = new grpc.Client(target, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': -1 });
  return new Promise<Buffer>((resolve, reject) => {
    client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, request, { deadline: Date.now() + timeoutMs }, (err, res) => {
      client.close();
      if (err) reject(new TargetError(`${path} on ${target}: ${err.message}`));
      else resolve(res!);
    });
  });
}

export function grpcAddress(url: string): string {
  return url.replace(/^grpcs?:\/\//, '').replace(/\/+$/, '');
}

/** The model's inputs as the target describes them. */
export async function fetchModelInfo(opts: PerfOptions): Promise<ModelInfo> {
  const signature = opts.signature;
  const version = opts.modelVersion > 0 ? String(opts.modelVersion) : '';
  switch (opts.protocol) {
    case 'tfserving-rest':
    case 'flatbuffers': {
      const base = restBase(opts.url);
      const model = opts.model || (await soleModel(base));
      const meta = (await getJson(`${base}/v1/models/${encodeURIComponent(model)}${version ? `/versions/${version}` : ''}/metadata`)) as {
        metadata?: { signature_def?: { signature_def?: Record<string, never> } };
      };
      return fromSignatureDef(model, signature, meta.metadata?.signature_def?.signature_def ?? {});
    }
    case 'kserve-rest':
    case 'kserve-binary': {
      const base = restBase(opts.url);
      const model = opts.model || (await soleModel(base));
      const meta = await getJson(`${base}/v2/models/${encodeURIComponent(model)}${version ? `/versions/${version}` : ''}`);
      return fromKServe(model, signature, meta as never);
    }
    case 'tfserving-grpc': {
      if (!opts.model) throw new TargetError('give --model NAME');
      const req = encodeMessage('tensorflow.serving.GetModelMetadataRequest', {
        model_spec: { name: opts.model, signature_name: signature, ...(version ? { version: { value: Number(version) } } : {}) },
        metadata_field: ['signature_def'],
      });
      const res = decodeMessage<{ metadata: Record<string, { value: Buffer }> }>(
        'tensorflow.serving.GetModelMetadataResponse',
        await grpcUnary(grpcAddress(opts.url), '/tensorflow.serving.PredictionService/GetModelMetadata', req),
      );
      const any = res.metadata.signature_def;
      if (!any) throw new TargetError(`GetModelMetadata for '${opts.model}' carried no signature_def`);
      const map = decodeMessage<{ signature_def: Record<string, never> }>('tensorflow.serving.SignatureDefMap', any.value);
      return fromSignatureDef(opts.model, signature, map.signature_def);
    }
    case 'kserve-grpc': {
      if (!opts.model) throw new TargetError('give --model NAME');
      const req = encodeMessage('inference.ModelMetadataRequest', { name: opts.model, version });
      const res = decodeMessage<never>('inference.ModelMetadataResponse', await grpcUnary(grpcAddress(opts.url), '/inference.GRPCInferenceService/ModelMetadata', req));
      return fromKServe(opts.model, signature, res);
    }
    case 'in-process': {
      const { loadSavedModel } = await import('../../engine/model.js');
      let model;
      try {
        model = await loadSavedModel(opts.inProcess!);
      } catch (err) {
        throw new TargetError(`cannot load ${opts.inProcess}: ${(err as Error).message}`);
      }
      try {
        const sigs = model.signatures;
        const sig = sigs[signature];
        if (!sig) throw new TargetError(`${opts.inProcess} has no signature '${signature}' (it has: ${Object.keys(sigs).join(', ')})`);
        const inputs: Record<string, InputSpec> = {};
        for (const [name, t] of Object.entries(sig.inputs)) {
          if (!t.dtype) throw new TargetError(`input '${name}' has a dtype jetserve cannot feed`);
          inputs[name] = { dtype: t.dtype, shape: t.shape };
        }
        return { name: opts.model || 'in-process', signature, inputs, outputs: Object.keys(sig.outputs) };
      } finally {
        await model.dispose();
      }
    }
  }
}
