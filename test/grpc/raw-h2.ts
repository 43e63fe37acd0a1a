// A raw HTTP/2 client for tests that must send what no well-behaved client sends (Rapid Reset,
// floods, huge header blocks, lying length prefixes): frames built byte by byte, frames received
// parsed just enough to see SETTINGS, RST_STREAM, HEADERS and GOAWAY.

import * as net from 'node:net';
import { encodeHeaderBlock } from '../../src/server/grpc/transport/hpack.js';

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const T = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
export const ENHANCE_YOUR_CALM = 11;

export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const out = Buffer.alloc(9 + payload.length);
  out.writeUIntBE(payload.length, 0, 3);
  out[3] = type;
  out[4] = flags;
  out.writeUInt32BE(streamId, 5);
  payload.copy(out, 9);
  return out;
}

/** HEADERS (END_HEADERS) of a gRPC POST to `path`, with extra header fields. */
export function grpcHeaders(streamId: number, path: string, extra: [string, string][] = [], endStream = false): Buffer {
  const block = encodeHeaderBlock([
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', path],
    [':authority', 'localhost'],
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
    ...extra,
  ]);
  return frame(T.HEADERS, 0x4 | (endStream ? 1 : 0), streamId, block);
}

/** A gRPC length-prefixed message: flag 0 (uncompressed), big-endian length, the bytes. */
export function lengthPrefixed(message: Buffer): Buffer {
  const payload = Buffer.alloc(5 + message.length);
  payload.writeUInt32BE(message.length, 1);
  message.copy(payload, 5);
  return payload;
}

/** One gRPC length-prefixed message in a DATA frame. */
export function grpcData(streamId: number, message: Buffer, endStream = true): Buffer {
  return frame(T.DATA, endStream ? 1 : 0, streamId, lengthPrefixed(message));
}

export function rstStream(streamId: number, code = 8): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(code);
  return frame(T.RST_STREAM, 0, streamId, p);
}

export interface ReceivedFrame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

/** A connected raw client: `frames` collects what the server sent, `closed` resolves on close. */
export interface RawConnection {
  socket: net.Socket;
  frames: ReceivedFrame[];
  closed: Promise<void>;
  /** The GOAWAY error code received, if any. */
  goawayCode(): number | undefined;
  goawayText(): string;
}

export async function rawConnect(port: number, host = '127.0.0.1', options: { read?: boolean } = {}): Promise<RawConnection> {
  const socket = net.connect(port, host);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => {});
  const frames: ReceivedFrame[] = [];
  let pending: Buffer = Buffer.alloc(0);
  const parse = (chunk: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= 9) {
      const len = pending.readUIntBE(0, 3);
      if (pending.length < 9 + len) break;
      frames.push({ type: pending[3]!, flags: pending[4]!, streamId: pending.readUInt32BE(5) & 0x7fffffff, payload: Buffer.from(pending.subarray(9, 9 + len)) });
      pending = pending.subarray(9 + len);
    }
  };
  socket.on('data', parse);
  if (options.read === false) socket.pause();
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write(Buffer.concat([PREFACE, frame(T.SETTINGS, 0, 0)]));
  const goaway = () => frames.find((f) => f.type === T.GOAWAY);
  return {
    socket,
    frames,
    closed,
    goawayCode: () => goaway()?.payload.readUInt32BE(4),
    goawayText: () => goaway()?.payload.subarray(8).toString() ?? '',
  };
}
