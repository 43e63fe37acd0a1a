// TF Serving's REST API (reference/tfserving.md §1): the URL grammar (its two case-insensitive
// regexes), model status and metadata GETs, and :predict / :classify / :regress POSTs. The wire
// formats themselves live in the codecs (TF-JSON, FlatBuffers); this module routes, picks the
// codec from the Content-Type, resolves the servable and writes TF Serving's error bodies.

import { performance } from 'node:perf_hooks';
import { allocAligned } from '../../engine/native.js';
import { JetserveError } from '../../errors.js';
import { checkPredictSignature } from '../../models/example-methods.js';
import { releaseRequestInputs, type ModelSpec, type Servable } from '../../models/servable.js';
import type { Tensor } from '../../engine/tensor.js';
import type { RequestRecorder } from '../../observability/serving-metrics.js';
import {
  FLATBUFFERS_CONTENT_TYPE,
  decodeFlatbuffersPredict,
  decodeTfExamples,
  decodeTfPredict,
  encodeFlatbuffersError,
  encodeFlatbuffersPredict,
  encodeTfClassify,
  encodeTfPredictChunks,
  encodeTfPredictSmall,
  encodeTfRegress,
  jsonCodec,
  type TfPredictRequest,
} from './codecs.js';
import { requestBodies } from '../body-pool.js';
import { Exchange, HttpError, JSON_CONTENT_TYPE, STREAM_CHUNK_BYTES, STREAM_CHUNK_CHARS, errorBody } from './exchange.js';
import { isJsonLike, mediaType } from './media.js';
import { failRequest, respondAsync } from './respond.js';
import type { HttpContext } from './context.js';
import { encodeModelMetadata, encodeModelStatus } from '../../wire/json/tfserving.js';

// TF Serving's regexes (http_rest_api_handler.cc), anchored: RE2::FullMatch
const GET_RE = /^\/v1\/models(?:\/([^/:]+))?(?:(?:\/versions\/(\d+))|(?:\/labels\/([^/:]+)))?(?:\/(metadata))?$/i;
const POST_RE = /^\/v1\/models\/([^/:]+)(?:(?:\/versions\/(\d+))|(?:\/labels\/([^/:]+)))?:(classify|regress|predict)$/i;

const INT64_MAX = 9223372036854775807n;

export function handleTfServing(ex: Exchange, ctx: HttpContext): void {
  if (ex.method === 'get') {
    const m = GET_RE.exec(ex.url);
    if (!m) return malformed(ex);
    const [, rawName, rawVersion, rawLabel, metadata] = m;
    if (rawName === undefined) {
      ex.sendJson(400, errorBody('Missing model name in request.'));
      return;
    }
    const spec = parseSpec(ex, rawName, rawVersion, rawLabel);
    if (!spec) return;
    try {
      if (metadata) {
        const servable = ctx.models.resolve(spec);
        ex.sendJson(200, encodeModelMetadata({ name: servable.name, version: servable.version, signatures: servable.model.signatures }));
      } else {
        // like TF Serving, a label is accepted and ignored by the status call
        ex.sendJson(200, encodeModelStatus(ctx.models.status(spec.name, spec.version)));
      }
    } catch (err) {
      ex.sendError(err);
    }
    return;
  }
  if (ex.method === 'post') {
    const route = postRoute(ex);
    if (!route) return;
    const { spec, verb } = route;
    const kind = bodyKind(ex, verb);
    if (kind instanceof HttpError) {
      ex.sendError(kind);
      return;
    }
    // Large FlatBuffers bodies land in aligned native memory, so aligned tensor payloads reach TF
    // in place. Small ones are copied into the tensor slab instead: an aligned block of its own
    // costs several µs per request (external ArrayBuffer + finalizer), more than copying ≤ 64 KiB.
    const zeroCopyBody = kind === 'flatbuffers' && (ex.contentLength ?? 0) >= FLATBUFFERS_ZERO_COPY_MIN_BYTES;
    const recorder = ctx.metrics?.request(spec.name, verb, 'REST');
    if (kind === 'json' && verb === 'predict' && inlinePredict(ex, ctx)) {
      predictJsonInline(ex, ctx, spec, recorder);
      return;
    }
    // JSON predict bodies are given back to the pool once decoded (predictJson)
    const pooled = kind === 'json' && verb === 'predict';
    const body = ex.receiveBody(zeroCopyBody ? allocAlignedBytes : pooled ? requestBodies.alloc : undefined, pooled ? requestBodies.take : undefined);
    respondAsync(ex, ctx, async () => {
      const bytes = ex.contentEncoding === '' ? await body : await ex.decodedBody(body);
      // `return await`: one promise hop fewer than returning the promise from an async function
      if (kind === 'flatbuffers') return await predictFlatbuffers(ex, ctx, spec, bytes);
      if (verb === 'predict') return await predictJson(ex, ctx, spec, bytes);
      return await examplesJson(ex, ctx, spec, bytes, verb as 'classify' | 'regress');
    }, kind === 'flatbuffers' ? flatbuffersError : undefined, recorder);
    return;
  }
  malformed(ex);
}

