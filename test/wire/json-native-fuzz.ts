// Generators for the native-vs-reference JSON codec test (json-native-differential.test.ts):
// seeded random TF Serving predict and KServe infer bodies that are valid, nearly valid or
// hostile in small ways (types, ragged lists, odd number spellings, escapes, invalid UTF-8, b64,
// duplicate keys, late signature names), byte mutations of them, and random output tensors.

import { TF_DATATYPE, type DType } from '../../src/engine/dtypes.js';
import type { SignatureInfo, TensorSpec } from '../../src/engine/signature.js';
import type { Tensor } from '../../src/engine/tensor.js';

/** mulberry32: a small seeded PRNG (deterministic runs). */
export class Rng {
  constructor(private state: number) {}
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

function spec(name: string, dtype: DType | undefined, shape: number[] | null, tfDtype?: number): TensorSpec {
  return { name: `${name}:0`, dtype, tfDtype: tfDtype ?? TF_DATATYPE[dtype!], shape };
}

const NUMERIC: DType[] = ['float32', 'float64', 'float16', 'bfloat16', 'int8', 'int16', 'int32', 'uint8', 'uint16', 'uint32', 'int64', 'uint64', 'bool'];

/** The signatures requests are decoded against (keyed like a model's). */
export function fuzzSignatures(): Record<string, SignatureInfo> {
  const out = (dtype: DType = 'float32') => ({ y: spec('y', dtype, null), z: spec('z', 'int64', [-1]) });
  const sigs: Record<string, SignatureInfo> = {
    serving_default: { methodName: 'p', inputs: { x: spec('x', 'float32', null) }, outputs: out() },
    fixed: { methodName: 'p', inputs: { x: spec('x', 'float32', [-1, 2]) }, outputs: out() },
    any: { methodName: 'p', inputs: { x: spec('x', 'float32', null) }, outputs: out() },
    str: { methodName: 'p', inputs: { s: spec('s', 'string', null) }, outputs: { y: spec('y', 'string', null) } },
    multi: {
      methodName: 'p',
      inputs: { b: spec('b', 'int32', [-1]), a: spec('a', 'float32', [-1, -1]), c: spec('c', 'string', null) },
      outputs: out('float64'),
    },
    odd: { methodName: 'p', inputs: { r: spec('r', undefined, null, 20), k: spec('k', 'complex64', null) }, outputs: { y: spec('y', 'complex64', null) } },
    none: { methodName: 'p', inputs: {}, outputs: out() },
  };
  for (const d of NUMERIC) sigs[d] = { methodName: 'p', inputs: { v: spec('v', d, null) }, outputs: out(d) };
  return sigs;
}

// ---- leaves ----

const NUMBER_TOKENS = [
  '0', '-0', '1', '-1', '7', '127', '128', '-128', '-129', '255', '256', '32767', '32768', '65535', '65536',
  '2147483647', '2147483648', '-2147483648', '-2147483649', '4294967295', '4294967296', '9007199254740993',
  '-9223372036854775808', '9223372036854775807', '9223372036854775808', '18446744073709551615',
  '18446744073709551616', '123456789012345678901234567890', '1.5', '-2.25', '0.1', '1e3', '1E-3', '-1e+2',
  '3.4028235e38', '3.5e38', '1e-46', '1.4e-45', '1e308', '1e309', '-1e400', '4.9e-324', '2.2250738585072014e-308',
  '0.30000000000000004', '16777217', '1.00000005960464477539', '65504', '65520', '6.1e-5', 'NaN', '-NaN',
  'Infinity', '-Infinity', 'Inf', '-Inf', '00', '01', '-', '1.', '.5', '1e', '1e+', '+1', '0x10', 'nan', 'inf',
  'Infinit', 'NaNa', '1.7976931348623157e308', '123456.7', '0.000123456', '99999.96',
];

/** Tokens every dtype of the kind accepts (clean bodies). */
const CLEAN_TOKENS: Record<string, string[]> = {
  float: ['0', '-0', '1.5', '-2.25', '0.1', '1e3', '1E-3', '3.5e38', '1e-46', '1e309', 'NaN', 'Infinity', '-Infinity', '-Inf', '16777217', '65520', '123456.7', '1.00000005960464477539'],
  int: ['0', '-0', '1', '7', '100', '127'],
  unsigned: ['0', '1', '7', '100', '255'],
  int64: ['0', '-1', '9007199254740993', '-9223372036854775808', '9223372036854775807', '123456789012345'],
  uint64: ['0', '9007199254740993', '18446744073709551615', '123456789012345'],
};

let cleanMode: string | undefined;

/** Bodies written while set use only valid leaves of that kind, and no ragged lists. */
export function setClean(kind: string | undefined): void {
  cleanMode = kind;
}

function randomNumber(rng: Rng): string {
  if (cleanMode !== undefined) {
    const tokens = CLEAN_TOKENS[cleanMode] ?? CLEAN_TOKENS.float!;
    if (cleanMode === 'float' && rng.chance(0.5)) return String((rng.next() - 0.5) * 10 ** (rng.int(20) - 10));
    return rng.pick(tokens);
  }
  if (rng.chance(0.5)) return rng.pick(NUMBER_TOKENS);
  const r = rng.int(5);
  if (r === 0) return String(rng.int(2000) - 1000);
  if (r === 1) return String((rng.next() - 0.5) * 10 ** (rng.int(20) - 10));
  if (r === 2) return (rng.next() * 100).toFixed(rng.int(8));
  if (r === 3) return `${rng.int(100)}e${rng.int(80) - 40}`;
  return String(Math.fround(rng.next() * 1000));
}

const STRING_BODIES = ['', 'a', 'hi there', 'é', '日本', '\\"', '\\\\', '\\n\\t', '\\u0041', '\\u00e9', '\\ud83d\\ude00',
  '\\ud800', '\\udc00', '\\x', '\\u12', 'tab\there', '\u0001'];

function randomString(rng: Rng): Uint8Array {
  const parts: number[] = [0x22];
  const n = rng.int(3);
  for (let i = 0; i < n; i++) {
    if (rng.chance(0.15)) {
      // raw bytes, valid or not as UTF-8
      const k = 1 + rng.int(3);
      for (let j = 0; j < k; j++) parts.push(rng.pick([0x80, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0xff, 0xed, 0xa0, 0x7f, 0x1f]));
    } else {
      for (const b of Buffer.from(rng.pick(STRING_BODIES), 'utf8')) parts.push(b);
    }
  }
  if (!rng.chance(0.02)) parts.push(0x22);
  return Uint8Array.from(parts);
}

const B64 = ['', 'aGk=', 'aGk', 'AA==', 'AAA=', 'AAAA', 'A', 'a+/=', 'a-_b', 'aGk==', '====', 'aGk=\\n', 'YWJj'];

export class BodyWriter {
  private parts: (string | Uint8Array)[] = [];
  constructor(private readonly rng: Rng) {}
  ws(): void {
    if (this.rng.chance(0.15)) this.parts.push(this.rng.pick([' ', '\n', '\t', '\r\n ', '  ']));
  }
  raw(s: string | Uint8Array): void {
    this.parts.push(s);
  }
  bytes(): Uint8Array {
    return Buffer.concat(this.parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));
  }
}

