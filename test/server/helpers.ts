// Test-side helpers for the HTTP server suites: start a real server on loopback over real
// SavedModels, make requests (fetch and raw sockets), parse TF Serving's not-quite-JSON replies
// (NaN / Infinity tokens, int64 beyond 2^53) independently of the server's own codecs, and turn
// oracle tensors into TF-JSON / KServe request bodies and replies back into tensors.

import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Batching } from '../../src/batching/index.js';
import { TYPED_ARRAY_OF, type DType, type NumericDType } from '../../src/engine/dtypes.js';
import type { LoadSavedModelOptions } from '../../src/engine/model.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { ModelManager, type ModelConfig } from '../../src/models/manager.js';
import { HttpServer, type HttpServerOptions } from '../../src/server/http/server.js';
import { DEMO_MODEL_PATH } from '../../src/serve/start.js';
import { fixturesDir, loadOracle, type OracleCase } from '../helpers/oracle.js';

/** The demo model's base path: the packaged models/half_plus_two, else the identical fixture copy. */
export function demoBasePath(): string {
  return existsSync(join(DEMO_MODEL_PATH, '1', 'saved_model.pb')) ? DEMO_MODEL_PATH : join(fixturesDir(), 'half_plus_two');
}

export function fixtureConfig(name: string): ModelConfig {
  return { name, basePath: join(fixturesDir(), name) };
}

export interface TestServer {
  manager: ModelManager;
  server: HttpServer;
  port: number;
  base: string;
  close(): Promise<void>;
}

export async function startServer(
  models: ModelConfig[],
  options: HttpServerOptions = {},
  load: LoadSavedModelOptions = {},
): Promise<TestServer> {
  // batching on and shapes left to TF, as the server's defaults (--enable_batching, --validate_input_shapes)
  const manager = await ModelManager.create(models, { batching: new Batching(), load: { validateShapes: false, ...load } });
  const server = new HttpServer(manager, { log: () => {}, ...options });
  const port = await server.listen(0, '127.0.0.1');
  return {
    manager,
    server,
    port,
    base: `http://127.0.0.1:${port}`,
    async close() {
      await server.close(1000);
      await manager.close();
    },
  };
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  bytes: Uint8Array;
  /** Lenient parse of `text` (undefined when it is not JSON). */
  json: any;
}

export async function request(
  base: string,
  path: string,
  init: { method?: string; body?: string | Uint8Array; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const method = init.method ?? (init.body === undefined ? 'GET' : 'POST');
  const r = await fetch(base + path, { method, body: init.body, headers: init.headers });
  const bytes = new Uint8Array(await r.arrayBuffer());
  const text = Buffer.from(bytes).toString('utf8');
  let json: any;
  try {
    json = parseLenientJson(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, headers: r.headers, text, bytes, json };
}

export function postJson(base: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return request(base, path, {
    method: 'POST',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...headers },
  });
}

/**
 * Sends raw bytes on one TCP connection and collects what comes back until `until(received)` is
 * true or the server closes. Optional `pauseMs`: do not read for that long first (backpressure).
 */
export function rawExchange(
  port: number,
  payload: Buffer | string,
  until: (received: Buffer) => boolean,
  options: { pauseMs?: number; timeoutMs?: number } = {},
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`raw exchange timed out; received ${Buffer.concat(chunks).length} bytes`));
    }, options.timeoutMs ?? 20_000);
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(chunks));
    };
    socket.on('connect', () => {
      if (options.pauseMs) {
        socket.pause();
        setTimeout(() => socket.resume(), options.pauseMs);
      }
      socket.write(payload);
    });
    socket.on('data', (d) => {
      chunks.push(d);
      if (until(Buffer.concat(chunks))) finish();
    });
    socket.on('end', finish);
    socket.on('close', finish);
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

export interface ParsedResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Splits a buffer holding complete HTTP/1.1 responses (Content-Length framed) into responses. */
export function parseResponses(buf: Buffer): { responses: ParsedResponse[]; rest: Buffer } {
  const responses: ParsedResponse[] = [];
  let pos = 0;
  for (;;) {
    const headEnd = buf.indexOf('\r\n\r\n', pos);
    if (headEnd === -1) break;
    const head = buf.subarray(pos, headEnd).toString('latin1').split('\r\n');
    const status = Number(head[0]!.split(' ')[1]);
    const headers: Record<string, string> = {};
    for (const line of head.slice(1)) {
      const c = line.indexOf(':');
      headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
    }
    if ((headers['transfer-encoding'] ?? '').toLowerCase() === 'chunked') {
      const chunked = dechunk(buf, headEnd + 4);
      if (!chunked) break;
      responses.push({ status, headers, body: chunked.body });
      pos = chunked.end;
      continue;
    }
    const length = Number(headers['content-length'] ?? 0);
    if (buf.length < headEnd + 4 + length) break;
    responses.push({ status, headers, body: buf.subarray(headEnd + 4, headEnd + 4 + length) });
    pos = headEnd + 4 + length;
  }
  return { responses, rest: buf.subarray(pos) };
}

