// The types every REST route module shares: the context a request is handled in, and what the
// HTTP front end needs from the model manager. server.ts builds the context; the protocol modules
// (tfserving.ts, kserve.ts, repository.ts) and respond.ts only read it.

import type { ReadinessSource, RepositorySource, ShadowSource, StatisticsSource } from '../../models/capabilities.js';
import type { ModelResolver } from '../../models/servable.js';
import type { ServingMetrics } from '../../observability/serving-metrics.js';
import type { LogFn } from '../../observability/logging/levels.js';
import type { RequestLimits } from '../../wire/limits.js';
import type { JsonOffload } from './json-offload.js';
import type { HttpEngineInfo } from './uws.js';

/** What the HTTP front end needs from the model manager (ModelManager implements it). */
export interface HttpModelSource extends ModelResolver, ReadinessSource, StatisticsSource, RepositorySource, ShadowSource {}

/** Shared by the protocol modules: the context a request is handled in. */
export interface HttpContext {
  readonly models: HttpModelSource;
  readonly engine: HttpEngineInfo;
  readonly serverInfo: Record<string, unknown>;
  readonly log: LogFn;
  /** Per-request budgets the decoders enforce (--rest_api_max_tensor_elements, --rest_api_max_json_depth). */
  readonly limits: RequestLimits;
  /** Large-JSON decoding off the event loop (undefined: off). */
  readonly offload: JsonOffload | undefined;
  /** Request metrics (undefined: monitoring off). */
  readonly metrics: ServingMetrics | undefined;
  /** The repository API is served (--enable_model_repository_api): listed in the /v2 extensions. */
  readonly repositoryApi: boolean;
}
