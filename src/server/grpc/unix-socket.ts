// --grpc_socket_path as gRPC core binds it for TF Serving: a path that already is a socket — the
// stale socket of a killed server, or the socket of a server still running — is replaced, not
// refused with EADDRINUSE. Anything else at the path (a file, a directory) is left alone and refused.
//
// The fresh socket is bound under a temporary name in the same directory and renamed over the
// path, so clients never find the path missing in between. On close the path is removed only if it
// still is this server's socket (same device and inode): closing an older server never removes the
// socket of a newer one on the same path, which a plain unlink-at-close would (Node's listener
// unlinks the name it bound when it closes: here the temporary name, long gone by then).

import { randomBytes } from 'node:crypto';
import { lstatSync, renameSync, statSync, unlinkSync, type Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/** Longest unix socket path the kernel takes (sun_path is 108 bytes on Linux, NUL included). */
const MAX_SOCKET_PATH_BYTES = 107;

export interface UnixSocketBinding {
  /** The absolute socket path. */
  readonly path: string;
  /** Removes the path if it is still this binding's socket. Idempotent. */
  release(): void;
}

/**
 * Binds `path` with `listen` (which binds a unix socket at the path it is given), replacing a
 * socket that is already there. Throws when the path holds something that is not a socket.
 */
export async function bindUnixSocket(path: string, listen: (path: string) => Promise<unknown>): Promise<UnixSocketBinding> {
  const target = resolve(path);
  const existing = lstatOrUndefined(target);
  if (existing && !existing.isSocket()) {
    throw new Error(`${target} exists and is not a unix socket; remove it or choose another --grpc_socket_path`);
  }
  const temporary = join(dirname(target), `.${basename(target).slice(0, 16)}.${randomBytes(4).toString('hex')}`);
  if (Buffer.byteLength(temporary) > MAX_SOCKET_PATH_BYTES) {
    // no room for a temporary name: replace an old socket the way gRPC core does, unlink and bind
    if (existing) unlinkIfSocket(target);
    await listen(target);
  } else {
    await listen(temporary);
    try {
      renameSync(temporary, target);
    } catch (err) {
      unlinkIfSocket(temporary);
      throw err;
    }
  }
  const own = statSync(target);
  let released = false;
  return {
    path: target,
    release() {
      if (released) return;
      released = true;
      const now = lstatOrUndefined(target);
      if (now?.isSocket() && now.ino === own.ino && now.dev === own.dev) unlinkIfSocket(target);
    },
  };
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function unlinkIfSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // already gone
  }
}
