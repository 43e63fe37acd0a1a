// Model and version-label names come from clients (URLs, gRPC requests, repository API calls,
// ReloadConfigRequest) and from config files. jetserve never builds a file-system path from one —
// a model's files are found through its configured base path, or by matching a --model_repository
// directory listing — and every name is checked here as well, so no name can ever be read as a
// path even if a later change joins one onto a directory: no "/", "\", NUL or other control
// characters, not "." or "..", at most 255 bytes (a file name's limit).

import { invalidArgument, type JetserveError } from '../errors.js';

export const MAX_NAME_BYTES = 255;

/** Why `name` cannot be a model / label name (undefined when it can). */
export function nameProblem(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name === '.' || name === '..') return `must not be '${name}'`;
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) return `must be at most ${MAX_NAME_BYTES} bytes`;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x2f) return "must not contain '/'";
    if (c === 0x5c) return "must not contain '\\'";
    if (c < 0x20 || c === 0x7f) return `must not contain control characters (found U+${c.toString(16).padStart(4, '0').toUpperCase()})`;
  }
  return undefined;
}

/** INVALID_ARGUMENT naming the rule, for a name that could be read as a path. */
export function unsafeName(name: string, what = 'model name'): JetserveError | undefined {
  const problem = nameProblem(name);
  return problem === undefined ? undefined : invalidArgument(`${what} ${JSON.stringify(name)} ${problem} (names are never paths)`);
}

/** Throws unsafeName's error. */
export function checkName(name: string, what = 'model name'): void {
  const err = unsafeName(name, what);
  if (err) throw err;
}
