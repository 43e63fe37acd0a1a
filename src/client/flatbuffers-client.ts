// Client for jetserve's FlatBuffers predict protocol (src/wire/flatbuffers/): one POST per call
// with fetch; tensors go out as raw bytes and come back as typed-array views of the response.
//
//   predictFlat(url, modelName, inputs, opts?) → Promise<Record<string, Tensor>>
//   predictFlatDetailed(url, modelName, inputs, opts?) → Promise<{ outputs, modelVersion, signatureName }>
//
// Errors: the server's JetserveError (same code and message) for an error response; a
// JetserveError mapped from the HTTP status when the server answered without a FlatBuffers body
// (e.g. TF Serving's JSON {"error": …} for an unknown model); UNAVAILABLE when the request fails.

import {
  decodeFlatPredictResponse,
  encodeFlatPredictRequest,
  FLATBUFFERS_CONTENT_TYPE,
  type FlatPredictResponse,
} from '../wire/flatbuffers/flatbuffers.js';
import type { Tensor } from '../engine/tensor.js';
import { codeOfHttpStatus, JetserveError } from '../errors.js';

export interface PredictFlatOptions {
  /** Signature to run (default: the server's "serving_default"). */
  signatureName?: string;
  /** Output aliases to compute (default: all). */
  outputFilter?: readonly string[];
  /** A specific model version… */
  version?: number;
  /** …or a version label (not both). */
  label?: string;
  /** Extra request headers. */
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** fetch implementation (default: globalThis.fetch). */
  fetch?: typeof fetch;
}


export function predictUrl(url: string, modelName: string, opts: Pick<PredictFlatOptions, 'version' | 'label'> = {}): string {
  if (opts.version !== undefined && opts.label !== undefined) {
    throw new JetserveError('INVALID_ARGUMENT', 'give a model version or a version label, not both');
  }
  let path = `/v1/models/${encodeURIComponent(modelName)}`;
  if (opts.version !== undefined) path += `/versions/${opts.version}`;
  else if (opts.label !== undefined) path += `/labels/${encodeURIComponent(opts.label)}`;
  return `${url.replace(/\/+$/, '')}${path}:predict`;
}

export async function predictFlatDetailed(
  url: string,
  modelName: string,
  inputs: Readonly<Record<string, Tensor>>,
  opts: PredictFlatOptions = {},
): Promise<FlatPredictResponse> {
  const body = encodeFlatPredictRequest(inputs, {
    ...(opts.signatureName !== undefined ? { signatureName: opts.signatureName } : {}),
    ...(opts.outputFilter !== undefined ? { outputFilter: opts.outputFilter } : {}),
  });
  const doFetch = opts.fetch ?? globalThis.fetch;
  let res: Response;
  try {
    res = await doFetch(predictUrl(url, modelName, opts), {
      method: 'POST',
      headers: { 'content-type': FLATBUFFERS_CONTENT_TYPE, accept: FLATBUFFERS_CONTENT_TYPE, ...opts.headers },
      body,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  } catch (err) {
    if (err instanceof Error && err.name === 'AbortError') throw new JetserveError('CANCELLED', 'predict request aborted');
    throw new JetserveError('UNAVAILABLE', `predict request failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  const bytes = new Uint8Array(await res.arrayBuffer());
  const type = res.headers.get('content-type') ?? '';
  if (type.startsWith(FLATBUFFERS_CONTENT_TYPE)) return decodeFlatPredictResponse(bytes);
  // not a FlatBuffers body: an error from routing / model lookup, usually {"error": "..."}
  let message = new TextDecoder().decode(bytes);
  try {
    const parsed = JSON.parse(message) as { error?: unknown };
    if (typeof parsed.error === 'string') message = parsed.error;
  } catch {
    // keep the raw text
  }
  if (res.ok) throw new JetserveError('INTERNAL', `expected a ${FLATBUFFERS_CONTENT_TYPE} response, got '${type}'`);
  throw new JetserveError(codeOfHttpStatus(res.status), message || `HTTP ${res.status}`);
}

export async function predictFlat(
  url: string,
  modelName: string,
  inputs: Readonly<Record<string, Tensor>>,
  opts: PredictFlatOptions = {},
): Promise<Record<string, Tensor>> {
  return (await predictFlatDetailed(url, modelName, inputs, opts)).outputs;
}
