// HTTP/2 conformance of the gRPC port: h2spec (a Go tool, pinned below) against a real jetserve
// process. The default transport must pass every test; grpc-js's score is printed for reference.
// h2spec is installed on first use with `go install` into ~/.cache/jetserve/h2spec/<version>
// (XDG_CACHE_HOME honoured); without `go` on PATH the test is skipped and says why.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { report, startServerProcess, type ServerProcess } from './harness.js';

/** The newest h2spec release (its module has no go.mod, hence +incompatible). */
export const H2SPEC_VERSION = 'v2.2.1+incompatible';
const H2SPEC_MODULE = 'github.com/summerwind/h2spec/cmd/h2spec';
const GO = spawnSync('go', ['version'], { encoding: 'utf8' });
const HAVE_GO = GO.status === 0;
if (!HAVE_GO) console.warn('SKIP h2spec: `go` is not on PATH; install Go (https://go.dev/dl/) to run the HTTP/2 conformance check');

function h2specBinary(): string {
  const dir = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'jetserve', 'h2spec', H2SPEC_VERSION);
  const bin = join(dir, 'h2spec');
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    const r = spawnSync('go', ['install', `${H2SPEC_MODULE}@${H2SPEC_VERSION}`], {
      encoding: 'utf8',
      env: { ...process.env, GOBIN: dir },
      timeout: 300_000,
    });
    if (r.status !== 0 || !existsSync(bin)) throw new Error(`go install ${H2SPEC_MODULE}@${H2SPEC_VERSION} failed:\n${r.stderr}`);
  }
  return bin;
}

interface H2specScore {
  total: number;
  passed: number;
  skipped: number;
  failed: number;
  failures: string[];
}

function runH2spec(bin: string, port: number): H2specScore {
  const r = spawnSync(bin, ['-h', '127.0.0.1', '-p', String(port), '-P', '/tensorflow.serving.PredictionService/Predict', '-o', '2'], {
    encoding: 'utf8',
    timeout: 240_000,
  });
  const out = `${r.stdout}${r.stderr}`;
  const m = /(\d+) tests, (\d+) passed, (\d+) skipped, (\d+) failed/.exec(out);
  if (!m) throw new Error(`h2spec printed no summary:\n${out.slice(-2000)}`);
  const failures = out.includes('Failures:') ? out.slice(out.indexOf('Failures:')).split('\n').filter((l) => l.includes('×')).map((l) => l.trim()) : [];
  return { total: Number(m[1]), passed: Number(m[2]), skipped: Number(m[3]), failed: Number(m[4]), failures };
}

describe.skipIf(!HAVE_GO)(`h2spec ${H2SPEC_VERSION} against the gRPC port`, () => {
  const servers: ServerProcess[] = [];
  afterAll(async () => {
    for (const s of servers) await s.stop();
  });

  it('the default transport passes every test', async () => {
    const bin = h2specBinary();
    const server = await startServerProcess([]);
    servers.push(server);
    const score = runH2spec(bin, server.grpcPort);
    report({
      probe: `h2spec ${H2SPEC_VERSION}`,
      target: 'grpc:jetserve',
      attackerGot: `${score.passed}/${score.total} passed, ${score.skipped} skipped, ${score.failed} failed`,
      serverAlive: server.alive(),
    });
    expect(score.failures).toEqual([]);
    expect(score.failed).toBe(0);
    expect(score.passed).toBe(score.total);
    expect(server.alive()).toBe(true);
  });

  it('grpc-js, for reference (printed, not asserted)', async () => {
    const bin = h2specBinary();
    const server = await startServerProcess(['--grpc_transport=grpc-js']);
    servers.push(server);
    const score = runH2spec(bin, server.grpcPort);
    report({
      probe: `h2spec ${H2SPEC_VERSION} (reference)`,
      target: 'grpc:grpc-js',
      attackerGot: `${score.passed}/${score.total} passed, ${score.skipped} skipped, ${score.failed} failed`,
      serverAlive: server.alive(),
      notes: score.failures.slice(0, 12).join('; '),
    });
    expect(server.alive()).toBe(true);
  });
});
