// The administrative gRPC methods (Triton's repository RPCs with --enable_model_repository_api,
// HandleReloadConfigRequest with --enable_reload_config_api) answer only callers the AdminAuth
// admits: `authorization: Bearer <token>` metadata, or a loopback / unix-socket peer with
// --admin_allow_loopback_without_token. Others get UNAUTHENTICATED naming what is missing, before
// the request is decoded. Methods that are off are not wrapped: they keep answering UNIMPLEMENTED
// naming their flag.

import type * as grpc from '@grpc/grpc-js';
import type { AdminAuth } from '../admin-auth.js';
import { toStatus } from './common.js';

export const REPOSITORY_METHODS: readonly string[] = [
  '/inference.GRPCInferenceService/RepositoryIndex',
  '/inference.GRPCInferenceService/RepositoryModelLoad',
  '/inference.GRPCInferenceService/RepositoryModelUnload',
];
export const RELOAD_METHODS: readonly string[] = ['/tensorflow.serving.ModelService/HandleReloadConfigRequest'];

type UnaryCall = grpc.ServerUnaryCall<Buffer, Buffer>;

function guard(handler: grpc.handleUnaryCall<Buffer, Buffer>, auth: AdminAuth): grpc.handleUnaryCall<Buffer, Buffer> {
  return (call: UnaryCall, callback) => {
    const authorization = call.metadata?.get('authorization')[0];
    const denied = auth.check(typeof authorization === 'string' ? authorization : undefined, () => call.getPeer());
    if (denied) {
      callback(toStatus(denied));
      return;
    }
    handler(call, callback);
  };
}

/** Makes `server.addService` guard the listed unary methods of the services added after this call. */
export function guardAdminMethods(server: Pick<grpc.Server, 'addService'>, auth: AdminAuth, paths: ReadonlySet<string>): void {
  if (paths.size === 0) return;
  const add = server.addService.bind(server);
  server.addService = (definition, handlers) => {
    let out: grpc.UntypedServiceImplementation | undefined;
    for (const [key, method] of Object.entries(definition)) {
      if (!paths.has(method.path) || method.requestStream || method.responseStream) continue;
      const name = handlers[key] ? key : method.originalName;
      const handler = name ? handlers[name] : undefined;
      if (typeof handler !== 'function') continue;
      out ??= { ...handlers };
      out[name!] = guard(handler as grpc.handleUnaryCall<Buffer, Buffer>, auth);
    }
    add(definition, out ?? handlers);
  };
}
