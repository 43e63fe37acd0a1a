// The lossless shutdown sequence (SIGTERM / SIGINT, or JetserveServer.close / drain):
//   1. lame duck: readiness turns false (/v2/health/ready, KServe ServerReady, gRPC health
//      NOT_SERVING) while everything is still served — REST answers carry Connection: close —
//      for the grace period, so load balancers take this replica out;
//   2. the listeners close (a new connection is refused, never accepted and dropped); gRPC
//      connections get GOAWAY; requests in flight are answered, keep-alive REST connections close
//      after their answer — bounded by the drain timeout;
//   3. the remaining connections close and every model unloads (its in-flight runs drained).

import type { ModelManager } from '../models/manager.js';
import type { LogFn } from '../observability/logging/levels.js';
import type { GrpcServer } from '../server/grpc/index.js';
import type { HttpServer } from '../server/http/server.js';

export interface ShutdownParts {
  manager: ModelManager;
  http: HttpServer | undefined;
  grpc: GrpcServer | undefined;
  log: LogFn;
  /** Called first (config polling stops). */
  beforeDrain?: () => void;
  /** Called last (tracing exports what is pending). */
  afterUnload?: () => Promise<void> | undefined;
}

export interface ShutdownTimes {
  /** Lame-duck period in ms (--drain_grace_seconds). */
  graceMs: number;
  /** Bound on finishing requests in flight once the listeners are closed, ms (--drain_timeout_seconds). */
  timeoutMs: number;
}

export async function shutdown(parts: ShutdownParts, times: ShutdownTimes): Promise<void> {
  const { manager, http, grpc, log } = parts;
  parts.beforeDrain?.();
  manager.beginDrain();
  http?.beginDrain();
  grpc?.beginDrain();
  if (times.graceMs > 0) {
    log(`draining: readiness is false; still serving for ${times.graceMs / 1000} s before the listeners close (--drain_grace_seconds)`);
    await new Promise((resolve) => setTimeout(resolve, times.graceMs));
  }
  log(`closing the listeners; finishing ${http?.inFlight ?? 0} REST request(s) in flight (at most ${times.timeoutMs / 1000} s, --drain_timeout_seconds)`);
  const rest = http ? http.stopAccepting().then(() => http.drained(times.timeoutMs)) : Promise.resolve(true);
  const [restDrained] = await Promise.all([rest, grpc?.close(times.timeoutMs)]);
  if (!restDrained) {
    log(`${http?.inFlight ?? 0} REST request(s) still in flight after --drain_timeout_seconds=${times.timeoutMs / 1000}: closing their connections`, 'warn');
  }
  await http?.close(0);
  await manager.close();
  await parts.afterUnload?.();
}
