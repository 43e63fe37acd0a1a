// One request inside the batcher: what it asks for, where it is (QUEUED, TAKEN into a batch, or
// EXPIRED at its deadline while queued) and how it is answered.

import type { Tensor } from '../engine/tensor.js';
import { JetserveError } from '../errors.js';

export type Outputs = Record<string, Tensor>;

/** What one request asks the batcher for (the manager's RunOptions). */
export interface BatchRunOptions {
  /** Default "serving_default". */
  signature?: string;
  /** Output filter; default all outputs. */
  outputs?: readonly string[];
  /** Absolute Date.now() ms. A request still queued at its deadline fails DEADLINE_EXCEEDED and never runs. */
  deadline?: number;
  /** The caller gave up (e.g. the gRPC client cancelled): a request not yet run fails CANCELLED and never runs. */
  signal?: AbortSignal;
  /** Called when the request leaves the queue for a run (tracing). */
  onStart?: () => void;
}

export const QUEUED = 0;
export const TAKEN = 1;
export const EXPIRED = 2;

export interface Task {
  inputs: Readonly<Record<string, Tensor>>;
  outputs: readonly string[] | undefined;
  rows: number;
  deadline: number | undefined;
  /** performance.now() at enqueue. */
  enqueuedAt: number;
  onStart: (() => void) | undefined;
  state: typeof QUEUED | typeof TAKEN | typeof EXPIRED;
  resolve: (outputs: Outputs) => void;
  reject: (err: unknown) => void;
}

export function cancelled(): JetserveError {
  return new JetserveError('CANCELLED', 'the caller cancelled the request before it ran');
}

export function deadlineExceeded(): JetserveError {
  return new JetserveError('DEADLINE_EXCEEDED', 'Deadline exceeded while the request was waiting in the batching queue');
}
