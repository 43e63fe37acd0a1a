// Micro-benchmark: TF Serving JSON predict-request decoding (and response encoding).
//   node --import tsx bench/codec-json.ts            (uses the built addon's allocator if present,
//                                                     else a plain-ArrayBuffer stand-in)
// Compares jetserve's byte-level tokenizer (src/wire/json/tfserving.ts: measure pass + direct fill
// into the allocTensor buffer) with the JSON.parse alternative (TextDecoder → JSON.parse, with a
// NaN/Infinity pre-pass only when JSON.parse rejects the text → walk nested arrays into the
// allocTensor buffer). Both produce the same Float32Array.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bench } from 'tinybench';

// allocTensor needs the addon; fall back to an ArrayBuffer allocator for codec-only measurements.
const addon = join(import.meta.dirname, '..', 'build', 'Release', 'jetserve_native.node');
let allocator = 'native allocAligned';
if (!process.env.JETSERVE_NATIVE_ADDON && !existsSync(addon)) {
  const dir = mkdtempSync(join(tmpdir(), 'jetserve-bench-'));
  const shim = join(dir, 'alloc-shim.cjs');
  writeFileSync(shim, 'exports.allocAligned = (n) => new ArrayBuffer(n);\n');
  process.env.JETSERVE_NATIVE_ADDON = shim;
  allocator = 'ArrayBuffer stand-in (addon not built)';
}

const { decodePredictRequest, encodePredictResponse } = await import('../src/wire/json/tfserving.js');
const { allocTensor } = await import('../src/engine/tensor.js');
type SignatureInfo = import('../src/engine/signature.js').SignatureInfo;

const signature: SignatureInfo = {
  methodName: 'tensorflow/serving/predict',
  inputs: { x: { name: 'x:0', dtype: 'float32', tfDtype: 1, shape: null } },
  outputs: {},
};
const resolve = () => signature;

function rows(n: number, m: number, gen: () => string): string {
  const r: string[] = [];
  for (let i = 0; i < n; i++) {
    const v: string[] = [];
    for (let j = 0; j < m; j++) v.push(gen());
    r.push(`[${v.join(',')}]`);
  }
  return `[${r.join(',')}]`;
}

let seed = 7;
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
// Python's json.dumps of float32 data converted to float: 16-17 significant digits
const py17 = () => String(Math.fround(rand() * 2 - 1));
const short = () => (rand() * 10).toFixed(3);
const pixel = () => String(Math.floor(rand() * 256));
const pixelNorm = () => String(Math.fround(Math.floor(rand() * 256) / 255));

function image(gen: () => string): string {
  const h: string[] = [];
  for (let y = 0; y < 224; y++) h.push(rows(224, 3, gen));
  return `{"instances": [[${h.join(',')}]]}`;
}

const payloads: [string, Uint8Array][] = [
  ['[64,4] row, 17-digit floats', Buffer.from(`{"instances": ${rows(64, 4, py17)}}`)],
  ['[64,4] row, 3-decimal floats', Buffer.from(`{"instances": ${rows(64, 4, short)}}`)],
  ['[1,224,224,3] row, integer pixels', Buffer.from(image(pixel))],
  ['[1,224,224,3] row, 17-digit floats', Buffer.from(image(pixelNorm))],
];

// ---- the JSON.parse alternative ----
const decoder = new TextDecoder();
const NON_JSON = /(?<![\w."])(-?)(NaN|Infinity|Inf)(?![\w"])/g;
function jsonParseDecode(body: Uint8Array) {
  const text = decoder.decode(body);
  let doc: { instances?: unknown; inputs?: unknown };
  try {
    doc = JSON.parse(text);
  } catch {
    // pre-pass: NaN/Infinity tokens → sentinels JSON.parse accepts (not string-aware; a sketch)
    doc = JSON.parse(text.replace(NON_JSON, (_m, sign: string, tok: string) => (tok === 'NaN' ? '"__NaN__"' : `${sign}1e999`)));
  }
  const value = (doc.instances ?? doc.inputs) as unknown[];
  const shape: number[] = [];
  for (let v: unknown = value; Array.isArray(v); v = v[0]) shape.push(v.length);
  const t = allocTensor('float32', shape);
  const out = t.data as Float32Array;
  let i = 0;
  const walk = (v: unknown, depth: number): void => {
    if (depth === shape.length) {
      out[i++] = typeof v === 'number' ? v : v === '__NaN__' ? NaN : Number.NaN;
      return;
    }
    const a = v as unknown[];
    if (!Array.isArray(a) || a.length !== shape[depth]) throw new Error('ragged');
    for (let k = 0; k < a.length; k++) walk(a[k], depth + 1);
  };
  walk(value, 0);
  return t;
}

// sanity: both produce the same values
for (const [name, body] of payloads) {
  const a = decodePredictRequest(body, resolve).inputs.x!.data as Float32Array;
  const b = jsonParseDecode(body).data as Float32Array;
  if (a.length !== b.length || a.some((v, k) => v !== b[k])) throw new Error(`mismatch on ${name}`);
}

const bench = new Bench({ time: 1500, warmupTime: 300 });
for (const [name, body] of payloads) {
  bench.add(`jetserve tokenizer | ${name} (${(body.length / 1024).toFixed(0)} KiB)`, () => {
    decodePredictRequest(body, resolve);
  });
  bench.add(`JSON.parse + walk  | ${name} (${(body.length / 1024).toFixed(0)} KiB)`, () => {
    jsonParseDecode(body);
  });
}
// response side: TF Serving float text (%g 6 digits, 9-digit fallback)
for (const [rowsN, cols] of [
  [64, 4],
  [64, 1000],
] as const) {
  const data = new Float32Array(rowsN * cols);
  for (let k = 0; k < data.length; k++) data[k] = Math.fround(rand());
  const outputs = { y: { dtype: 'float32' as const, shape: [rowsN, cols], data } };
  bench.add(`encode response      | [${rowsN},${cols}] float32 row`, () => {
    encodePredictResponse(outputs, 'row');
  });
}
await bench.run();
console.log(`allocator: ${allocator}; node ${process.version}`);
console.table(
  bench.tasks.map((t) => {
    const r = t.result as { latency?: { mean: number; p50?: number; p99?: number }; throughput?: { mean: number } } | undefined;
    return {
      task: t.name,
      'median µs': r?.latency?.p50 !== undefined ? (r.latency.p50 * 1000).toFixed(1) : '?',
      'mean µs': r?.latency ? (r.latency.mean * 1000).toFixed(1) : '?',
      'p99 µs': r?.latency?.p99 !== undefined ? (r.latency.p99 * 1000).toFixed(1) : '?',
      'ops/s': r?.throughput ? r.throughput.mean.toFixed(0) : '?',
    };
  }),
);
