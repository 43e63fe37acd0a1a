// Decoding of large JSON request bodies on a piscina worker pool, so the event loop keeps serving
// other requests while a multi-megabyte TF Serving predict / KServe v2 infer body is parsed.
//
// A task round trip costs ~45-90 µs, far more than decoding a small body inline, so only bodies of
// at least `thresholdBytes` go to the pool (--json_offload_threshold_bytes; bench/json-offload.ts
// measures where inline decoding starts to cost more than the round trip). The workers run the
// same codec functions as the event loop with plainTensor memory: native (external) ArrayBuffers
// cannot be transferred between threads, plain ones move without a copy. Back on the main thread
// the tensors are plain typed arrays; TF copies them once when it takes them (the addon's copy
// path, measured cheaper than copying into a fresh aligned block first — see the bench), and the
// batcher's gather copy replaces that copy when requests are merged.
//
// Errors come back as {code, message} and are rethrown as the same JetserveError, so an offloaded
// body fails exactly as an inline one does (same HTTP status, same text).

import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { TYPED_ARRAY_OF, type NumericData } from '../../engine/dtypes.js';
import type { Tensor } from '../../engine/tensor.js';
import { JetserveError } from '../../errors.js';
import { DEFAULT_LIMITS, LimitExceededError, type RequestLimits } from '../../wire/limits.js';
import type { KServeInferRequest, SignatureSource, TfPredictRequest } from './codecs.js';
import type { DecodeReply, DecodeTask, WireTensor } from './json-worker.js';

/**
 * Default --json_offload_threshold_bytes. bench/json-offload.ts (2-core VM): decoding costs ~9 µs
 * per KiB inline; an offloaded decode costs the event loop 45-80 µs plus a little per KiB, and its
 * latency is inline's plus 100-500 µs. From 64 KiB on the pool's latency stays within ~25% of
 * inline decoding while the event loop does 3.5× (64 KiB) to 9× (256 KiB) less work; below it the
 * round trip dominates (2.6× inline latency at 16 KiB).
 */
export const DEFAULT_JSON_OFFLOAD_THRESHOLD_BYTES = 64 * 1024;

/**
 * Whether a pool pays on a process that may run on `cpus` CPUs (os.availableParallelism(): the
 * scheduler affinity, so `taskset`, a cpuset or a 1-vCPU VM count). With one CPU the workers decode
 * on the core the event loop runs on: the pool adds its round trip, a copy of every tensor, a body
 * that cannot be reused (it is transferred) and a copy into TF, and frees nothing for the event
 * loop. Measured (bench:rest 262,144 floats TF-JSON, server pinned to one CPU, 2026-12-06): pool
 * 21.1 ms CPU per request (47.7 req/s), inline 16.5 ms (61 req/s); other requests' latency while
 * large bodies arrive: src/server/http/README.md "Large JSON bodies off the event loop".
 */
export function offloadPays(cpus: number = availableParallelism()): boolean {
  return cpus >= 2;
}

export interface JsonOffloadOptions {
  /** Bodies of at least this many bytes are decoded on the pool; 0 disables offloading. */
  thresholdBytes: number;
  /** Request budgets the workers enforce (default DEFAULT_LIMITS). */
  limits?: RequestLimits;
  /** Worker threads (default: one less than the cores, at least one). */
  threads?: number;
}

export class JsonOffload {
  readonly thresholdBytes: number;
  readonly threads: number;
  readonly limits: RequestLimits;
  private pool: Piscina | undefined;
  /** Bodies decoded on the pool (tests and stats read it). */
  offloaded = 0;

  constructor(options: JsonOffloadOptions) {
    if (!Number.isSafeInteger(options.thresholdBytes) || options.thresholdBytes < 0) {
      throw new RangeError(`JSON offload threshold must be a non-negative integer, got ${options.thresholdBytes}`);
    }
    this.thresholdBytes = options.thresholdBytes;
    this.threads = Math.max(1, options.threads ?? availableParallelism() - 1);
    this.limits = options.limits ?? DEFAULT_LIMITS;
  }