/** A chunked (Transfer-Encoding) body starting at `pos`: its bytes and where it ends, or undefined if incomplete. */
function dechunk(buf: Buffer, pos: number): { body: Buffer; end: number } | undefined {
  const parts: Buffer[] = [];
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', pos);
    if (lineEnd === -1) return undefined;
    const size = parseInt(buf.subarray(pos, lineEnd).toString('latin1'), 16);
    if (Number.isNaN(size)) throw new Error(`bad chunk size line at ${pos}`);
    const dataEnd = lineEnd + 2 + size;
    if (buf.length < dataEnd + 2) return undefined;
    if (size === 0) return { body: Buffer.concat(parts), end: dataEnd + 2 };
    parts.push(buf.subarray(lineEnd + 2, dataEnd));
    pos = dataEnd + 2;
  }
}

export function countResponses(n: number): (buf: Buffer) => boolean {
  return (buf) => parseResponses(buf).responses.length >= n;
}

// ---------------------------------------------------------------------------------------------
// Lenient JSON: what TF Serving writes (NaN, Infinity, -Infinity tokens) and exact big integers.

/** A JSON number kept as its text, so int64 values past 2^53 survive. */
export class Num {
  constructor(readonly text: string) {}
  get value(): number {
    return Number(this.text);
  }
  toJSON(): number {
    return this.value;
  }
}

/**
 * Parses JSON plus the bare tokens NaN / Infinity / -Infinity. Integers that do not fit a double
 * exactly come back as Num; every other number as a JS number.
 */
export function parseLenientJson(text: string): any {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++;
  };
  const fail = (what: string): never => {
    throw new SyntaxError(`lenient JSON: ${what} at ${i}`);
  };
  const value = (): any => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const out: Record<string, any> = {};
      ws();
      if (text[i] === '}') {
        i++;
        return out;
      }
      for (;;) {
        ws();
        const key = value();
        if (typeof key !== 'string') fail('object key');
        ws();
        if (text[i++] !== ':') fail("expected ':'");
        out[key] = value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i++] === '}') return out;
        fail("expected ',' or '}'");
      }
    }
    if (c === '[') {
      i++;
      const out: any[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return out;
      }
      for (;;) {
        out.push(value());
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i++] === ']') return out;
        fail("expected ',' or ']'");
      }
    }
    if (c === '"') {
      const start = i;
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      i++;
      return JSON.parse(text.slice(start, i));
    }
    for (const [tok, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
      ['NaN', NaN],
      ['Infinity', Infinity],
      ['-Infinity', -Infinity],
    ] as const) {
      if (text.startsWith(tok, i)) {
        i += tok.length;
        return v;
      }
    }
    const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m) fail('unexpected character');
    i += m![0].length;
    const isInt = m![1] === undefined && m![2] === undefined;
    if (isInt && !Number.isSafeInteger(Number(m![0]))) return new Num(m![0]);
    return Number(m![0]);
  };
  const v = value();
  ws();
  if (i !== text.length) fail('trailing characters');
  return v;
}

// ---------------------------------------------------------------------------------------------
// Tensors <-> JSON values

/** Row-major nested lists of a tensor's elements, each rendered by `leaf(i)`. */
export function nest(shape: readonly number[], leaf: (i: number) => string): string {
  let index = 0;
  const rec = (d: number): string => {
    if (d === shape.length) return leaf(index++);
    const parts: string[] = [];
    for (let k = 0; k < shape[d]!; k++) parts.push(rec(d + 1));
    return `[${parts.join(',')}]`;
  };
  return rec(0);
}

/** JSON text of one element of a tensor (TF Serving request conventions; strings as {"b64"}). */
export function tfJsonLeaf(t: Tensor, i: number): string {
  if (t.dtype === 'string') return JSON.stringify({ b64: Buffer.from((t.data as Uint8Array[])[i]!).toString('base64') });
  const v = (t.data as ArrayLike<number | bigint>)[i]!;
  if (t.dtype === 'bool') return v ? 'true' : 'false';
  if (typeof v === 'bigint') return v.toString();
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  return Object.is(v, -0) ? '-0.0' : String(v);
}

