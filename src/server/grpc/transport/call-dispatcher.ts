// What one HTTP/2 connection of the own transport (connection.ts) needs from the server that
// accepted it (server.ts): calls started, messages delivered, unary handlers run, the end of a
// connection reported.

import type { Stream } from './stream.js';

/** What a connection (`C`) needs from the server: calls. */
export interface CallDispatcher<C> {
  /** A gRPC request's headers arrived: find the method, start streaming handlers. */
  startCall(stream: Stream): void;
  /** A request message arrived. */
  deliver(stream: Stream, message: Buffer): void;
  /** A unary / server-streaming request is complete: run its handler. */
  runUnary(stream: Stream): void;
  /** A client- / bidi-streaming request ended. */
  endStreamingInput(stream: Stream): void;
  connectionClosed(conn: C): void;
}