  /** True when a body of this size is decoded on the pool. */
  wants(byteLength: number): boolean {
    return this.thresholdBytes > 0 && byteLength >= this.thresholdBytes;
  }

  /** decodeTfPredict on the pool. `body` is handed over (detached when it can be transferred). */
  async decodeTfPredict(body: Uint8Array, model: SignatureSource): Promise<TfPredictRequest> {
    return (await this.run('tfserving', body, model)) as unknown as TfPredictRequest;
  }

  /** decodeKServeInfer (all-JSON body: no binary tensor extension) on the pool. */
  async decodeKServeInfer(body: Uint8Array, model: SignatureSource): Promise<KServeInferRequest> {
    return (await this.run('kserve', body, model)) as unknown as KServeInferRequest;
  }

  /** Starts the workers now (the server does at listen()), so no request waits for a thread start. */
  warm(): void {
    if (this.thresholdBytes > 0) this.getPool();
  }

  /** Stops the workers (tasks still running are rejected). */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.destroy();
  }

  private async run(protocol: DecodeTask['protocol'], body: Uint8Array, model: SignatureSource): Promise<Record<string, unknown>> {
    // the body's memory moves to the worker when it is a whole ArrayBuffer of its own (bodies
    // above 4 KiB are never slices of Node's Buffer pool, whose memory cannot be transferred);
    // anything else is copied into one first
    const owned =
      body.byteOffset === 0 && body.byteLength === body.buffer.byteLength && body.buffer instanceof ArrayBuffer
        ? body
        : new Uint8Array(body);
    const task: DecodeTask = { protocol, body: owned, signatures: signaturesJson(model), source: model.source, limits: this.limits };
    const reply = (await this.getPool().run(task, { transferList: [owned.buffer as ArrayBuffer] })) as DecodeReply;
    this.offloaded++;
    if (!reply.ok) {
      if (reply.internal) throw new Error(reply.message);
      if (reply.limit) throw new LimitExceededError(reply.message);
      throw new JetserveError(reply.code, reply.message);
    }
    const inputs: Record<string, Tensor> = {};
    for (const [name, w] of Object.entries(reply.request.inputs)) inputs[name] = fromWire(w);
    return { ...reply.request, inputs };
  }

  private getPool(): Piscina {
    if (!this.pool) {
      const { filename, execArgv } = workerScript();
      this.pool = new Piscina({
        filename,
        execArgv,
        minThreads: this.threads,
        maxThreads: this.threads,
        idleTimeout: 60_000,
        // one task at a time per worker: decoding is CPU-bound
        concurrentTasksPerWorker: 1,
      });
    }
    return this.pool;
  }
}

const SIGNATURES_JSON = new WeakMap<object, string>();

/** A model's signatures as JSON (cached per model: they never change). */
function signaturesJson(model: SignatureSource): string {
  let json = SIGNATURES_JSON.get(model.signatures);
  if (json === undefined) {
    json = JSON.stringify(model.signatures);
    SIGNATURES_JSON.set(model.signatures, json);
  }
  return json;
}

function fromWire(w: WireTensor): Tensor {
  if (w.dtype === 'string') {
    const all = new Uint8Array(w.buffer);
    const n = w.offsets.length - 1;
    const data = new Array<Uint8Array>(n);
    for (let i = 0; i < n; i++) data[i] = all.subarray(w.offsets[i], w.offsets[i + 1]);
    return { dtype: 'string', shape: w.shape, data };
  }
  const Ctor = TYPED_ARRAY_OF[w.dtype];
  return { dtype: w.dtype, shape: w.shape, data: new Ctor(w.buffer, w.byteOffset, w.length) as NumericData };
}

/** The compiled worker (dist/), or the TypeScript source through tsx (tests, a src/ checkout). */
function workerScript(): { filename: string; execArgv: string[] } {
  const js = new URL('./json-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return { filename: js.href, execArgv: [] };
  return { filename: new URL('./json-worker.ts', import.meta.url).href, execArgv: ['--import', 'tsx'] };
}
