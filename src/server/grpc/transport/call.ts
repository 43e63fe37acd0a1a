// The call object handlers see on jetserve's own transport, shaped like grpc-js's server calls
// (request, metadata, getDeadline, write/end/destroy, 'data'/'end'/'cancelled'/'close' events), so
// grpc-js service implementations (jetserve's handlers, @grpc/reflection) run unchanged.

import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { OK_STATUS, statusOf, type CallStatus } from '../call-status.js';
import { metadataFromFields } from '../metadata.js';
import type { Method } from '../methods.js';

const Status = grpc.status;

/** What a call needs from its HTTP/2 stream. */
export interface CallStream {
  readonly deadline: number | undefined;
  readonly peer: string;
  readonly authority: string;
  readonly metadataFields: readonly (readonly [string, string])[];
  sendHeaders(): void;
  addResponseMetadata(name: string, value: string): void;
  sendMessage(bytes: Buffer | Buffer[]): void;
  sendUnaryResponse(bytes: Buffer | Buffer[]): void;
  sendStatus(status: CallStatus): void;
}

export class TransportCall extends EventEmitter {
  request: unknown = undefined;
  cancelled = false;
  private md: grpc.Metadata | undefined;
  private finished = false;
  private closed = false;

  constructor(
    private readonly stream: CallStream,
    private readonly method: Method,
  ) {
    super();
  }

  /** Request metadata: every header except pseudo-headers and transport control headers. */
  get metadata(): grpc.Metadata {
    return (this.md ??= metadataFromFields(this.stream.metadataFields));
  }

  getDeadline(): grpc.Deadline {
    return this.stream.deadline ?? Infinity;
  }

  getPeer(): string {
    return this.stream.peer;
  }

  getPath(): string {
    return this.method.def.path;
  }

  getHost(): string {
    return this.stream.authority;
  }

  getAuthContext(): object {
    return {};
  }

  getMetricsRecorder(): undefined {
    return undefined;
  }

  /**
   * grpc-js's sendMetadata: with metadata, its (text) entries join the response headers, which leave
   * with the first response bytes (a unary answer stays one write); without, the headers leave now.
   */
  sendMetadata(md?: grpc.Metadata): void {
    if (!md) {
      this.stream.sendHeaders();
      return;
    }
    for (const [name, values] of Object.entries(md.toHttp2Headers())) {
      for (const v of Array.isArray(values) ? values : [values]) if (v !== undefined) this.stream.addResponseMetadata(name, String(v));
    }
  }

  /** Adds one response header (metadata) entry; the cheap path for the request id and traceparent. */
  addResponseHeader(name: string, value: string): void {
    this.stream.addResponseMetadata(name, value);
  }

  /** A request header (metadata) value by lower-case name, without building grpc.Metadata. */
  header(name: string): string | undefined {
    for (const [k, v] of this.stream.metadataFields) if (k === name) return v;
    return undefined;
  }

  /** Sends a response message (streaming calls). */
  write(value: unknown, cb?: () => void): boolean {
    if (this.finished || this.cancelled) return false;
    let bytes: Buffer | Buffer[];
    try {
      bytes = this.method.def.responseSerialize(value) as Buffer | Buffer[];
    } catch (err) {
      this.finish({ code: Status.INTERNAL, details: `Error serializing response: ${(err as Error).message}` });
      return false;
    }
    this.stream.sendMessage(bytes);
    if (cb) process.nextTick(cb);
    return true;
  }

  /** Ends a streaming call with OK. */
  end(cb?: () => void): this {
    this.finish(OK_STATUS);
    if (cb) process.nextTick(cb);
    return this;
  }

  /** Ends the call with an error status (or CANCELLED). */
  destroy(err?: Error): this {
    this.finish(err ? statusOf(err) : { code: Status.CANCELLED, details: 'Cancelled on the server' });
    return this;
  }

  /** Unary / client-streaming completion. */
  respond(err: unknown, value?: unknown): void {
    if (err) {
      this.finish(statusOf(err));
      return;
    }
    let bytes: Buffer | Buffer[];
    try {
      bytes = this.method.def.responseSerialize(value) as Buffer | Buffer[];
    } catch (e) {
      this.finish({ code: Status.INTERNAL, details: `Error serializing response: ${(e as Error).message}` });
      return;
    }
    if (this.finished || this.cancelled) return;
    this.finished = true;
    this.stream.sendUnaryResponse(bytes);
    this.emitClose();
  }

  finish(status: CallStatus): void {
    if (this.finished) return;
    this.finished = true;
    if (!this.cancelled) this.stream.sendStatus(status);
    this.emitClose();
  }

  /** The call will not be answered (RST_STREAM, deadline, connection loss). */
  cancel(): void {
    if (this.cancelled || this.finished) return;
    this.cancelled = true;
    this.emit('cancelled', 'cancelled');
    this.emitClose();
  }

  /** The request's input failed (streaming handlers listen for 'error'). */
  inputFailed(status: CallStatus): void {
    if (this.listenerCount('error') > 0) this.emit('error', Object.assign(new Error(status.details), { code: status.code }));
  }

  private emitClose(): void {
    if (this.closed) return;
    this.closed = true;
    process.nextTick(() => this.emit('close'));
  }

  // Readable-ish surface for client/bidi streaming handlers (messages are never held back)
  pause(): this {
    return this;
  }
  resume(): this {
    return this;
  }
}