type LeafKind = 'number' | 'bool' | 'string' | 'b64' | 'other';

function leaf(w: BodyWriter, rng: Rng, kind: LeafKind): void {
  if (cleanMode !== undefined) {
    if (kind === 'bool') w.raw(rng.pick(['true', 'false']));
    else if (kind === 'string') w.raw(JSON.stringify(rng.pick(['', 'a', 'é', 'hi\n', '日本'])));
    else if (kind === 'b64') w.raw(`{"b64": "${rng.pick(['', 'aGk=', 'aGk', 'AA==', 'YWJj'])}"}`);
    else w.raw(randomNumber(rng));
    return;
  }
  const k: LeafKind = rng.chance(0.04) ? rng.pick(['number', 'bool', 'string', 'b64', 'other'] as const) : kind;
  if (k === 'number') w.raw(randomNumber(rng));
  else if (k === 'bool') w.raw(rng.pick(['true', 'false', 'tru', 'null']));
  else if (k === 'string') w.raw(randomString(rng));
  else if (k === 'b64') w.raw(rng.chance(0.8) ? `{"b64": "${rng.pick(B64)}"}` : rng.pick(['{"b64": 1}', '{"b64": "aGk=", "x": 1}', '{}', '{"B64":"aGk="}']));
  else w.raw(rng.pick(['null', '{}', '{"a": [1, {"b": null}]}', '[]', 'x']));
}

