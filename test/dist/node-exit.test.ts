// A Node program that uses jetserve ends by itself on every supported Node, as any library must
// let it: after disposing its model, without disposing it, and after closing a server. (On Node 24
// the addon's teardown used to wait forever on a lock Node holds while it tears the environment
// down: native/executor.cc says why it no longer releases its thread-safe function there.)

import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ensureNode, NODE_MATRIX } from '../../scripts/node-matrix.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const src = (file: string) => JSON.stringify(join(root, 'src', file));

const PROGRAMS: Record<string, string> = {
  'predict, dispose': `
    const { loadSavedModel } = await import(${src('index.ts')});
    const m = await loadSavedModel(${JSON.stringify(join(root, 'models', 'half_plus_two', '1'))});
    const { y } = await m.predict({ x: [1, 2] });
    await m.dispose();
    console.log(JSON.stringify(Array.from(y.data)));`,
  'predict, no dispose': `
    const { loadSavedModel } = await import(${src('index.ts')});
    const m = await loadSavedModel(${JSON.stringify(join(root, 'models', 'half_plus_two', '1'))});
    const { y } = await m.predict({ x: [1, 2] });
    console.log(JSON.stringify(Array.from(y.data)));`,
  'server, request, close': `
    const { startServer } = await import(${src('serve/index.ts')});
    const server = await startServer({ restApiPort: 0, port: 0, host: '127.0.0.1', log: false });
    const r = await fetch('http://127.0.0.1:' + server.http.port + '/v1/models/half_plus_two:predict', { method: 'POST', body: '{"instances": [1.0, 2.0]}' });
    const body = await r.json();
    await server.close();
    console.log(JSON.stringify(body.predictions));`,
};

/** Runs the program; resolves with its exit code and output, or 'hung' after the limit. */
function runToEnd(nodeBin: string, code: string, limitMs: number): Promise<{ exit: number | 'hung'; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(nodeBin, ['--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: root,
      env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ exit: 'hung', out });
    }, limitMs);
    child.on('exit', (exitCode) => {
      clearTimeout(timer);
      resolve({ exit: exitCode ?? 1, out });
    });
  });
}

describe.each(NODE_MATRIX.map((e) => [e.major] as const))('Node %s: a program using jetserve exits by itself', (major) => {
  it.each(Object.keys(PROGRAMS))('%s', async (name) => {
    const node = ensureNode(major);
    const { exit, out } = await runToEnd(node.bin, PROGRAMS[name]!, 45_000);
    expect(exit, out).toBe(0);
    expect(out).toMatch(/\[2\.5,3\]/);
  }, 120_000);
});
