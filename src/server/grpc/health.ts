// grpc.health.v1.Health: Check and Watch. "" stands for the whole server; the service names are
// the fully-qualified ones plus TF Serving's short "ModelService" / "PredictionService".

import type * as grpc from '@grpc/grpc-js';
import { JetserveError } from '../../errors.js';
import { decodeMessage, encodeMessage } from '../../wire/protobuf/schemas.js';
import { rawMethod, unary, type Logger } from './common.js';

export const HEALTH_SERVICE = 'grpc.health.v1.Health';

export const SERVING_STATUS = { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } as const;
export type ServingStatus = keyof typeof SERVING_STATUS;

export function healthServiceDefinition(): grpc.ServiceDefinition {
  return {
    Check: rawMethod(HEALTH_SERVICE, 'Check'),
    Watch: rawMethod(HEALTH_SERVICE, 'Watch', { response: true }),
  };
}

/** Serving status per service name, with watchers notified on change. */
export class HealthState {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly watchers = new Map<string, Set<(status: ServingStatus) => void>>();

  constructor(services: readonly string[], initial: ServingStatus = 'SERVING') {
    for (const s of ['', ...services]) this.statuses.set(s, initial);
  }

  get(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  set(service: string, status: ServingStatus): void {
    if (this.statuses.get(service) === status) return;
    this.statuses.set(service, status);
    for (const w of this.watchers.get(service) ?? []) w(status);
  }

  /** Sets every service (and the server) at once. */
  setAll(status: ServingStatus): void {
    for (const s of [...this.statuses.keys()]) this.set(s, status);
  }

  watch(service: string, fn: (status: ServingStatus) => void): () => void {
    let set = this.watchers.get(service);
    if (!set) this.watchers.set(service, (set = new Set()));
    set.add(fn);
    return () => set.delete(fn);
  }
}

function response(status: ServingStatus): Buffer {
  return encodeMessage('grpc.health.v1.HealthCheckResponse', { status: SERVING_STATUS[status] });
}

export function healthServiceHandlers(state: HealthState, log?: Logger): grpc.UntypedServiceImplementation {
  return {
    Check: unary((buf) => {
      const { service } = decodeMessage<{ service: string }>('grpc.health.v1.HealthCheckRequest', buf);
      const status = state.get(service);
      if (status === undefined) throw new JetserveError('NOT_FOUND', `unknown service '${service}'`);
      return response(status);
    }, log),
    Watch: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      let service = '';
      try {
        service = decodeMessage<{ service: string }>('grpc.health.v1.HealthCheckRequest', call.request).service;
      } catch {
        call.destroy(new Error('malformed HealthCheckRequest'));
        return;
      }
      let last: ServingStatus | undefined;
      const send = (status: ServingStatus) => {
        if (status === last) return;
        last = status;
        call.write(response(status));
      };
      send(state.get(service) ?? 'SERVICE_UNKNOWN');
      const stop = state.watch(service, send);
      call.on('cancelled', stop);
      call.on('close', stop);
    },
  };
}
