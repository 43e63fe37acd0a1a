// Plain TCP / unix connections read into one reused buffer instead of a new one per read.
//
// A net.Socket read the ordinary way ('data' events) gets a fresh ArrayBuffer for every read
// (up to 64 KiB) pushed through the Readable stream machinery: a 602 KB ResNet50 request is ~40 of
// them, and at 16 clients they were most of the JS thread's garbage (bench/served-threads.sh, the
// numbers in server.ts: mark-compacts and JS CPU about halved without them). Node's `onread` socket
// option reads into a buffer the caller owns and calls back directly with the byte count. Servers
// have no such option, so the accepted socket (created paused: `pauseOnConnect`, nothing read yet)
// gives its handle to a new net.Socket made with `onread`.
//
// The rule that comes with it: the buffer is overwritten by the next read, of this connection or
// of any other (one buffer serves all of them: callbacks run one at a time on the JS thread).
// Nothing may keep a view of the bytes handed to `onBytes` after it returns — what must outlive
// the read is copied (frames.ts ByteQueue.detach, header-block.ts, message-reader.ts).

import * as net from 'node:net';

/** Bytes per read: fewer callbacks per large message than Node's 64 KiB, one buffer for all connections. */
export const READ_BUFFER_BYTES = 256 * 1024;

/** The net.Socket internals the hand-over touches (as in Node 20 and 24's lib/net.js). */
interface SocketInternals {
  _handle: object | null;
  /** The net.Server whose connection count the socket decrements when destroyed. */
  _server: net.Server | null;
  server: net.Server | null;
}

/**
 * A socket on `accepted`'s handle whose reads land in `buffer` and go to `onBytes` (a view of the
 * bytes read, valid until it returns), or undefined when this Node's sockets do not expose their
 * handle (the caller then reads `accepted` as usual). `accepted` must come from a server created
 * with `pauseOnConnect: true` and must not be used afterwards.
 */
export function adoptWithReusedBuffer(accepted: net.Socket, buffer: Buffer, onBytes: (bytes: Buffer) => void): net.Socket | undefined {
  const old = accepted as unknown as SocketInternals;
  const handle = old._handle;
  if (handle === null || typeof handle !== 'object') return undefined;
  const server = old._server;
  // the old wrapper lets go of the handle and of the server's connection count: it is dropped
  // unclosed (closing it would close the handle), and only the new socket's destroy decrements
  old._handle = null;
  old._server = null;
  const socket = new net.Socket({
    handle,
    readable: true,
    writable: true,
    onread: {
      buffer,
      callback: (nread: number, buf: Uint8Array): boolean => {
        onBytes(Buffer.from(buf.buffer, buf.byteOffset, nread));
        return true; // false would stop reading (backpressure goes through socket.pause())
      },
    },
  } as net.SocketConstructorOpts);
  const adopted = socket as unknown as SocketInternals;
  // net.Server.close() completes and getConnections() counts through these
  adopted._server = server;
  adopted.server = server;
  return socket;
}
