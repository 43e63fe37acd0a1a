// The method registry every jetserve-written transport keeps: gRPC path → definition, handler and
// kind, from grpc-js service definitions and implementations.

import type * as grpc from '@grpc/grpc-js';

export type MethodKind = 'unary' | 'serverStream' | 'clientStream' | 'bidi';

export interface Method {
  def: grpc.MethodDefinition<unknown, unknown>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  handler: (...args: any[]) => void;
  kind: MethodKind;
}

/** Adds a service's implemented methods to `methods` (as grpc.Server.addService does). */
export function registerService(
  methods: Map<string, Method>,
  service: grpc.ServiceDefinition,
  implementation: grpc.UntypedServiceImplementation,
): void {
  for (const [name, def] of Object.entries(service)) {
    const handler = implementation[name] ?? implementation[def.originalName ?? ''];
    if (typeof handler !== 'function') continue;
    const kind: MethodKind = def.requestStream
      ? def.responseStream
        ? 'bidi'
        : 'clientStream'
      : def.responseStream
        ? 'serverStream'
        : 'unary';
    methods.set(def.path, { def: def as grpc.MethodDefinition<unknown, unknown>, handler: handler as Method['handler'], kind });
  }
}