type Verb = 'predict' | 'classify' | 'regress';

interface PostRoute {
  readonly spec: Readonly<ModelSpec>;
  readonly verb: Verb;
}

/**
 * Parsed POST URLs. Clients post to the same few URLs over and over; the regex, the substrings and
 * decodeURIComponent ran on every request and showed in the REST profile. Bounded: cleared when
 * full. Only successful parses are kept (errors are answered from the regex path every time).
 */
const postRoutes = new Map<string, PostRoute>();
const POST_ROUTES_MAX = 1024;

/** The URL parsed last and its route: a client posting to one URL skips the map's hashing. */
let lastPostUrl = '';
let lastPostRoute: PostRoute | undefined;

function postRoute(ex: Exchange): PostRoute | undefined {
  if (ex.url === lastPostUrl) return lastPostRoute;
  const cached = postRoutes.get(ex.url);
  if (cached) {
    lastPostUrl = ex.url;
    lastPostRoute = cached;
    return cached;
  }
  const m = POST_RE.exec(ex.url);
  // the verb matches case-insensitively but dispatches on the lowercase spelling only
  if (!m || !['predict', 'classify', 'regress'].includes(m[4]!)) {
    malformed(ex);
    return undefined;
  }
  const [, rawName, rawVersion, rawLabel, verb] = m;
  const spec = parseSpec(ex, rawName!, rawVersion, rawLabel);
  if (!spec) return undefined;
  const route: PostRoute = { spec: Object.freeze(spec), verb: verb as Verb };
  if (postRoutes.size >= POST_ROUTES_MAX) postRoutes.clear();
  postRoutes.set(ex.url, route);
  lastPostUrl = ex.url;
  lastPostRoute = route;
  return route;
}

/** FlatBuffers bodies from this size on are received into aligned native memory (zero copy). */
const FLATBUFFERS_ZERO_COPY_MIN_BYTES = 64 * 1024;

/** Bodies allocated by allocAlignedBytes (64-byte aligned native memory). */
const alignedBodies = new WeakSet<ArrayBufferLike>();

function allocAlignedBytes(size: number): Uint8Array {
  const buffer = allocAligned(size);
  alignedBodies.add(buffer);
  return new Uint8Array(buffer);
}

function malformed(ex: Exchange): void {
  ex.sendJson(400, errorBody(`Malformed request: ${ex.method.toUpperCase()} ${ex.url}`));
}

