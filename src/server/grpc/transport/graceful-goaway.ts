// A connection's graceful shutdown, in two steps as gRPC servers do it: a GOAWAY with the largest
// stream id and a PING tell the client to open no new streams, while every stream already on its
// way is still served; once the PING's ACK (or a second) shows the client saw it, the final GOAWAY
// names the last stream served. No call a client sent is refused or lost to the race between its
// HEADERS and our GOAWAY.

import * as h2 from './frames.js';

/** The PING payload that follows the first GOAWAY (its ACK means the client saw it). */
const NOTICE_PING = Buffer.from('jetserve');
/** How long to wait for that PING's ACK before the final GOAWAY. */
const PING_TIMEOUT_MS = 1000;
const MAX_STREAM_ID = 0x7fffffff;

export class GracefulGoaway {
  private started = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly write: (frame: Buffer) => void,
    /** Sends the final GOAWAY (last stream served) and closes once the running streams end. */
    private readonly finish: () => void,
  ) {}

  /** Sends the notice (first call only). */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.write(h2.goawayFrame(MAX_STREAM_ID, h2.NO_ERROR));
    this.write(h2.frame(h2.PING, 0, 0, NOTICE_PING));
    this.timer = setTimeout(() => this.done(), PING_TIMEOUT_MS);
    this.timer.unref();
  }

  /** A PING ACK arrived: the client saw the notice when it is ours. */
  pingAck(payload: Buffer): void {
    if (this.started && this.timer !== undefined && payload.equals(NOTICE_PING)) this.done();
  }

  /** The connection closed: no final step. */
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private done(): void {
    this.cancel();
    this.finish();
  }
}
