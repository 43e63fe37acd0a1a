// Runs test/clients/grpc_driver.py (the official TF Serving and Triton Python clients) in the
// project's Python venv and talks to it one JSON line per command.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Tensor } from '../../src/engine/tensor.js';
import { expect } from 'vitest';
import { decodeTensor } from '../helpers/oracle.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const DRIVER = join(HERE, '..', 'clients', 'grpc_driver.py');
const PYTHON_ENV = join(HERE, '..', '..', 'scripts', 'python-env.mjs');

/** The project venv's python (scripts/python-env.mjs creates it on first use). */
export async function venvPython(): Promise<string> {
  const mod = (await import(PYTHON_ENV)) as { ensureVenv(): Promise<string> };
  return mod.ensureVenv();
}

export type WireTensor =
  | { dtype: string; shape: number[]; b64: string; typed_count?: number; datatype?: string; count?: number }
  | { dtype: 'string'; shape: number[]; strings_b64: string[] }
  | { proto_b64: string };

export interface DriverAnswer {
  ok: boolean;
  code?: string;
  details?: string;
  error?: string;
  [key: string]: unknown;
}

/** A tensor in the driver's JSON form. */
export function wire(t: Tensor): WireTensor {
  if (t.dtype === 'string') {
    return { dtype: 'string', shape: [...t.shape], strings_b64: (t.data as Uint8Array[]).map((s) => Buffer.from(s).toString('base64')) };
  }
  const d = t.data as ArrayBufferView;
  return { dtype: t.dtype, shape: [...t.shape], b64: Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('base64') };
}

/** The driver's JSON tensors back to Tensors. */
export function unwire(outputs: unknown): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(outputs as Record<string, Parameters<typeof decodeTensor>[0]>)) out[k] = decodeTensor(v);
  return out;
}

export class PythonDriver {
  private queue: ((answer: DriverAnswer) => void)[] = [];
  private stderr = '';

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const next = this.queue.shift();
      if (next) next(JSON.parse(line) as DriverAnswer);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-8000);
    });
    child.on('exit', (code) => {
      const pending = this.queue;
      this.queue = [];
      for (const p of pending) p({ ok: false, error: `driver exited (${code}): ${this.stderr}` });
    });
  }

  static async start(): Promise<PythonDriver> {
    const python = await venvPython();
    const child = spawn(python, [DRIVER], {
      env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2', CUDA_VISIBLE_DEVICES: '', PYTHONUNBUFFERED: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const driver = new PythonDriver(child);
    const hello = await new Promise<DriverAnswer>((resolve) => driver.queue.push(resolve));
    if (!hello.ok) throw new Error(`python driver failed to start: ${hello.error}`);
    return driver;
  }

  call(command: Record<string, unknown>): Promise<DriverAnswer> {
    return new Promise((resolve) => {
      this.queue.push(resolve);
      this.child.stdin.write(`${JSON.stringify(command)}\n`);
    });
  }

  /** Like call(), but a driver bug (not a gRPC error) throws. */
  async rpc(command: Record<string, unknown>): Promise<DriverAnswer> {
    const answer = await this.call(command);
    if (answer.error) throw new Error(`python driver: ${answer.error}`);
    return answer;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/** The Python client's call succeeded (the answer is printed when it did not). */
export function expectOk(answer: DriverAnswer): void {
  expect(answer.ok, JSON.stringify(answer).slice(0, 500)).toBe(true);
}

/**
 * The Python client's call failed with this gRPC status code and these details (a string must
 * equal them exactly, a RegExp must match).
 */
export function expectError(answer: DriverAnswer, code: string, details: RegExp | string): void {
  expect(answer.ok, JSON.stringify(answer).slice(0, 500)).toBe(false);
  expect(answer.error, 'driver error').toBeUndefined();
  expect(answer.code).toBe(code);
  if (typeof details === 'string') expect(answer.details).toBe(details);
  else expect(answer.details).toMatch(details);
}