export function tfJsonTensor(t: Tensor): string {
  return nest(t.shape, (i) => tfJsonLeaf(t, i));
}

function flattenDeep(v: any, out: any[]): void {
  if (Array.isArray(v)) for (const x of v) flattenDeep(x, out);
  else out.push(v);
}

function shapeOf(v: any): number[] {
  const shape: number[] = [];
  while (Array.isArray(v)) {
    shape.push(v.length);
    if (v.length === 0) break;
    v = v[0];
  }
  return shape;
}

/**
 * A parsed JSON value (nested list or scalar) as a Tensor of `dtype`. Strings may be JSON strings
 * or {"b64": …} objects.
 */
export function tensorFromJson(value: any, dtype: DType, shape: number[] = shapeOf(value)): Tensor {
  const flat: any[] = [];
  flattenDeep(value, flat);
  if (dtype === 'string') {
    return {
      dtype,
      shape,
      data: flat.map((v) =>
        typeof v === 'string' ? new Uint8Array(Buffer.from(v, 'utf8')) : new Uint8Array(Buffer.from(v.b64, 'base64')),
      ),
    };
  }
  const Ctor = TYPED_ARRAY_OF[dtype as NumericDType];
  const data = new Ctor(flat.length);
  flat.forEach((v, i) => {
    const n = v instanceof Num ? v.text : v;
    if (dtype === 'int64' || dtype === 'uint64') (data as BigInt64Array)[i] = BigInt(n);
    else if (dtype === 'bool') data[i] = n ? 1 : 0;
    else data[i] = Number(n);
  });
  return { dtype, shape, data };
}

/** Raw little-endian bytes of a numeric tensor (KServe binary tensor data). */
export function rawBytes(t: Tensor): Buffer {
  if (t.dtype === 'string') {
    const parts: Buffer[] = [];
    for (const s of t.data as Uint8Array[]) {
      const len = Buffer.alloc(4);
      len.writeUInt32LE(s.length);
      parts.push(len, Buffer.from(s));
    }
    return Buffer.concat(parts);
  }
  const d = t.data as ArrayBufferView;
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}

export const KSERVE_TYPES: Partial<Record<DType, string>> = {
  bool: 'BOOL',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  float16: 'FP16',
  bfloat16: 'BF16',
  float32: 'FP32',
  float64: 'FP64',
  string: 'BYTES',
};

export const DTYPE_OF_KSERVE: Record<string, DType> = Object.fromEntries(
  Object.entries(KSERVE_TYPES).map(([k, v]) => [v, k as DType]),
);

/** A tensor from raw KServe binary bytes. */
export function tensorFromRaw(bytes: Uint8Array, dtype: DType, shape: number[]): Tensor {
  if (dtype === 'string') {
    const out: Uint8Array[] = [];
    const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let pos = 0;
    while (pos < view.length) {
      const len = view.readUInt32LE(pos);
      out.push(new Uint8Array(view.subarray(pos + 4, pos + 4 + len)));
      pos += 4 + len;
    }
    return { dtype, shape, data: out };
  }
  const Ctor = TYPED_ARRAY_OF[dtype as NumericDType];
  const copy = new Uint8Array(bytes); // aligned copy
  return { dtype, shape, data: new Ctor(copy.buffer, 0, copy.byteLength / Ctor.BYTES_PER_ELEMENT) };
}

/** Bytes that decode as UTF-8 (a string tensor JSON can carry as text). */
export function isUtf8(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Dtypes TF Serving's JSON carries (half, bfloat16, uint16 and complex answer 501 there). */
export const TF_JSON_DTYPES: ReadonlySet<DType> = new Set<DType>([
  'float32', 'float64', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint32', 'uint64', 'bool', 'string',
]);

/** A model's oracle cases a TF-JSON predict request can express and compare. */
export function tfJsonCases(model: string): OracleCase[] {
  return loadOracle(model).cases.filter(
    (c) =>
      !c.examples &&
      // JSON cannot write an empty tensor of rank > 1 ([] reads as shape [0])
      Object.values(c.inputs).every((t) => t.shape.length <= 1 || !t.shape.includes(0)) &&
      [...Object.values(c.inputs), ...Object.values(c.outputs)].every((t) => TF_JSON_DTYPES.has(t.dtype)) &&
      // a string output that is not UTF-8 cannot be compared through a JSON string
      Object.entries(c.outputs).every(
        ([alias, t]) => t.dtype !== 'string' || alias.endsWith('_bytes') || (t.data as Uint8Array[]).every(isUtf8),
      ),
  );
}