/** A nested list of `shape` (ragged now and then), leaves of `kind`. */
function list(w: BodyWriter, rng: Rng, shape: number[], kind: LeafKind): void {
  if (shape.length === 0) {
    leaf(w, rng, kind);
    return;
  }
  w.raw('[');
  let n = shape[0]!;
  if (cleanMode === undefined && rng.chance(0.03)) n += rng.pick([-1, 1]);
  for (let i = 0; i < n; i++) {
    if (i > 0) w.raw(',');
    w.ws();
    const sub = cleanMode === undefined && rng.chance(0.02) ? shape.slice(rng.chance(0.5) ? 2 : 0) : shape.slice(1);
    list(w, rng, sub, kind);
  }
  w.ws();
  w.raw(']');
}

function randomShape(rng: Rng, maxRank = 3): number[] {
  const rank = rng.int(maxRank + 1);
  return Array.from({ length: rank }, () => (rng.chance(0.05) ? 0 : 1 + rng.int(3)));
}

function kindOf(dtype: DType | undefined): LeafKind {
  if (dtype === 'bool') return 'bool';
  if (dtype === 'string') return rng0.chance(0.5) ? 'string' : 'b64';
  return 'number';
}
const rng0 = new Rng(1);

/** The leaf kind of clean bodies for a dtype. */
export function cleanKind(dtype: DType | undefined): string {
  if (dtype === 'int64' || dtype === 'uint64') return dtype;
  if (dtype === 'uint8' || dtype === 'uint16' || dtype === 'uint32') return 'unsigned';
  if (dtype === 'int8' || dtype === 'int16' || dtype === 'int32') return 'int';
  return 'float';
}

/** A TF Serving predict body for one of `sigs` (or a wrong one). */
export function predictBody(rng: Rng, sigs: Record<string, SignatureInfo>, key = rng.chance(0.5) ? 'serving_default' : rng.pick(Object.keys(sigs))): Uint8Array {
  const sig = sigs[key]!;
  const w = new BodyWriter(rng);
  const members: (() => void)[] = [];
  const named = key !== 'serving_default' || rng.chance(0.1);
  if (named) {
    members.push(() => {
      w.raw('"signature_name":');
      w.ws();
      w.raw(cleanMode !== undefined || rng.chance(0.9) ? JSON.stringify(cleanMode === undefined && rng.chance(0.05) ? 'nope' : key) : rng.pick(['1', 'null', '""']));
    });
  }
  const inputs = Object.keys(sig.inputs);
  const row = rng.chance(0.5);
  const batch = 1 + rng.int(3);
  members.push(() => {
    w.raw(row ? '"instances":' : '"inputs":');
    w.ws();
    if (row) {
      if (inputs.length > 1 || rng.chance(0.1)) {
        w.raw('[');
        for (let r = 0; r < batch; r++) {
          if (r > 0) w.raw(',');
          w.raw('{');
          const keys = cleanMode !== undefined || rng.chance(0.9) ? inputs : [...inputs, rng.pick(['zz', 'a', 'x'])].slice(rng.int(2));
          keys.forEach((n, i) => {
            if (i > 0) w.raw(',');
            w.raw(`${JSON.stringify(n)}:`);
            list(w, rng, randomShape(rng, 2), kindOf(sig.inputs[n]?.dtype));
          });
          w.raw('}');
        }
        w.raw(']');
      } else {
        const shape = [batch, ...randomShape(rng, 2)];
        if (cleanMode === undefined && rng.chance(0.05)) w.raw(rng.pick(['[]', '1', '{"x": 1}', '"s"']));
        else list(w, rng, shape, kindOf(sig.inputs[inputs[0]!]?.dtype));
      }
    } else if (inputs.length === 1 && rng.chance(0.6)) {
      list(w, rng, randomShape(rng), kindOf(sig.inputs[inputs[0]!]?.dtype));
    } else {
      w.raw('{');
      const keys = cleanMode !== undefined || rng.chance(0.85) ? inputs : [...inputs, 'extra'].slice(rng.int(2));
      keys.forEach((n, i) => {
        if (i > 0) w.raw(',');
        w.raw(`${JSON.stringify(n)}:`);
        w.ws();
        list(w, rng, randomShape(rng), kindOf(sig.inputs[n]?.dtype));
      });
      w.raw('}');
    }
  });
  if (cleanMode === undefined && rng.chance(0.05)) members.push(() => w.raw(`"${row ? 'inputs' : 'instances'}": [1]`));
  if (rng.chance(0.1)) members.push(() => w.raw('"other": {"deep": [[1, {"k": "v"}], null, true]}'));
  if (cleanMode === undefined && rng.chance(0.05)) members.push(() => w.raw(`"${row ? 'instances' : 'inputs'}": "dup"`));
  // order: signature_name first, last or in between
  if (rng.chance(0.3)) members.reverse();
  w.ws();
  w.raw('{');
  members.forEach((m, i) => {
    if (i > 0) w.raw(',');
    w.ws();
    m();
    w.ws();
  });
  w.raw('}');
  if (rng.chance(0.05)) w.raw(' trailing');
  return w.bytes();
}

