// Plumbing shared by jetserve's gRPC services: raw-bytes method definitions (each handler decodes
// and encodes its own messages, so decode errors become proper statuses instead of grpc-js's
// generic INTERNAL), the JetserveError → gRPC status mapping, and deadlines.

import * as grpc from '@grpc/grpc-js';
import { asJetserveError, JetserveError } from '../../errors.js';
import { requestMetadataOf, type RequestMetadata } from './metadata.js';
import type { LogFn } from '../../observability/logging/levels.js';

/** TF Serving cuts status messages at this length and appends "...TRUNCATED". */
const MAX_MESSAGE = 1024;

const identity = (b: Buffer): Buffer => b;

/** A method whose request and response are already-encoded message bytes. */
export function rawMethod(
  service: string,
  name: string,
  streams: { request?: boolean; response?: boolean } = {},
): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path: `/${service}/${name}`,
    requestStream: streams.request ?? false,
    responseStream: streams.response ?? false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
    originalName: name[0]!.toLowerCase() + name.slice(1),
  };
}

export type Logger = LogFn;

/** The gRPC status for an error: code = the canonical code number, message as TF Serving cuts it. */
export function toStatus(err: unknown, log?: Logger): grpc.ServerErrorResponse {
  const e = asJetserveError(err);
  if (e.code === 'INTERNAL' && log) log(`gRPC internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`, 'error');
  let details = e.message;
  if (details.length > MAX_MESSAGE) details = `${details.slice(0, MAX_MESSAGE)}...TRUNCATED`;
  return Object.assign(new Error(details), { code: e.grpcCode, details });
}

/** The call's deadline as a Date.now() timestamp, or undefined when the client set none. */
export function deadlineOf(call: { getDeadline(): grpc.Deadline }): number | undefined {
  const d = call.getDeadline();
  if (d instanceof Date) return d.getTime();
  return typeof d === 'number' && Number.isFinite(d) ? d : undefined;
}

export function deadlineExceeded(): JetserveError {
  return new JetserveError('DEADLINE_EXCEEDED', 'Deadline exceeded: the request expired before it could run');
}

/** Throws DEADLINE_EXCEEDED when the deadline already passed. */
export function checkDeadline(deadline: number | undefined): void {
  if (deadline !== undefined && deadline <= Date.now()) throw deadlineExceeded();
}

/** What a handler knows about its call besides the request bytes — the same on every transport. */
export interface CallContext {
  /** Request metadata (headers), typed. */
  readonly metadata: RequestMetadata;
  /** Date.now() ms, or undefined when the client set no deadline. */
  readonly deadline: number | undefined;
  /**
   * Aborted when the client cancels the call (RST_STREAM, connection loss) or its deadline
   * passes. Handed to Servable.run: a call cancelled while queued for a batch is dropped.
   */
  readonly signal: AbortSignal;
  /** Throws CANCELLED / DEADLINE_EXCEEDED when the call is no longer wanted (before expensive work). */
  checkLive(): void;
}

type ContextCall = { getDeadline(): grpc.Deadline; readonly metadata?: grpc.Metadata; readonly cancelled?: boolean } & Pick<
  NodeJS.EventEmitter,
  'once'
>;

/** A call's context; metadata and signal are built on first use only. */
class LazyCallContext implements CallContext {
  readonly deadline: number | undefined;
  private md: RequestMetadata | undefined;
  private controller: AbortController | undefined;

  constructor(private readonly call: ContextCall) {
    this.deadline = deadlineOf(call);
  }

  get metadata(): RequestMetadata {
    return (this.md ??= requestMetadataOf(this.call));
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      const controller = new AbortController();
      this.controller = controller;
      if (this.call.cancelled) controller.abort();
      else this.call.once('cancelled', () => controller.abort());
    }
    return this.controller.signal;
  }

  checkLive(): void {
    if (this.call.cancelled || this.controller?.signal.aborted) throw new JetserveError('CANCELLED', 'the client cancelled the call');
    checkDeadline(this.deadline);
  }
}

export function callContext(call: ContextCall): CallContext {
  return new LazyCallContext(call);
}

/**
 * A handler answers with the encoded response: one Buffer, or a list of pieces written in order
 * (jetserve's transports write them without joining; grpc-js's joins them).
 */
export type UnaryHandler = (request: Buffer, context: CallContext) => Buffer | Buffer[] | Promise<Buffer | Buffer[]>;

/**
 * Wraps a handler: errors (thrown or rejected) become gRPC statuses, and a request whose deadline
 * already passed (or that was cancelled) is answered without running.
 */
export function unary(handler: UnaryHandler, log?: Logger): grpc.handleUnaryCall<Buffer, Buffer> {
  return (call, callback) => {
    let result: Buffer | Buffer[] | Promise<Buffer | Buffer[]>;
    try {
      const context = callContext(call);
      context.checkLive();
      result = handler(call.request, context);
    } catch (err) {
      callback(toStatus(err, log));
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (response) => callback(null, response as Buffer),
        (err: unknown) => callback(toStatus(err, log)),
      );
    } else {
      callback(null, result as Buffer);
    }
  };
}
