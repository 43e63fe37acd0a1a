export const REPO_ROOT: string;
/** sha256 over test/requirements.txt and test/requirements-nodeps.txt. */
export function requirementsHash(): Promise<string>;
/** $JETSERVE_VENV or ~/.cache/jetserve/venv-<12 hex of requirementsHash()>. */
export function venvDir(): Promise<string>;
/** Creates/repairs the test venv if needed; resolves to its python3 path. */
export function ensureVenv(): Promise<string>;
/** Runs a command with its stdout and stderr sent to our stderr; rejects on a non-zero exit. */
export function run(cmd: string, args: string[], what: string, env?: Record<string, string>): Promise<void>;
/** Cross-process mutex on a lock directory. */
export function withLock<T>(lockDir: string, fn: () => Promise<T>): Promise<T>;