function parseSpec(ex: Exchange, rawName: string, rawVersion?: string, rawLabel?: string): ModelSpec | undefined {
  let name: string;
  let label: string | undefined;
  try {
    name = decodeURIComponent(rawName);
    label = rawLabel === undefined ? undefined : decodeURIComponent(rawLabel);
  } catch {
    ex.sendJson(400, errorBody(`Failed to URL-decode the model name or label in ${ex.url}`));
    return undefined;
  }
  if (rawVersion === undefined) return label === undefined ? { name } : { name, label };
  const big = BigInt(rawVersion);
  if (big > INT64_MAX) {
    ex.sendJson(400, errorBody(`Failed to convert version: ${rawVersion} is not an int64`));
    return undefined;
  }
  if (big > BigInt(Number.MAX_SAFE_INTEGER)) {
    // no version this large can be loaded (directory names past 2^53 are ignored)
    ex.sendError(new JetserveError('NOT_FOUND', `Servable not found for request: Specific(${name}, ${rawVersion})`));
    return undefined;
  }
  return { name, version: Number(big) };
}

/** JSON (TF Serving never checks Content-Type, so curl -d's form type counts) or FlatBuffers. */
function bodyKind(ex: Exchange, verb: Verb): 'json' | 'flatbuffers' | HttpError {
  // the usual values, without mediaType's trim and toLowerCase
  if (ex.contentType === JSON_CONTENT_TYPE || ex.contentType === '') return 'json';
  const type = mediaType(ex.contentType);
  if (type === FLATBUFFERS_CONTENT_TYPE) {
    if (verb !== 'predict') {
      return new HttpError(415, `Content-Type ${type} is only accepted on :predict; send :${verb} requests as JSON`);
    }
    return 'flatbuffers';
  }
  if (isJsonLike(type)) return 'json';
  return new HttpError(
    415,
    `Unsupported Content-Type '${ex.contentType}' for :${verb}: send JSON (application/json)` +
      (verb === 'predict' ? ` or FlatBuffers (${FLATBUFFERS_CONTENT_TYPE})` : ''),
  );
}


async function predictJson(ex: Exchange, ctx: HttpContext, spec: ModelSpec, bytes: Uint8Array): Promise<void> {
  const servable = ctx.models.resolve(spec);
  // large bodies are decoded on the worker pool (same result, same errors), off the event loop
  let request: TfPredictRequest;
  if (ctx.offload?.wants(bytes.byteLength)) {
    request = await ctx.offload.decodeTfPredict(bytes, servable.model);
  } else {
    try {
      request = decodeTfPredict(bytes, servable.model, undefined, ctx.limits);
    } finally {
      // the native codec keeps nothing of the body (its tensors and texts are copies)
      if (jsonCodec() === 'native') requestBodies.release(bytes);
    }
  }
  checkPredictSignature(servable, request.signature);
  const outputs = await servable.run(request.inputs, { signature: request.signature, deadline: ex.deadline });
  // native uWS copies each chunk as it is written: the encoder may reuse chunk memory
  await ex.sendChunks(200, JSON_CONTENT_TYPE, encodeTfPredictChunks(outputs, request, STREAM_CHUNK_CHARS, STREAM_CHUNK_BYTES, ctx.engine.native));
  releaseRequestInputs(servable, request.inputs);
}

/**
 * Whether a JSON predict takes the callback path (predictJsonInline): an identity body of known
 * size that is decoded on this thread (under the offload threshold) by the native codec, which
 * keeps nothing of the body, so a body that arrived in one chunk is decoded in uWS's receive
 * buffer. Everything else (gzip, chunked, offloaded, the TypeScript codec) goes through
 * predictJson, and so do traced requests: their trace reaches the model layer in an
 * AsyncLocalStorage, which promises carry across the body's arrival and uWS's onData callback
 * does not.
 */
function inlinePredict(ex: Exchange, ctx: HttpContext): boolean {
  const size = ex.contentLength;
  return (
    ex.trace === undefined &&
    size !== undefined &&
    ex.contentEncoding === '' &&
    !(ctx.offload?.wants(size) ?? false) &&
    jsonCodec() === 'native'
  );
}

/**
 * predictJson for the bodies inlinePredict picks, as callbacks: body → decode → run → encode →
 * write with no promise of its own (the run's is the only one). Same answers, same errors and the
 * same metrics as respondAsync(predictJson). Measured (bench:rest, tiny MLP, 64 connections,
 * pinned): see src/server/http/README.md "Where a tiny predict's microseconds go".
 */
