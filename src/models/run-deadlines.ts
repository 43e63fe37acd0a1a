// The deadlines of the runs in flight on every model version, under one timer. A timer per run
// (setTimeout + clearTimeout: a Timeout object, a timer-list insert and removal, a closure) would
// be paid on every REST request, whose deadline (--rest_api_timeout_in_ms, 30 s) a tiny run never
// comes near. Here a run is a node of an intrusive doubly linked list (O(1) add and remove, no
// allocation of its own; a Set of the runs instead made every young-generation GC 5-6× slower
// under bench:rest's load, 5-6 ms instead of ~0.9 ms per scavenge, --trace-gc); the one timer is
// armed for the earliest deadline it was told about, and when it fires it fails the runs past
// theirs and re-arms for the earliest left. A run that settles leaves the list; the timer is not
// disarmed (it fires once, finds nothing and stops), and it is unref'd: a run in flight keeps the
// process alive by itself (the engine's pending call or the batcher's timer), never its deadline.

export class RunDeadline {
  /** @internal list links */
  prev: RunDeadline | undefined = undefined;
  next: RunDeadline | undefined = undefined;
  /** @internal in the list */
  linked = false;

  constructor(
    /** Absolute Date.now() ms. */
    readonly deadline: number,
    /** Called once, when the deadline passed before the run settled. */
    readonly expire: () => void,
  ) {}
}

export class RunDeadlines {
  private head: RunDeadline | undefined;
  private tail: RunDeadline | undefined;
  private count = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = Infinity;
  private readonly fire = () => {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = Date.now();
    let next = Infinity;
    let run = this.head;
    while (run !== undefined) {
      const after = run.next;
      if (run.deadline <= now) {
        this.delete(run);
        run.expire();
      } else if (run.deadline < next) {
        next = run.deadline;
      }
      run = after;
    }
    if (next !== Infinity) this.arm(next);
  };

  add(run: RunDeadline): void {
    run.linked = true;
    run.prev = this.tail;
    run.next = undefined;
    if (this.tail) this.tail.next = run;
    else this.head = run;
    this.tail = run;
    this.count++;
    if (run.deadline < this.timerAt) this.arm(run.deadline);
  }

  /** The run settled (or expired): its deadline no longer matters. */
  delete(run: RunDeadline): void {
    if (!run.linked) return;
    run.linked = false;
    const { prev, next } = run;
    if (prev) prev.next = next;
    else this.head = next;
    if (next) next.prev = prev;
    else this.tail = prev;
    run.prev = run.next = undefined;
    this.count--;
  }

  /** Runs watched (tests). */
  get size(): number {
    return this.count;
  }

  private arm(at: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(this.fire, Math.max(0, at - Date.now()));
    this.timer.unref?.();
  }
}
