// Per-request budgets every request decoder enforces before it commits memory for a request's
// data: the number of tensor elements (summed over all inputs) and the JSON nesting depth. The
// decoders count elements while they measure shapes (JSON) or read declared shapes (KServe,
// FlatBuffers, binary tensors) and refuse as soon as a budget is exceeded, before allocating.
//
// Refusals: too many elements is a size budget → RESOURCE_EXHAUSTED, which REST answers 413
// (Payload Too Large; TF Serving's table would say 429, which means "too many requests") and gRPC
// answers RESOURCE_EXHAUSTED. Nesting too deep is a malformed body → INVALID_ARGUMENT (400).
// Both messages name the limit and the flag that sets it.

import { JetserveError } from '../errors.js';

/**
 * Default tensor element budget per request: 4,194,304 (2^22) — 16 times the "normal large"
 * request of 262,144 floats (~3 MB of JSON), 16 MiB as float32. What a request of this size costs
 * (TF-JSON, 2-core VM): ~0.2 s to decode (on the offload pool), ~4 s of event-loop time to encode
 * the same number of output floats (streamed in slices, see src/server/http/README.md).
 */
export const DEFAULT_MAX_TENSOR_ELEMENTS = 4_194_304;

/**
 * Default JSON nesting budget: 256 levels, counting the top-level object as 1. Every tensor TF can
 * hold fits (rank ≤ 254 inside `inputs`; rank 254 row-format instances: object, list, row object
 * and 253 list levels), and every walker stays far from any stack or time limit.
 */
export const DEFAULT_MAX_JSON_DEPTH = 256;

export interface RequestLimits {
  /** Most tensor elements one request may carry, summed over its inputs. */
  readonly maxTensorElements: number;
  /** Deepest JSON nesting a request body may have (the top-level object is depth 1). */
  readonly maxJsonDepth: number;
  /** Flag names quoted in refusals (default: the REST flags). */
  readonly elementsFlag?: string;
  readonly depthFlag?: string;
}

export const DEFAULT_LIMITS: RequestLimits = Object.freeze({
  maxTensorElements: DEFAULT_MAX_TENSOR_ELEMENTS,
  maxJsonDepth: DEFAULT_MAX_JSON_DEPTH,
});

export const REST_ELEMENTS_FLAG = '--rest_api_max_tensor_elements';
export const REST_DEPTH_FLAG = '--rest_api_max_json_depth';

/** A request over a size budget: RESOURCE_EXHAUSTED, answered 413 over REST. */
export class LimitExceededError extends JetserveError {
  constructor(message: string) {
    super('RESOURCE_EXHAUSTED', message);
  }

  override get httpStatus(): number {
    return 413;
  }
}

/** The error for a body nested deeper than the budget. */
export function depthExceeded(limit: number, flag = REST_DEPTH_FLAG): JetserveError {
  return new JetserveError('INVALID_ARGUMENT', `JSON nesting exceeds the limit of ${limit} levels (${flag})`);
}

/** Counts the tensor elements of one request against its budget. */
export class ElementBudget {
  private used = 0;
  readonly limit: number;
  private readonly flag: string;

  constructor(
    limits: RequestLimits = DEFAULT_LIMITS,
    /** What is counted, when not tensor elements (named in the refusal). */
    private readonly counting?: string,
  ) {
    this.limit = limits.maxTensorElements;
    this.flag = limits.elementsFlag ?? REST_ELEMENTS_FLAG;
  }

  /** Elements still allowed. */
  get remaining(): number {
    return this.limit - this.used;
  }

  /** Elements taken so far (a mark for rewind()). */
  get taken(): number {
    return this.used;
  }

  /** Gives back what was taken after `mark` (work that is redone, e.g. a decoding fast path that missed). */
  rewind(mark: number): void {
    this.used = mark;
  }

  /** Takes `count` elements; throws once the request exceeds the budget. `where` details the refusal. */
  take(count: number, where?: string): void {
    if (count > this.limit - this.used) throw this.exceeded(where);
    this.used += count;
  }

  /** The refusal, e.g. where = "input 'x' declares shape [100000000]". */
  exceeded(where?: string): LimitExceededError {
    const detail = where ?? (this.counting ? `counting ${this.counting}` : undefined);
    return new LimitExceededError(
      `request exceeds the limit of ${this.limit} tensor elements per request (${this.flag})${detail ? `: ${detail}` : ''}`,
    );
  }
}