function predictJsonInline(ex: Exchange, ctx: HttpContext, spec: ModelSpec, recorder: RequestRecorder | undefined): void {
  const started = recorder === undefined ? 0 : performance.now();
  const failed = (err: unknown) => failRequest(ex, ctx, err, undefined, recorder);
  ex.readBody(
    (bytes, transient) => {
      let request: TfPredictRequest;
      let servable: Servable;
      try {
        servable = ctx.models.resolve(spec);
        try {
          request = decodeTfPredict(bytes, servable.model, undefined, ctx.limits);
        } finally {
          // the native codec keeps nothing of the body (its tensors and texts are copies)
          if (!transient) requestBodies.release(bytes);
        }
        checkPredictSignature(servable, request.signature);
      } catch (err) {
        failed(err);
        return;
      }
      const answer = (outputs: Record<string, Tensor>) => {
        let streaming: Promise<void> | undefined;
        try {
          // native uWS copies the body inside send(): the writer's transient bytes will do
          const small = encodeTfPredictSmall(outputs, request, ctx.engine.native);
          if (small !== undefined) {
            ex.send(200, JSON_CONTENT_TYPE, small);
          } else {
            // native uWS copies each chunk as it is written: the encoder may reuse chunk memory
            const chunks = encodeTfPredictChunks(outputs, request, STREAM_CHUNK_CHARS, STREAM_CHUNK_BYTES, ctx.engine.native);
            streaming = ex.writeChunks(200, JSON_CONTENT_TYPE, chunks);
          }
        } catch (err) {
          failed(err);
          return;
        }
        // the answer's text (or its chunk iterator) reads the outputs, not the inputs
        releaseRequestInputs(servable, request.inputs);
        if (streaming === undefined) recorder?.ok(started);
        else streaming.then(() => recorder?.ok(started), failed);
      };
      const options = { signature: request.signature, deadline: ex.deadline };
      try {
        if (servable.runWith !== undefined) {
          servable.runWith(request.inputs, options, (err, outputs) => (outputs === undefined ? failed(err) : answer(outputs)));
        } else {
          servable.run(request.inputs, options).then(answer, failed);
        }
      } catch (err) {
        failed(err);
      }
    },
    failed,
    true,
    requestBodies.alloc,
    requestBodies.take,
  );
}

async function examplesJson(
  ex: Exchange,
  ctx: HttpContext,
  spec: ModelSpec,
  bytes: Uint8Array,
  verb: 'classify' | 'regress',
): Promise<void> {
  const servable: Servable = ctx.models.resolve(spec);
  const request = decodeTfExamples(bytes, verb, servable, ctx.limits);
  const outputs = await servable.run(request.inputs, {
    signature: request.signature,
    outputs: request.outputs,
    deadline: ex.deadline,
  });
  ex.sendJson(200, verb === 'classify' ? encodeTfClassify(outputs, request) : encodeTfRegress(outputs, request));
}

async function predictFlatbuffers(ex: Exchange, ctx: HttpContext, spec: ModelSpec, bytes: Uint8Array): Promise<void> {
  const servable = ctx.models.resolve(spec);
  // in place only when the bytes are the aligned block itself (not a gunzipped copy)
  const zeroCopy = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && !ex.contentEncoding;
  const request = decodeFlatbuffersPredict(bytes, servable.model, zeroCopy && alignedBodies.has(bytes.buffer), ctx.limits);
  const outputs = await servable.run(request.inputs, {
    signature: request.signature,
    outputs: request.outputs,
    deadline: ex.deadline,
  });
  ex.send(200, FLATBUFFERS_CONTENT_TYPE, encodeFlatbuffersPredict(outputs, servable.version, request.signature));
}

/** FlatBuffers clients get errors as a PredictResponse with error_code, under the HTTP status. */
function flatbuffersError(ex: Exchange, err: JetserveError): void {
  ex.send(err.httpStatus, FLATBUFFERS_CONTENT_TYPE, encodeFlatbuffersError(err));
}
