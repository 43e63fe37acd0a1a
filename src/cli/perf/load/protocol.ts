// Messages between the coordinator (main thread) and the load workers. Time is the process's
// monotonic clock (process.hrtime, shared by every thread) in µs since the coordinator's `baseNs`.

import type { WirePlan } from '../requests.js';

export interface InitMessage {
  type: 'init';
  plan: WirePlan;
  timeoutMs: number;
  baseNs: bigint;
}

export type LoadShape =
  | { mode: 'closed'; clients: number }
  | { mode: 'open'; rate: number; distribution: 'constant' | 'poisson'; maxInflight: number; phaseUs: number };

export interface StartMessage {
  type: 'start';
  load: LoadShape;
  /** Window 0 starts here (µs since base); completions before it are warm-up. */
  originUs: number;
  windowUs: number;
  /** First request index this worker sends (workers start at different requests). */
  firstRequest: number;
}

export interface StopMessage {
  type: 'stop';
}

export type ToWorker = InitMessage | StartMessage | StopMessage;

/** What one worker saw in one window (index -1: the warm-up). */
export interface WindowReport {
  type: 'window';
  index: number;
  /** Latencies (µs) of the successful requests that completed in the window. */
  samples: Float64Array;
  ok: number;
  errors: Record<string, number>;
  /** One message per error code (the first seen). */
  messages: Record<string, string>;
  /** Open loop: sends due in the window, and how many went out more than 5 ms late. */
  due: number;
  late: number;
  /** Event-loop utilization of the worker over the window (0-1). */
  elu: number;
}

export type FromWorker =
  | { type: 'ready' }
  | { type: 'fatal'; message: string }
  | WindowReport
  | { type: 'stopped' };
