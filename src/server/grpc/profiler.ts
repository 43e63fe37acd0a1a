// tensorflow.ProfilerService on jetserve's gRPC port, as TF Serving registers it (--enable_profiler,
// default true): every method is forwarded, bytes unchanged, to TF's own profiler server
// (src/engine/profiler.ts), started on first use; status codes and messages come back unchanged.
// So tf.profiler.experimental.client.trace('grpc://host:8500', logdir, duration_ms) traces the TF
// runs of the models this server serves. As with TF Serving, the trace files are written by the
// server, under the logdir the client names. A call cancelled by its client is cancelled upstream
// (TF's Profile stops early).
//
// Off (--enable_profiler=false), or with a TF library that does not export the profiler server,
// every method answers UNIMPLEMENTED saying which.

import * as grpc from '@grpc/grpc-js';
import { JetserveError } from '../../errors.js';
import { leaseProfilerServer, profilerAvailable, type ProfilerLease } from '../../engine/profiler.js';
import { rawMethod, unary, type CallContext, type Logger } from './common.js';

export const PROFILER_SERVICE = 'tensorflow.ProfilerService';

/** The service's methods in TF 2.21 (tsl/profiler/protobuf/profiler_service.proto); all unary. */
const METHODS = ['Profile', 'Terminate', 'Monitor', 'StartContinuousProfiling', 'StopContinuousProfiling', 'GetSnapshot'];

const identity = (b: Buffer): Buffer => b;

export function profilerServiceDefinition(): grpc.ServiceDefinition {
  return Object.fromEntries(METHODS.map((m) => [m, rawMethod(PROFILER_SERVICE, m)]));
}

export interface ProfilerProxy {
  readonly handlers: grpc.UntypedServiceImplementation;
  /** Releases TF's profiler server (the last server to close stops it). */
  close(): Promise<void>;
}

export interface ProfilerProxyOptions {
  /** false: every method answers UNIMPLEMENTED saying why (offReason). */
  enabled: boolean;
  /** Why the service is off. Default: --enable_profiler=false. */
  offReason?: string;
  /** Largest response passed back (the server's --grpc_max_message_size). */
  maxMessageSize: number;
  log: Logger;
}

export function profilerProxy(options: ProfilerProxyOptions): ProfilerProxy {
  const refusal = !options.enabled
    ? `the profiler service is off (${options.offReason ?? '--enable_profiler=false'})`
    : !profilerAvailable()
      ? 'the profiler service is unavailable: this TensorFlow library does not export the profiler server (tsl::profiler::ProfilerServer)'
      : undefined;
  if (refusal) {
    const refuse = unary(() => {
      throw new JetserveError('UNIMPLEMENTED', refusal);
    }, options.log);
    return { handlers: Object.fromEntries(METHODS.map((m) => [m, refuse])), close: () => Promise.resolve() };
  }

  const lease: ProfilerLease = leaseProfilerServer(options.log);
  let client: { port: number; client: grpc.Client } | undefined;
  const upstream = async (): Promise<grpc.Client> => {
    const port = await lease.port();
    if (client?.port !== port) {
      client?.client.close();
      client = {
        port,
        client: new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
          'grpc.max_receive_message_length': options.maxMessageSize,
          'grpc.max_send_message_length': options.maxMessageSize,
        }),
      };
    }
    return client.client;
  };

  const forward = (method: string) =>
    unary(async (request: Buffer, context: CallContext): Promise<Buffer> => {
      const c = await upstream();
      context.checkLive();
      return new Promise<Buffer>((resolve, reject) => {
        const callOptions: grpc.CallOptions = context.deadline !== undefined ? { deadline: context.deadline } : {};
        const call = c.makeUnaryRequest(
          `/${PROFILER_SERVICE}/${method}`,
          identity,
          identity,
          request,
          new grpc.Metadata(),
          callOptions,
          (err, response) => {
            context.signal.removeEventListener('abort', cancel);
            if (err) reject(JetserveError.fromTfCode(err.code, err.details));
            else resolve(response!);
          },
        );
        const cancel = () => call.cancel();
        context.signal.addEventListener('abort', cancel, { once: true });
      });
    }, options.log);

  return {
    handlers: Object.fromEntries(METHODS.map((m) => [m, forward(m)])),
    async close() {
      client?.client.close();
      client = undefined;
      await lease.release();
    },
  };
}
