// Closing a TCP listener without resetting connections clients already have (the native side,
// native/listen_guard.cc, says why that needs a socket filter). quiesceListener(port) makes the
// port's listeners refuse new handshakes, then waits until the connections already queued have
// been accepted by the server (which answers them as usual); the caller closes the listener next.
// Both front ends use it in their shutdown.

import { native } from './native.js';

/** Handshakes started before the hold finish within a round trip; a LAN's is far below this. */
const HANDSHAKE_SETTLE_MS = 10;
/** The accept queue is empty within an event-loop turn; this bounds a stuck one. */
const MAX_WAIT_MS = 1000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Resolves when the listeners on `port` accept no new connection and their accept queues are
 * empty (true), or at once when the platform cannot do that (false: closing may reset queued ones).
 */
export async function quiesceListener(port: number): Promise<boolean> {
  if (!(port > 0)) return false;
  let held: number;
  try {
    held = native().holdListenSockets(port);
  } catch {
    return false;
  }
  if (held <= 0) return false;
  await sleep(HANDSHAKE_SETTLE_MS);
  const deadline = performance.now() + MAX_WAIT_MS;
  while (native().listenQueueLength(port) > 0 && performance.now() < deadline) await sleep(1);
  return true;
}
