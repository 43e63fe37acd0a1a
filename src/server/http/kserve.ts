// KServe v2 / Open Inference Protocol REST (reference/peers-kserve-triton.md §1): health, server
// and model metadata, model readiness, Triton's model-configuration extension (so perf_analyzer
// and tritonclient tooling can read a model) and infer with JSON tensors or the binary tensor
// data extension (Inference-Header-Content-Length) and Triton's statistics extension
// (GET /v2/models[/{m}[/versions/{v}]]/stats). Errors are {"error": message}.

import { invalidArgument, JetserveError } from '../../errors.js';
import { JETSERVE_VERSION } from '../../version.js';
import { releaseRequestInputs, type Servable } from '../../models/servable.js';
import { decodeKServeInfer, encodeKServeInfer, jsonCodec, kserveModelMetadata, tritonModelConfig } from './codecs.js';
import { releaseBodyOf, requestBodies } from '../body-pool.js';
import { Exchange, HttpError, JSON_CONTENT_TYPE, STREAM_CHUNK_BYTES, STREAM_CHUNK_CHARS, errorBody } from './exchange.js';
import { respondAsync } from './respond.js';
import type { HttpContext } from './context.js';
import { isJsonLike, mediaType } from './media.js';

const MODEL_RE = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(?:\/(ready|infer|config|stats))?\/?$/;

export const KSERVE_EXTENSIONS = ['binary_tensor_data', 'model_configuration', 'statistics'];


export function handleKServe(ex: Exchange, ctx: HttpContext): void {
  const url = ex.url;
  if (url === '/v2' || url === '/v2/') {
    if (!expectMethod(ex, 'get')) return;
    ex.sendJson(200, serverMetadataJson(ctx));
    return;
  }
  if (url === '/v2/health/live') {
    if (!expectMethod(ex, 'get')) return;
    ex.sendJson(200, '{"live":true}');
    return;
  }
  if (url === '/v2/health/ready') {
    if (!expectMethod(ex, 'get')) return;
    // KServe: the status code carries the answer (200 ready, 4xx not); the body is a courtesy
    const ready = ctx.models.ready();
    ex.sendJson(ready ? 200 : 400, ready ? '{"ready":true}' : '{"ready":false}');
    return;
  }
  if (url === '/v2/models/stats' || url === '/v2/models/stats/') {
    // Triton's route wins over a model named "stats" (as in Triton)
    if (!expectMethod(ex, 'get')) return;
    try {
      ex.sendJson(200, statisticsJson(ctx, undefined, undefined));
    } catch (err) {
      ex.sendError(err);
    }
    return;
  }
  const m = MODEL_RE.exec(url);
  if (!m) {
    ex.sendJson(404, errorBody(`Not found: ${ex.method.toUpperCase()} ${url}`));
    return;
  }
  const [, rawName, rawVersion, action] = m;
  let name: string;
  let versionText: string | undefined;
  try {
    name = decodeURIComponent(rawName!);
    versionText = rawVersion === undefined ? undefined : decodeURIComponent(rawVersion);
  } catch {
    ex.sendJson(400, errorBody(`Failed to URL-decode the model name or version in ${url}`));
    return;
  }
  if (action === 'infer') {
    if (!expectMethod(ex, 'post')) return;
    infer(ex, ctx, name, versionText);
    return;
  }
  if (!expectMethod(ex, 'get')) return;
  try {
    if (action === 'stats') {
      ex.sendJson(200, statisticsJson(ctx, name, versionText));
      return;
    }
    if (action === 'ready') {
      if (!ctx.models.modelNames().includes(name)) throw unknownModel(name, versionText);
      let ready = true;
      try {
        resolve(ctx, name, versionText);
      } catch {
        ready = false;
      }
      ex.sendJson(ready ? 200 : 400, JSON.stringify({ name, ready }));
      return;
    }
    const servable = resolve(ctx, name, versionText);
    if (action === 'config') ex.sendJson(200, tritonModelConfig(servable.name, servable.model));
    else ex.sendJson(200, kserveModelMetadata(servable.name, availableVersions(ctx, servable.name), servable.model));
  } catch (err) {
    ex.sendError(err);
  }
}

function expectMethod(ex: Exchange, method: 'get' | 'post'): boolean {
  if (ex.method === method) return true;
  ex.sendJson(
    405,
    errorBody(`Method ${ex.method.toUpperCase()} is not allowed on ${ex.url}; use ${method.toUpperCase()}`),
    [['Allow', method.toUpperCase()]],
  );
  return false;
}

function unknownModel(name: string, version?: string): JetserveError {
  return new JetserveError(
    'NOT_FOUND',
    version === undefined
      ? `Request for unknown model: '${name}' is not found`
      : `Request for unknown model: '${name}' version ${version} is not found`,
  );
}

/** Resolves with KServe's (Triton's) wording for unknown models and versions. */
function resolve(ctx: HttpContext, name: string, versionText: string | undefined): Servable {
  if (versionText !== undefined && !/^\d+$/.test(versionText)) {
    throw invalidArgument(`Invalid model version '${versionText}': versions are non-negative integers`);
  }
  const version = versionText === undefined ? undefined : Number(versionText);
  try {
    return ctx.models.resolve(version === undefined ? { name } : { name, version });
  } catch (err) {
    if (err instanceof JetserveError && err.code === 'NOT_FOUND') throw unknownModel(name, versionText);
    throw err;
  }
}