const KSERVE_DATATYPES: Record<string, string> = {
  float32: 'FP32', float64: 'FP64', float16: 'FP16', bfloat16: 'BF16', int8: 'INT8', int16: 'INT16', int32: 'INT32',
  uint8: 'UINT8', uint16: 'UINT16', uint32: 'UINT32', int64: 'INT64', uint64: 'UINT64', bool: 'BOOL', string: 'BYTES',
};

/** A KServe infer body (all JSON) for `sig`. */
export function inferBody(rng: Rng, sig: SignatureInfo): Uint8Array {
  const w = new BodyWriter(rng);
  const members: (() => void)[] = [];
  if (rng.chance(0.3)) members.push(() => w.raw(`"id": ${rng.chance(0.9) ? JSON.stringify(`r${rng.int(100)}`) : '7'}`));
  if (rng.chance(0.2)) {
    members.push(() =>
      w.raw(`"parameters": ${rng.pick(['{"binary_data_output": false}', '{"binary_data_output": 1}', '{"a": "b", "c": 2.5, "__proto__": true}', '[]', '{"x": {}}'])}`),
    );
  }
  const names = Object.keys(sig.inputs);
  members.push(() => {
    w.raw('"inputs": [');
    const list2 = rng.chance(0.9) ? names : [...names, 'ghost'].slice(rng.int(2));
    list2.forEach((n, i) => {
      if (i > 0) w.raw(',');
      const spec = sig.inputs[n];
      const dtype = spec?.dtype;
      const shape = randomShape(rng);
      const fields: (() => void)[] = [
        () => w.raw(`"name": ${JSON.stringify(n)}`),
        () => w.raw(`"datatype": "${rng.chance(0.95) ? (KSERVE_DATATYPES[dtype ?? 'float32'] ?? 'FP32') : rng.pick(['FP32', 'XX', 'INT64'])}"`),
        () => w.raw(`"shape": ${rng.chance(0.95) ? JSON.stringify(shape) : rng.pick(['[-1]', '[1.5]', '"x"', '[1e2]', '[-0]'])}`),
        () => {
          w.raw('"data": ');
          const count = shape.reduce((a, b) => a * b, 1);
          if (rng.chance(0.5)) list(w, rng, [count + (rng.chance(0.05) ? 1 : 0)], dtype === 'bool' ? 'bool' : dtype === 'string' ? 'string' : 'number');
          else list(w, rng, shape, dtype === 'bool' ? 'bool' : dtype === 'string' ? 'string' : 'number');
        },
      ];
      if (rng.chance(0.1)) fields.push(() => w.raw(rng.pick(['"parameters": {"binary_data_size": 4}', '"parameters": {"shared_memory_region": "r"}', '"parameters": {"k": 1}'])));
      if (rng.chance(0.4)) fields.reverse();
      if (rng.chance(0.1)) fields.splice(rng.int(fields.length), 1);
      w.raw('{');
      fields.forEach((f, j) => {
        if (j > 0) w.raw(',');
        w.ws();
        f();
      });
      w.raw('}');
    });
    w.raw(']');
  });
  if (rng.chance(0.3)) {
    const outs = Object.keys(sig.outputs);
    members.push(() =>
      w.raw(
        `"outputs": [${outs
          .filter(() => rng.chance(0.7))
          .concat(rng.chance(0.1) ? ['nope'] : [])
          .map((o) => `{"name": ${JSON.stringify(o)}${rng.chance(0.3) ? `, "parameters": ${rng.pick(['{"binary_data": true}', '{"binary_data": "x"}', '{"classification": 2}'])}` : ''}}`)
          .join(',')}]`,
      ),
    );
  }
  if (rng.chance(0.3)) members.reverse();
  w.raw('{');
  members.forEach((m, i) => {
    if (i > 0) w.raw(',');
    w.ws();
    m();
  });
  w.raw('}');
  return w.bytes();
}

