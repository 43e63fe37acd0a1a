// The request timeouts of one HTTP server (Exchange.armTimeout), under one timer.

import { performance } from 'node:perf_hooks';

/** What the list needs of an entry: its links, its deadline, and what to do when it passes. */
export interface TimedEntry<T> {
  timeoutPrev: T | undefined;
  timeoutNext: T | undefined;
  timeoutArmed: boolean;
  /** performance.now() at which the timeout fires. */
  timeoutAt: number;
  timedOut(): void;
}

/**
 * The server's armed request timeouts, oldest first. Every exchange of a server has the same
 * timeout, so arrival order is deadline order: an intrusive doubly linked list (O(1) add and
 * remove, no allocation) and one timer for the head replace a setTimeout/clearTimeout pair per
 * request. The timer is re-armed lazily: when it fires early (its exchange finished), it re-arms
 * for the current head. Times are monotonic (performance.now()), as setTimeout's are.
 */
export class TimeoutList<T extends TimedEntry<T>> {
  private head: T | undefined;
  private tail: T | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly fire = () => this.expire();

  add(ex: T): void {
    ex.timeoutArmed = true;
    ex.timeoutPrev = this.tail;
    ex.timeoutNext = undefined;
    if (this.tail) this.tail.timeoutNext = ex;
    else this.head = ex;
    this.tail = ex;
    if (this.timer === undefined) this.arm(ex.timeoutAt);
  }

  remove(ex: T): void {
    ex.timeoutArmed = false;
    const { timeoutPrev: prev, timeoutNext: next } = ex;
    if (prev) prev.timeoutNext = next;
    else this.head = next;
    if (next) next.timeoutPrev = prev;
    else this.tail = prev;
    ex.timeoutPrev = ex.timeoutNext = undefined;
    // the timer stays armed when the list empties: it fires once, finds nothing and stops
  }

  private arm(at: number): void {
    this.timer = setTimeout(this.fire, Math.max(0, at - performance.now()));
    this.timer.unref?.();
  }

  private expire(): void {
    this.timer = undefined;
    const now = performance.now();
    let ex = this.head;
    while (ex && ex.timeoutAt <= now) {
      this.remove(ex);
      ex.timedOut();
      ex = this.head;
    }
    if (ex && this.timer === undefined) this.arm(ex.timeoutAt);
  }
}
