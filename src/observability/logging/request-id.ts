// Request ids: the client's `x-request-id` (REST header or gRPC metadata) when it is a plausible
// id, otherwise a new one. Either way the response carries it back, and every log line about the
// request names it. A client value is never trusted as-is: it goes into response headers and log
// files, so only 1 to 128 visible ASCII characters are kept (anything else is replaced).
//
// A new id is a random 64-bit prefix drawn once per process and a counter ("3f9c…e1-2a"): unique
// across processes as far as 64 random bits go, and in order within one. Measured per id (7 rounds
// of 10^6, same run, shared 2-core machine): crypto.randomUUID() 207 ns median, prefix + counter
// 51 ns — it is made for every request that comes without one.

import { randomBytes } from 'node:crypto';

export const REQUEST_ID_HEADER = 'x-request-id';
const MAX_LENGTH = 128;

const PROCESS_PREFIX = randomBytes(8).toString('hex');
let counter = 0;

export function newRequestId(): string {
  return `${PROCESS_PREFIX}-${(++counter).toString(16)}`;
}

/** The client's id when acceptable, else a new one. */
export function requestIdOf(given: string | undefined): string {
  if (given === undefined || given.length === 0 || given.length > MAX_LENGTH) return newRequestId();
  for (let i = 0; i < given.length; i++) {
    const c = given.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return newRequestId();
  }
  return given;
}