/** Triton's statistics response: {"model_stats": [...]}, all models when name is undefined. */
function statisticsJson(ctx: HttpContext, name: string | undefined, versionText: string | undefined): string {
  if (versionText !== undefined && !/^\d+$/.test(versionText)) {
    throw invalidArgument(`Invalid model version '${versionText}': versions are non-negative integers`);
  }
  return JSON.stringify({ model_stats: ctx.models.modelStatistics(name, versionText === undefined ? undefined : Number(versionText)) });
}

function serverMetadataJson(ctx: HttpContext): string {
  return JSON.stringify({
    name: 'jetserve',
    version: JETSERVE_VERSION,
    extensions: ctx.repositoryApi ? [...KSERVE_EXTENSIONS, 'model_repository'] : KSERVE_EXTENSIONS,
    jetserve: {
      http_engine: ctx.engine.name,
      ...(ctx.engine.reason ? { http_engine_fallback_reason: ctx.engine.reason } : {}),
      ...ctx.serverInfo,
    },
  });
}

function availableVersions(ctx: HttpContext, name: string): string[] {
  return ctx.models
    .status(name)
    .filter((s) => s.state === 'AVAILABLE')
    .map((s) => String(s.version));
}

function infer(ex: Exchange, ctx: HttpContext, name: string, versionText: string | undefined): void {
  const headerLength = ex.inferenceHeaderLength;
  let jsonLength: number | undefined;
  if (headerLength !== '') {
    if (!/^\d+$/.test(headerLength)) {
      ex.sendError(new HttpError(400, `Invalid Inference-Header-Content-Length '${headerLength}': expected a byte count`));
      return;
    }
    jsonLength = Number(headerLength);
  } else {
    const type = mediaType(ex.contentType);
    if (type === 'application/octet-stream') {
      ex.sendError(
        new HttpError(
          400,
          'An application/octet-stream infer request needs the Inference-Header-Content-Length header (KServe binary tensor data extension)',
        ),
      );
      return;
    }
    if (!isJsonLike(type)) {
      ex.sendError(
        new HttpError(
          415,
          `Unsupported Content-Type '${ex.contentType}' for infer: send JSON (application/json) or binary tensor data (application/octet-stream with Inference-Header-Content-Length)`,
        ),
      );
      return;
    }
  }
  // bodies are received into reused blocks and given back once decoded (see the finally below)
  const body = ex.receiveBody(requestBodies.alloc, requestBodies.take);
  respondAsync(ex, ctx, async () => {
    const bytes = await ex.decodedBody(body);
    if (jsonLength !== undefined && jsonLength > bytes.byteLength) {
      throw new HttpError(
        400,
        `Inference-Header-Content-Length ${jsonLength} exceeds the request body length ${bytes.byteLength}`,
      );
    }
    const servable = resolve(ctx, name, versionText);
    // large all-JSON bodies are decoded on the worker pool (same result, same errors)
    let request: Awaited<ReturnType<typeof decodeKServeInfer>> | undefined;
    const offloaded = jsonLength === undefined && ctx.offload?.wants(bytes.byteLength) === true;
    try {
      request = offloaded
        ? await ctx.offload!.decodeKServeInfer(bytes, servable.model)
        : decodeKServeInfer(bytes, jsonLength, servable.model, undefined, ctx.limits);
    } catch (err) {
      servable.rejected?.(); // a failed inference of this version in its statistics
      throw err;
    } finally {
      // Nothing decoded keeps the body's bytes when: the native codec decoded an all-JSON body (its
      // tensors and texts are copies), or binary tensor data became numeric tensors (copied into
      // tensors of their own; BYTES elements would be views into the body, so those keep it).
      // A ResNet50 image (602 KB) per request as a fresh buffer each was a third of the external
      // memory that set off V8's mark-compacts every ~0.5 s under bench:resnet50.
      if (offloaded) {
        // the body went to the worker
      } else if (jsonLength === undefined) {
        if (jsonCodec() === 'native') requestBodies.release(bytes);
      } else if (request !== undefined) {
        releaseBodyOf(bytes, request.inputs);
      }
    }
    const outputs = await servable.run(request.inputs, {
      signature: request.signature,
      outputs: request.outputs,
      deadline: ex.deadline,
    });
    // native uWS copies each chunk as it is written: the encoder may reuse chunk memory
    const reply = encodeKServeInfer(outputs, request, servable.name, servable.version, STREAM_CHUNK_CHARS, STREAM_CHUNK_BYTES, ctx.engine.native);
    if ('chunks' in reply) {
      await ex.sendChunks(200, JSON_CONTENT_TYPE, reply.chunks);
    } else {
      ex.send(200, 'application/octet-stream', reply.body, [['Inference-Header-Content-Length', String(reply.jsonLength)]]);
    }
    releaseRequestInputs(servable, request.inputs);
  }, undefined, ctx.metrics?.request(name, 'infer', 'REST'));
}
