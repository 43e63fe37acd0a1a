// Plumbing shared by jetserve's gRPC services: raw-bytes method definitions (each handler decodes
// and encodes its own messages, so decode errors become proper statuses instead of grpc-js's
// generic INTERNAL), the JetserveError → gRPC status mapping, and deadlines.

import * as grpc from '@grpc/grpc-js';
import { asJetserveError, JetserveError } from '../../errors.js';

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

export type Logger = (message: string) => void;

/** The gRPC status for an error: code = the canonical code number, message as TF Serving cuts it. */
export function toStatus(err: unknown, log?: Logger): grpc.ServerErrorResponse {
  const e = asJetserveError(err);
  if (e.code === 'INTERNAL' && log) log(`gRPC internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
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

/** The call's deadline, after checking it has not already passed. */
export function liveDeadline(call: { getDeadline(): grpc.Deadline }): number | undefined {
  const deadline = deadlineOf(call);
  checkDeadline(deadline);
  return deadline;
}

/**
 * A handler answers with the encoded response: one Buffer, or (jetserve's transport only) a list of
 * pieces written in order without being joined.
 */
export type UnaryHandler = (
  request: Buffer,
  call: grpc.ServerUnaryCall<Buffer, Buffer>,
) => Buffer | Buffer[] | Promise<Buffer | Buffer[]>;

/**
 * Wraps a handler: errors (thrown or rejected) become gRPC statuses, and a request whose deadline
 * already passed is answered DEADLINE_EXCEEDED without running.
 */
export function unary(handler: UnaryHandler, log?: Logger): grpc.handleUnaryCall<Buffer, Buffer> {
  return (call, callback) => {
    let result: Buffer | Buffer[] | Promise<Buffer | Buffer[]>;
    try {
      checkDeadline(deadlineOf(call));
      result = handler(call.request, call);
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
