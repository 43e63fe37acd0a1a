// Pieces the gRPC abuse probes (test/abuse/grpc-*.test.ts) share: a well-behaved Predict client
// for the demo model, the attacker's flood loop, and reading a trailers-only gRPC answer off a raw
// connection.

import * as grpc from '@grpc/grpc-js';
import { HpackDecoder } from '../../src/server/grpc/transport/hpack.js';
import { predictRequest } from '../helpers/grpc-requests.js';
import { T, type RawConnection } from './raw-h2.js';

export const PREDICT = '/tensorflow.serving.PredictionService/Predict';
const identity = (b: Buffer) => b;

/** Predict on the demo model (half_plus_two, x = [1, 2, 3]); checks the answer's size. */
export function demoPredictClient(port: number): { call(): Promise<void>; close(): void } {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const request = predictRequest('half_plus_two', { x: { dtype: 'float32', shape: [3], data: new Float32Array([1, 2, 3]) } });
  return {
    call: () =>
      new Promise<void>((resolve, reject) =>
        client.makeUnaryRequest(PREDICT, identity, identity, request, new grpc.Metadata(), { deadline: Date.now() + 10_000 }, (e, r) =>
          e ? reject(e) : r && r.length > 0 ? resolve() : reject(new Error('empty answer')),
        ),
      ),
    close: () => client.close(),
  };
}

/**
 * Writes `make(i)` frames until `count` were written, `ms` passed or the connection closed; waits
 * for 'drain' when the socket buffers (a server that stops reading stops the flood). Returns how
 * many were written.
 */
export async function flood(conn: RawConnection, make: (i: number) => Buffer, count: number, ms: number): Promise<number> {
  const until = Date.now() + ms;
  let closed = false;
  void conn.closed.then(() => (closed = true));
  let i = 0;
  while (i < count && Date.now() < until && !closed) {
    const batch: Buffer[] = [];
    for (let k = 0; k < 256 && i < count; k++, i++) batch.push(make(i));
    if (!conn.socket.write(Buffer.concat(batch))) {
      await Promise.race([
        new Promise((r) => conn.socket.once('drain', r)),
        conn.closed,
        new Promise((r) => setTimeout(r, Math.max(0, until - Date.now()))),
      ]);
    } else {
      // the normal client shares this process: the attacker's loop must not starve it
      await new Promise((r) => setImmediate(r));
    }
  }
  return i;
}

/** The grpc-status and grpc-message of the response headers received on `streamId`, if any. */
export function grpcStatusOn(conn: RawConnection, streamId: number): { status?: string; message?: string } {
  const decoder = new HpackDecoder();
  const out: { status?: string; message?: string } = {};
  for (const f of conn.frames) {
    if (f.type !== T.HEADERS) continue;
    // every HEADERS block goes through the decoder, in order, to keep its table in sync
    let start = 0;
    let end = f.payload.length;
    if (f.flags & 0x8) {
      start = 1;
      end -= f.payload[0]!;
    }
    if (f.flags & 0x20) start += 5;
    decoder.decode(f.payload, start, end, (name, value) => {
      if (f.streamId !== streamId) return;
      if (name === 'grpc-status') out.status = value;
      if (name === 'grpc-message') out.message = decodeURIComponent(value);
    });
  }
  return out;
}

/** "GOAWAY ENHANCE_YOUR_CALM (reason)", "closed", or "open". */
export function describeEnd(conn: RawConnection, closed: boolean): string {
  const code = conn.goawayCode();
  const names: Record<number, string> = { 0: 'NO_ERROR', 1: 'PROTOCOL_ERROR', 2: 'INTERNAL_ERROR', 11: 'ENHANCE_YOUR_CALM' };
  if (code !== undefined) return `GOAWAY ${names[code] ?? code}${conn.goawayText() ? ` (${conn.goawayText()})` : ''}${closed ? ', closed' : ''}`;
  return closed ? 'connection closed (no GOAWAY read)' : 'connection open';
}
