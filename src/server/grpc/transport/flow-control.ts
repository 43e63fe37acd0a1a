// HTTP/2 flow control (RFC 9113 §5.2, §6.9): the window the peer gives us for sending and the
// window we give the peer, replenished with WINDOW_UPDATE once half of it is used.

export const DEFAULT_WINDOW = 65535;
export const MAX_WINDOW = 2 ** 31 - 1;

/** How much we may still send (the peer's window for us). */
export class SendWindow {
  constructor(public size: number) {}

  /** A WINDOW_UPDATE increment (or a SETTINGS_INITIAL_WINDOW_SIZE delta); false when the window would pass 2^31-1. */
  grow(increment: number): boolean {
    this.size += increment;
    return this.size <= MAX_WINDOW;
  }

  consume(bytes: number): void {
    this.size -= bytes;
  }
}

/** What the peer may still send us; tells when to send a WINDOW_UPDATE. */
export class ReceiveWindow {
  private unacknowledged = 0;
  private remaining: number;

  constructor(readonly size: number) {
    this.remaining = size;
  }

  /**
   * `bytes` of flow-controlled payload arrived. Returns false when the peer sent more than the
   * window allowed (FLOW_CONTROL_ERROR).
   */
  receive(bytes: number): boolean {
    this.remaining -= bytes;
    this.unacknowledged += bytes;
    return this.remaining >= 0;
  }

  /** The increment to announce now (0: not yet, less than half the window is used). */
  takeUpdate(): number {
    if (this.unacknowledged < this.size / 2) return 0;
    const inc = this.unacknowledged;
    this.unacknowledged = 0;
    this.remaining += inc;
    return inc;
  }
}
