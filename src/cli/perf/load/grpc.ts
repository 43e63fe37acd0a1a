// The gRPC load: unary calls over node:http2 sessions, each request framed once (gRPC's 5-byte
// length prefix + the serialized message) and written as it is on every call. The generator
// shares the machine with the server it measures, so its CPU per call is the server's loss.
// Measured against @grpc/grpc-js with the request pre-serialized (channel, call stack, filters, the
// message copied behind a fresh prefix on every call), same jetserve, alternating rounds: tiny
// Predict 62 vs 143 µs of client CPU per call (`npm run bench:perf-client`, 2026-12-07); ResNet50
// at 16 clients 2.0 vs 2.9 ms per call (whole client process, 3 alternating rounds).

import * as http2 from 'node:http2';
import { ERROR_CODES } from '../../../errors.js';
import { OK, type Outcome, type Sender } from './outcome.js';

/** Calls multiplexed per HTTP/2 connection before another is opened. */
const STREAMS_PER_SESSION = 16;

/** Receive windows: a response never waits for a WINDOW_UPDATE round trip. */
const WINDOW_BYTES = 16 * 1024 * 1024;

/** gRPC status names by code (the canonical codes jetserve's errors carry). */
const STATUS_NAMES = Object.keys(ERROR_CODES);

export interface GrpcPlan {
  /** host:port */
  address: string;
  /** /package.Service/Method */
  path: string;
  /** Serialized request messages. */
  requests: Uint8Array[];
}

interface Session {
  h2: http2.ClientHttp2Session;
  active: number;
  closed: boolean;
}

/** The gRPC framing of a message: compressed flag 0, big-endian length, the bytes. */
export function frameGrpcMessage(message: Uint8Array): Buffer {
  const framed = Buffer.allocUnsafe(5 + message.byteLength);
  framed[0] = 0;
  framed.writeUInt32BE(message.byteLength, 1);
  framed.set(message, 5);
  return framed;
}

/** The message text of a grpc-message header (percent-encoded on the wire). */
function grpcMessage(value: unknown): string {
  if (typeof value !== 'string') return '';
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

export function grpcSender(plan: GrpcPlan, timeoutMs: number): Sender {
  const framed = plan.requests.map(frameGrpcMessage);
  const sessions: Session[] = [];
  const authority = `http://${plan.address}`;
  const timeoutHeader = `${Math.max(1, Math.ceil(timeoutMs))}m`;

  const open = (): Session => {
    const h2 = http2.connect(authority, { settings: { initialWindowSize: WINDOW_BYTES, enablePush: false } });
    const session: Session = { h2, active: 0, closed: false };
    const drop = () => {
      session.closed = true;
      const at = sessions.indexOf(session);
      if (at >= 0) sessions.splice(at, 1);
    };
    h2.on('connect', () => h2.setLocalWindowSize(WINDOW_BYTES));
    h2.on('error', drop); // each stream reports it to its own call
    h2.on('goaway', drop);
    h2.on('close', drop);
    sessions.push(session);
    return session;
  };
  const pick = (): Session => {
    for (const s of sessions) if (!s.closed && s.active < STREAMS_PER_SESSION) return s;
    return open();
  };

  return {
    send(index) {
      const session = pick();
      session.active++;
      return new Promise<Outcome>((resolve) => {
        let settled = false;
        let status: number | undefined;
        let message = '';
        let httpStatus = 0;
        const finish = (outcome: Outcome) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          session.active--;
          resolve(outcome);
        };
        let stream: http2.ClientHttp2Stream;
        try {
          stream = session.h2.request(
            {
              ':method': 'POST',
              ':path': plan.path,
              'content-type': 'application/grpc',
              te: 'trailers',
              'grpc-timeout': timeoutHeader,
            },
            { endStream: false },
          );
        } catch (err) {
          session.closed = true;
          finish({ ok: false, code: 'connection', message: (err as Error).message });
          return;
        }
        const timer = setTimeout(() => {
          stream.close(http2.constants.NGHTTP2_CANCEL);
          finish({ ok: false, code: 'timeout', message: `no answer within ${timeoutMs} ms` });
        }, timeoutMs);
        const readStatus = (headers: http2.IncomingHttpHeaders) => {
          const code = headers['grpc-status'];
          if (code !== undefined) {
            status = Number(code);
            message = grpcMessage(headers['grpc-message']);
          }
        };
        stream.on('response', (headers) => {
          httpStatus = Number(headers[':status']);
          readStatus(headers); // a trailers-only answer carries the status in its headers
        });
        stream.on('trailers', readStatus);
        stream.on('data', () => {}); // the answer's bytes are read and dropped
        stream.on('error', (err) => finish({ ok: false, code: 'connection', message: err.message }));
        stream.on('close', () => {
          if (status === 0) finish(OK);
          else if (status !== undefined) {
            const name = STATUS_NAMES[status] ?? String(status);
            if (status === 4 && /deadline exceeded/i.test(message)) finish({ ok: false, code: 'timeout', message });
            else finish({ ok: false, code: name, message });
          } else if (httpStatus !== 0 && httpStatus !== 200) {
            finish({ ok: false, code: 'UNKNOWN', message: `HTTP status ${httpStatus} without a gRPC status` });
          } else {
            finish({ ok: false, code: 'connection', message: 'stream closed without a gRPC status' });
          }
        });
        stream.end(framed[index]);
      });
    },
    async close() {
      const closing = sessions.splice(0).map((s) => new Promise<void>((done) => s.h2.close(() => done())));
      await Promise.all(closing);
    },
  };
}
