// The manager's load slots (--num_load_threads): at most that many versions load at once (at
// least one); the others wait their turn in arrival order.

export class LoadSlots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  /** `n` 0 means one at a time (TF Serving's --num_load_threads default). */
  constructor(n: number) {
    this.free = Math.max(1, n);
  }

  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((r) => this.waiting.push(r));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}
