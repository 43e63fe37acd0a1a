// What both gRPC transports do with their listeners and open connections on close: stop accepting
// at once (net.Server.close() would only report once every connection is gone, so it is not
// awaited first), ask each connection to finish (GOAWAY: running calls complete, no new ones),
// wait until the last one has gone or the grace period ends, then destroy what is left.

import type * as net from 'node:net';

export class ListenersAndConnections<C> {
  private readonly listeners: net.Server[] = [];
  private readonly open = new Set<C>();
  private idleWaiters: (() => void)[] = [];

  constructor(
    /** Asks a connection to finish its calls and close (GOAWAY). */
    private readonly goaway: (connection: C) => void,
    /** Closes a connection now, calls and all. */
    private readonly destroy: (connection: C) => void,
  ) {}

  addListener(listener: net.Server): void {
    this.listeners.push(listener);
  }

  opened(connection: C): void {
    this.open.add(connection);
  }

  closed(connection: C): void {
    this.open.delete(connection);
    if (this.open.size === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Stops listening, sends GOAWAY, waits up to graceMs for running calls, then closes everything. */
  async close(graceMs: number): Promise<void> {
    const listenersClosed = Promise.all(this.listeners.map((l) => new Promise<void>((resolve) => l.close(() => resolve()))));
    this.listeners.length = 0;
    for (const c of this.open) this.goaway(c);
    if (this.open.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        this.idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    for (const c of [...this.open]) this.destroy(c);
    await listenersClosed;
  }

  /** Closes listeners and connections now. */
  forceClose(): void {
    for (const l of this.listeners) l.close();
    this.listeners.length = 0;
    for (const c of [...this.open]) this.destroy(c);
  }
}