const MUTATION_ALPHABET = Buffer.from('[]{},:"\\ 0123456789.eE+-NaInfitybrulsx\n\u00e9');

/** 1–3 byte edits: delete, insert, replace, truncate or duplicate a span. */
export function mutate(rng: Rng, src: Uint8Array): Uint8Array {
  let b = Buffer.from(src);
  const edits = 1 + rng.int(3);
  for (let k = 0; k < edits; k++) {
    const at = rng.int(b.length + 1);
    const op = rng.int(5);
    if (op === 0) b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
    else if (op === 1) b = Buffer.concat([b.subarray(0, at), Buffer.from([rng.pick([...MUTATION_ALPHABET])]), b.subarray(at)]);
    else if (op === 2 && b.length > 0) b[Math.min(at, b.length - 1)] = rng.pick([...MUTATION_ALPHABET]);
    else if (op === 3) b = b.subarray(0, at);
    else {
      const end = Math.min(b.length, at + rng.int(12));
      b = Buffer.concat([b.subarray(0, end), b.subarray(at, end), b.subarray(end)]);
    }
  }
  return new Uint8Array(b);
}

// ---- outputs ----

const OUTPUT_DTYPES: DType[] = [...NUMERIC, 'string'];

function randomBits(rng: Rng, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) out[i] = rng.int(256);
  return out;
}

const SPECIAL_FLOATS = [0, -0, NaN, Infinity, -Infinity, 1, -1, 0.1, 1e-4, 9.99999e-5, 1e6, 999999.5, 123456.7, 1e-45, 1.17549435e-38,
  3.4028234663852886e38, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 0.30000000000000004, 1 / 3, 2 / 3, 100, 1e21, 1e22, 99999.96];

/** A random output tensor of `dtype` and `shape` (float bits random, specials, and short decimals). */
export function randomTensor(rng: Rng, dtype: DType, shape: number[]): Tensor {
  const count = shape.reduce((a, b) => a * b, 1);
  if (dtype === 'string') {
    const data = Array.from({ length: count }, () => {
      const r = rng.int(3);
      if (r === 0) return Buffer.from(rng.pick(['', 'abc', 'é', '日本', '"q"', '\\', '\n\t\u0001\u007f', '😀']));
      return randomBits(rng, rng.int(6));
    });
    return { dtype, shape, data: data.map((d) => new Uint8Array(d)) };
  }
  const bits = randomBits(rng, count * ({ float16: 2, bfloat16: 2, int16: 2, uint16: 2, float32: 4, int32: 4, uint32: 4, float64: 8, int64: 8, uint64: 8 } as Record<string, number>)[dtype]! || count);
  const buffer = bits.buffer;
  if (dtype === 'float32' || dtype === 'float64') {
    const data = dtype === 'float32' ? new Float32Array(buffer) : new Float64Array(buffer);
    for (let i = 0; i < count; i++) {
      const r = rng.int(4);
      if (r === 0) data[i] = rng.pick(SPECIAL_FLOATS);
      else if (r === 1) data[i] = Number((rng.next() * 10 ** (rng.int(14) - 6)).toFixed(rng.int(7)));
      else if (r === 2) data[i] = (rng.next() - 0.5) * 10 ** (rng.int(12) - 5);
    }
    return { dtype, shape, data };
  }
  if (dtype === 'bool') return { dtype, shape, data: bits.map((b) => (rng.chance(0.9) ? b & 1 : b)) };
  const Ctor = { float16: Uint16Array, bfloat16: Uint16Array, int8: Int8Array, int16: Int16Array, int32: Int32Array, uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array, int64: BigInt64Array, uint64: BigUint64Array }[dtype as 'int8']!;
  return { dtype, shape, data: new Ctor(buffer) };
}

export function randomOutputs(rng: Rng, row: boolean): Record<string, Tensor> {
  const n = 1 + (rng.chance(0.3) ? rng.int(3) : 0);
  const batch = rng.int(4);
  const out: Record<string, Tensor> = {};
  for (let k = 0; k < n; k++) {
    const dtype = rng.pick(OUTPUT_DTYPES);
    const shape = row ? [batch, ...randomShape(rng, 2)] : randomShape(rng, 3);
    const name = rng.pick(['y', 'out', 'z_bytes', 'é"\\', `o${k}`, 'scores']) + (k > 0 ? String(k) : '');
    out[name] = randomTensor(rng, dtype, shape);
  }
  return out;
}
