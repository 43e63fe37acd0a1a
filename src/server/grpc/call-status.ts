// gRPC-over-HTTP/2 protocol facts the transport needs: call statuses from handler errors, the
// grpc-message percent-encoding and the grpc-timeout header (PROTOCOL-HTTP2.md).

import * as grpc from '@grpc/grpc-js';

/** A status to end a call with. */
export interface CallStatus {
  code: number;
  details: string;
}

export const OK_STATUS: CallStatus = { code: grpc.status.OK, details: 'OK' };

/** The status a handler's error stands for (grpc-js's rules: a numeric `code`, else UNKNOWN). */
export function statusOf(err: unknown): CallStatus {
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; details?: unknown; message?: unknown };
    const code = typeof e.code === 'number' && e.code >= 0 && e.code <= 16 ? e.code : grpc.status.UNKNOWN;
    const details = typeof e.details === 'string' ? e.details : typeof e.message === 'string' ? e.message : 'Unknown error';
    return { code, details };
  }
  return { code: grpc.status.UNKNOWN, details: String(err) };
}

/** grpc-message: percent-encode bytes outside 0x20..0x7e and '%'. */
export function percentEncode(s: string): string {
  let plain = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) {
      plain = false;
      break;
    }
  }
  if (plain) return s;
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    out += b < 0x20 || b > 0x7e || b === 0x25 ? `%${b.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(b);
  }
  return out;
}

/** grpc-timeout (1..8 digits and a unit H M S m u n) in milliseconds; undefined when malformed. */
export function parseTimeout(value: string): number | undefined {
  const m = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (!m) return undefined;
  const n = Number(m[1]);
  switch (m[2]) {
    case 'H':
      return n * 3600_000;
    case 'M':
      return n * 60_000;
    case 'S':
      return n * 1000;
    case 'm':
      return n;
    case 'u':
      return n / 1000;
    default:
      return n / 1e6;
  }
}
