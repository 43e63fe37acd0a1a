// The KServe / Triton model repository extension over the model manager, in Triton's request and
// response shapes (so tritonclient's get_model_repository_index / load_model / unload_model work):
//   POST /v2/repository/index                    → [{name, version, state, reason}]  ({"ready": true} filters)
//   POST /v2/repository/models/{m}/load          → 200 {} once the model's versions are AVAILABLE
//   POST /v2/repository/models/{m}/unload        → 200 {} once its versions drained and unloaded
// Administrative, so the server only routes here when started with --enable_model_repository_api.
// "Load" re-enables a configured model, or — with --model_repository — adds a model directory that
// is not served yet; the index lists the repository's directories that are not loaded as UNAVAILABLE.

import { JetserveError } from '../../errors.js';
import { Exchange, HttpError, errorBody } from './exchange.js';
import { respondAsync } from './respond.js';
import type { HttpContext } from './context.js';

const MODEL_ACTION_RE = /^\/v2\/repository\/models\/([^/]+)\/(load|unload)\/?$/;

export function handleRepository(ex: Exchange, ctx: HttpContext): void {
  if (!ctx.repositoryApi) {
    ex.sendJson(404, errorBody(`Not found: ${ex.method.toUpperCase()} ${ex.url} (the model repository API is disabled; start jetserve with --enable_model_repository_api)`));
    return;
  }
  const repo = ctx.models;
  if (ex.method !== 'post') {
    ex.sendJson(405, errorBody(`Method ${ex.method.toUpperCase()} is not allowed on ${ex.url}; use POST`), [['Allow', 'POST']]);
    return;
  }
  const url = ex.url.split('?')[0]!;
  const body = ex.receiveBody();
  respondAsync(ex, ctx, async () => {
    const bytes = await ex.decodedBody(body);
    let request: { ready?: unknown; parameters?: unknown } = {};
    if (bytes.byteLength > 0) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
      } catch {
        throw new HttpError(400, `failed to parse the request JSON of ${url}`);
      }
      if (!isObject(parsed)) throw new HttpError(400, `the request body of ${url} must be a JSON object`);
      request = parsed;
    }
    if (request.parameters !== undefined && !isObject(request.parameters)) {
      throw new HttpError(400, `'parameters' in the request body of ${url} must be a JSON object`);
    }
    const parameterNames = request.parameters ? Object.keys(request.parameters) : [];
    if (url === '/v2/repository/index' || url === '/v2/repository/index/') {
      let index = repo.repositoryIndex();
      if (request.ready === true) index = index.filter((m) => m.state === 'READY');
      ex.sendJson(200, JSON.stringify(index));
      return;
    }
    const m = MODEL_ACTION_RE.exec(url);
    if (!m) throw new HttpError(404, `Not found: POST ${url}`);
    let name: string;
    try {
      name = decodeURIComponent(m[1]!);
    } catch {
      throw new HttpError(400, `Failed to URL-decode the model name in ${url}`);
    }
    try {
      if (m[2] === 'load') await repo.repositoryLoad(name, parameterNames);
      else await repo.repositoryUnload(name);
    } catch (err) {
      // Triton answers repository failures with 400 and {"error": …}
      if (err instanceof JetserveError) throw new HttpError(400, err.message);
      throw err;
    }
    ex.sendJson(200, '{}');
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
