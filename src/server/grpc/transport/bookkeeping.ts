// Small counters a connection keeps about its peer: recently closed stream ids (to tell a frame on
// a closed stream from one on a stream never opened) and events per one-second window (resets).

/** The last `capacity` ids added (a bounded set: memory does not grow with a connection's age). */
export class RecentIds {
  private readonly ids = new Set<number>();
  private readonly order: number[] = [];

  constructor(private readonly capacity: number) {}

  add(id: number): void {
    if (this.ids.has(id)) return;
    this.ids.add(id);
    this.order.push(id);
    if (this.order.length > this.capacity) this.ids.delete(this.order.shift()!);
  }

  has(id: number): boolean {
    return this.ids.has(id);
  }
}

/** Counts events in the current one-second window. */
export class PerSecond {
  private windowStart = 0;
  private count = 0;

  /** Counts one event; returns the count in the current window. */
  add(now = performance.now()): number {
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.count = 0;
    }
    return ++this.count;
  }
}
