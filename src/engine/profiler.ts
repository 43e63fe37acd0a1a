// TF's profiler server (native/profiler.cc): the backend of the tensorflow.ProfilerService that
// jetserve's gRPC front end proxies (src/server/grpc/profiler.ts). One per process, started on the
// first profiler call of any gRPC server that serves the service and stopped when the last such
// server closes, so no port opens unless someone profiles.
//
// TF binds it to [::]:<port> (every interface; the bind address cannot be narrowed through what
// TF exports): the port is a free one chosen here and is logged when the server starts.

import { createConnection, createServer } from 'node:net';
import { JetserveError } from '../errors.js';
import { native } from './native.js';

/** Ports tried before giving up (a free port can be taken between choosing and binding it). */
const BIND_ATTEMPTS = 3;

/** A gRPC server's hold on the process's profiler server. */
export interface ProfilerLease {
  /** The port TF's profiler server listens on, starting it on first use. */
  port(): Promise<number>;
  /** Gives the hold back; the last one stops the server. Idempotent. */
  release(): Promise<void>;
}

/** Whether this TF library exports the profiler server (the C-only libtensorflow does not). */
export function profilerAvailable(): boolean {
  return native().profilerAvailable();
}

let leases = 0;
let running: Promise<number> | undefined;
let stopping: Promise<void> = Promise.resolve();

/** Takes a hold on the process's profiler server; `log` hears where it listens once it starts. */
export function leaseProfilerServer(log: (message: string) => void): ProfilerLease {
  leases++;
  let released = false;
  return {
    port() {
      if (released) return Promise.reject(new JetserveError('UNAVAILABLE', 'the profiler service is shutting down'));
      running ??= stopping
        .then(() => start(log))
        .catch((err: unknown) => {
          running = undefined; // a later call tries again
          throw err;
        });
      return running;
    },
    async release() {
      if (released) return;
      released = true;
      if (--leases > 0 || !running) return;
      const started = running;
      running = undefined;
      stopping = started.then(
        () => native().stopProfilerServer(),
        () => undefined,
      );
      await stopping;
    },
  };
}

async function start(log: (message: string) => void): Promise<number> {
  if (!profilerAvailable()) {
    throw new JetserveError('UNIMPLEMENTED', 'this TensorFlow library does not export the profiler server (tsl::profiler::ProfilerServer)');
  }
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    native().startProfilerServer(port);
    if (await accepts(port)) {
      log(`TF profiler server listening on [::]:${port} (tensorflow.ProfilerService, proxied from the gRPC port)`);
      return port;
    }
    await native().stopProfilerServer();
    if (attempt >= BIND_ATTEMPTS) {
      throw new JetserveError('UNAVAILABLE', `TF's profiler server could not bind a port (${BIND_ATTEMPTS} attempts)`);
    }
  }
}

/** A port free on every interface (TF binds [::], or 0.0.0.0 without IPv6). */
function freePort(): Promise<number> {
  const on = (host: string) =>
    new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, host, () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
  return on('::').catch(() => on('0.0.0.0'));
}

/** Something accepts TCP connections on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
