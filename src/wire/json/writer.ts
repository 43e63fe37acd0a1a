// JSON text for tensors: TF Serving's number formatting, byte strings, nested lists.
//
// Float text follows TF Serving's WriteDecimal: printf "%g" with 6 significant digits; when that
// does not parse back to the same value, max_digits10 (9 for float, 17 for double); ".0" appended
// when the text has neither '.' nor 'e'. Non-finite values are the bare tokens NaN, Infinity,
// -Infinity (not RFC 8259 JSON, as TF Serving writes them).

import { halfBitsToFloat32, bfloat16BitsToFloat32, type Tensor } from '../../engine/tensor.js';
import type { NumericData } from '../../engine/dtypes.js';
import { invalidArgument } from '../../errors.js';

const tieF64 = new Float64Array(1);
const tieU64 = new BigUint64Array(tieF64.buffer);

/** The double next to v toward zero (v finite, non-zero). */
function towardZero(v: number): number {
  tieF64[0] = v;
  tieU64[0] = tieU64[0]! - 1n;
  return tieF64[0]!;
}

/**
 * JS's toPrecision rounds exact ties away from zero; printf rounds them to even. True when v is
 * exactly halfway at `precision` digits and printf would round down.
 */
function tieRoundsDown(v: number, precision: number): boolean {
  const e = v.toExponential(precision); // precision + 1 significant digits
  const ePos = e.indexOf('e');
  if (e.charCodeAt(ePos - 1) !== 0x35) return false; // last digit must be 5
  const exact = v.toExponential(Math.min(100, precision + 40));
  const ex = exact.indexOf('e');
  for (let i = ePos; i < ex; i++) if (exact.charCodeAt(i) !== 0x30) return false;
  // the digit that stays: the precision-th significant digit
  const digits = e.slice(v < 0 ? 1 : 0, ePos).replace('.', '');
  return (digits.charCodeAt(precision - 1) - 0x30) % 2 === 0;
}

/** C printf "%.{p}g" for a finite number. */
export function formatG(v: number, precision: number): string {
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const w = tieRoundsDown(v, precision) ? towardZero(v) : v;
  let s = w.toPrecision(precision);
  const ePos = s.indexOf('e');
  if (ePos >= 0) {
    // JS: "1.23450e+7" → C: "1.2345e+07"
    let mant = s.slice(0, ePos);
    const expSign = s[ePos + 1]!;
    const expDigits = s.slice(ePos + 2);
    mant = stripZeros(mant);
    return `${mant}e${expSign}${expDigits.length < 2 ? '0' : ''}${expDigits}`;
  }
  // fixed notation; C switches to exponent form below 1e-4 (JS only below 1e-6)
  const a = Math.abs(v);
  if (a < 1e-4) {
    // 10^-4 boundary: toPrecision may have rounded up to 0.000100000
    const exp = w.toExponential(precision - 1);
    const rounded = Number(exp);
    if (Math.abs(rounded) < 1e-4) {
      const ep = exp.indexOf('e');
      const mant = stripZeros(exp.slice(0, ep));
      const sign = exp[ep + 1]!;
      const digits = exp.slice(ep + 2);
      return `${mant}e${sign}${digits.length < 2 ? '0' : ''}${digits}`;
    }
  }
  s = stripZeros(s);
  return s;
}

function stripZeros(s: string): string {
  if (s.indexOf('.') < 0) return s;
  let end = s.length;
  while (s.charCodeAt(end - 1) === 0x30) end--;
  if (s.charCodeAt(end - 1) === 0x2e) end--;
  return s.slice(0, end);
}

function nonFinite(v: number): string {
  return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
}

function withPoint(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2e || c === 0x65) return s;
  }
  return `${s}.0`;
}

const POW10: number[] = [];
for (let i = 0; i <= 22; i++) POW10.push(Number(`1e${i}`));

/**
 * %.{p}g of a float32 in fixed notation when the decimal exponent X is in [-4, 5] (fixed for both
 * p = 6 and p = 9): the text when the p-digit rounding parses back to `a`, undefined when it does
 * not, null when this path cannot say (X estimated too high, or the rounding carried into a digit
 * that puts the value in exponent form). Rounds half to even like printf (exact for the products
 * involved, which fit a double).
 */
function fixedFloat32(a: number, x: number, p: number): string | undefined | null {
  const got = fixedDigits(a, x, p);
  if (got !== 1) return got === 0 ? undefined : null;
  const m = fixedM;
  const k = fixedK;
  let digits = String(m);
  // strip trailing zeros of the fraction
  let end = digits.length;
  let decimals = k;
  while (decimals > 0 && digits.charCodeAt(end - 1) === 0x30) {
    end--;
    decimals--;
  }
  digits = digits.slice(0, end);
  if (decimals === 0) return `${digits}.0`;
  if (decimals >= digits.length) return `0.${'0'.repeat(decimals - digits.length)}${digits}`;
  return `${digits.slice(0, digits.length - decimals)}.${digits.slice(digits.length - decimals)}`;
}

/**
 * floor(log10(a)) for a in [1e-4, 1e6), by comparisons: the same exponent as Math.floor(Math.log10)
 * for every float32 in that range (all 279,080,168 checked), at a few compares instead of a libm
 * log (0.7 % of a tiny predict's server CPU under perf): 120 → 93 ns per float (writer.ts formatFloat32, 4,096 random floats, old and new alternated 3×, best of 7).
 */
function decimalExponent(a: number): number {
  if (a >= 1) return a >= 1e3 ? (a >= 1e5 ? 5 : a >= 1e4 ? 4 : 3) : a >= 1e2 ? 2 : a >= 10 ? 1 : 0;
  return a >= 1e-2 ? (a >= 1e-1 ? -1 : -2) : a >= 1e-3 ? -3 : -4;
}

/** A float32 value as TF Serving writes it. */
export function formatFloat32(v: number): string {
  if (!Number.isFinite(v)) return nonFinite(v);
  const a = v < 0 ? -v : v;
  if (a >= 1e-4 && a < 1e6) {
    const x = decimalExponent(a);
    let s = fixedFloat32(a, x, 6);
    if (s === undefined) s = fixedFloat32(a, x, 9);
    if (typeof s === 'string') return v < 0 ? `-${s}` : s;
  }
  let s = formatG(v, 6);
  if (Math.fround(Number(s)) !== v) s = formatG(v, 9);
  return withPoint(s);
}

/** fixedDigits' result: the p-digit rounding and its decimals. */
let fixedM = 0;
let fixedK = 0;

/**
 * The p-digit fixed-notation rounding of `a` (decimal exponent x): 1 with the digits in fixedM and
 * the decimals in fixedK, 0 when the rounding does not parse back to `a`, -1 when this path
 * cannot say (fixedFloat32 returns null then). fixedFloat32 and writeFloat32 both start here.
 */
function fixedDigits(a: number, x: number, p: number): number {
  let k = p - 1 - x; // decimals
  const scaled = a * POW10[k]!;
  let m = Math.round(scaled);
  if (m - scaled === 0.5 && m % 2 === 1) m--; // tie → even
  if (m < POW10[p - 1]!) return -1;
  if (m >= POW10[p]!) {
    // rounded up to a power of ten (0.0099999998 → 0.0100000): one decimal fewer, same p digits
    if (x + 1 > 5) return -1; // %g writes 1e+06 in exponent form
    m = POW10[p - 1]!;
    k--;
  }
  if (Math.fround(m / POW10[k]!) !== a) return 0;
  fixedM = m;
  fixedK = k;
  return 1;
}

/**
 * formatFloat32(v) written as ASCII into `out` at `at`; returns the index after it. The usual
 * values (fixed notation) go from the rounded integer to digits without the strings formatFloat32
 * builds (String(m), two slices, a template); the rest copy formatFloat32's text. `out` needs
 * room for 16 bytes.
 */
export function writeFloat32(out: Uint8Array, at: number, v: number): number {
  const a = v < 0 ? -v : v;
  if (a >= 1e-4 && a < 1e6) {
    const x = decimalExponent(a);
    let got = fixedDigits(a, x, 6);
    if (got === 0) got = fixedDigits(a, x, 9);
    if (got === 1) {
      let m = fixedM;
      let decimals = fixedK;
      // trailing zeros of the fraction go (m < 10^9: exact integer arithmetic)
      while (decimals > 0 && m % 10 === 0) {
        m /= 10;
        decimals--;
      }
      let len = 1;
      while (len < 10 && m >= POW10[len]!) len++;
      if (v < 0) out[at++] = 0x2d;
      if (decimals >= len) {
        out[at++] = 0x30;
        out[at++] = 0x2e;
        for (let z = decimals - len; z > 0; z--) out[at++] = 0x30;
        return writeDigits(out, at, m, len);
      }
      at = writeDigits(out, at, Math.floor(m / POW10[decimals]!), len - decimals);
      out[at++] = 0x2e;
      if (decimals === 0) {
        out[at++] = 0x30;
        return at;
      }
      return writeDigits(out, at, m % POW10[decimals]!, decimals);
    }
  }
  const text = formatFloat32(v);
  for (let i = 0; i < text.length; i++) out[at++] = text.charCodeAt(i);
  return at;
}

/** The `len` lowest decimal digits of n (zero-padded on the left), at `at`. */
function writeDigits(out: Uint8Array, at: number, n: number, len: number): number {
  for (let i = at + len - 1; i >= at; i--) {
    const q = Math.floor(n / 10);
    out[i] = 0x30 + (n - q * 10);
    n = q;
  }
  return at + len;
}

/** A float64 value as TF Serving writes it. */
export function formatFloat64(v: number): string {
  if (!Number.isFinite(v)) return nonFinite(v);
  let s = formatG(v, 6);
  if (Number(s) !== v) s = formatG(v, 17);
  return withPoint(s);
}

const utf8 = new TextDecoder();

/** A JSON string literal for UTF-8 bytes (invalid sequences become U+FFFD). */
export function jsonStringFromBytes(bytes: Uint8Array): string {
  // fast path: printable ASCII without quote/backslash
  let plain = bytes.length < 256;
  if (plain) {
    for (let i = 0; i < bytes.length; i++) {
      const c = bytes[i]!;
      if (c < 0x20 || c >= 0x7f || c === 0x22 || c === 0x5c) {
        plain = false;
        break;
      }
    }
  }
  if (plain) return `"${String.fromCharCode.apply(null, bytes as unknown as number[])}"`;
  return JSON.stringify(utf8.decode(bytes));
}

export function base64Of(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Formats element i of a tensor as JSON text. */
export type ElementFormatter = (i: number) => string;

export interface FormatterOptions {
  /** Write DT_STRING elements as {"b64": "..."} (TF Serving: output alias ends in "_bytes"). */
  bytesAsB64: boolean;
  /** TF DataTypeString of the dtype, for the error message. */
  onUnsupported: () => never;
}

/** Element formatter for a tensor in TF Serving's style. */
export function tfElementFormatter(t: Tensor, opts: FormatterOptions): ElementFormatter {
  const data = t.data;
  switch (t.dtype) {
    case 'float32': {
      const d = data as Float32Array;
      return (i) => formatFloat32(d[i]!);
    }
    case 'float64': {
      const d = data as Float64Array;
      return (i) => formatFloat64(d[i]!);
    }
    case 'float16': {
      const d = data as Uint16Array;
      return (i) => formatFloat32(halfBitsToFloat32(d[i]!));
    }
    case 'bfloat16': {
      const d = data as Uint16Array;
      return (i) => formatFloat32(bfloat16BitsToFloat32(d[i]!));
    }
    case 'int8':
    case 'int16':
    case 'int32':
    case 'uint8':
    case 'uint16':
    case 'uint32': {
      const d = data as Int32Array;
      return (i) => String(d[i]!);
    }
    case 'int64':
    case 'uint64':
      return int64Formatter(data as BigInt64Array, t.dtype === 'uint64');
    case 'bool': {
      const d = data as Uint8Array;
      return (i) => (d[i] ? 'true' : 'false');
    }
    case 'string': {
      const d = data as Uint8Array[];
      if (opts.bytesAsB64) return (i) => `{"b64": "${base64Of(d[i]!)}"}`;
      return (i) => jsonStringFromBytes(d[i]!);
    }
    default:
      return opts.onUnsupported();
  }
}

/** Exact decimal text of int64/uint64 elements without allocating a BigInt for small values. */
export function int64Formatter(data: BigInt64Array | BigUint64Array, unsigned: boolean): ElementFormatter {
  const words = new Uint32Array(data.buffer, data.byteOffset, data.length * 2);
  return (i) => {
    const lo = words[2 * i]!;
    const hiU = words[2 * i + 1]!;
    const hi = unsigned ? hiU : hiU | 0;
    if (hi >= -0x200000 && hi < 0x200000) return String(hi * 4294967296 + lo);
    return String(data[i]!);
  };
}

/** Nested JSON list text for the elements of `shape` starting at element `base`. */
export function nestedList(shape: readonly number[], dim: number, base: number, fmt: ElementFormatter): string {
  if (dim >= shape.length) return fmt(base);
  const n = shape[dim]!;
  let s = '[';
  if (dim === shape.length - 1) {
    for (let k = 0; k < n; k++) {
      if (k > 0) s += ', ';
      s += fmt(base + k);
    }
    return s + ']';
  }
  let stride = 1;
  for (let d = dim + 1; d < shape.length; d++) stride *= shape[d]!;
  for (let k = 0; k < n; k++) {
    if (k > 0) s += ', ';
    s += nestedList(shape, dim + 1, base + k * stride, fmt);
  }
  return s + ']';
}

/**
 * A streamed JSON text under construction: writers append to `text` and hand it out as a chunk
 * once it reaches `chunkChars`, so a response of any size holds at most about one chunk of text
 * (the single-string form of an 8 M-float response took 600+ MB of heap in V8's string ropes).
 */
export class ChunkedText {
  text = '';
  constructor(readonly chunkChars: number) {}

  /** The text so far, emptying it. */
  take(): string {
    const t = this.text;
    this.text = '';
    return t;
  }
}

/**
 * nestedList's text for the elements of shape[dim…] from element `base`, appended to `out`,
 * yielding a chunk each time `out` fills up. Walks the elements in order (no recursion): before
 * element i, one bracket closes and reopens for every dim whose stride divides i.
 */
export function* nestedListChunks(
  shape: readonly number[],
  dim: number,
  base: number,
  fmt: ElementFormatter,
  out: ChunkedText,
): Generator<string, void, undefined> {
  const sub = shape.length - dim;
  let count = 1;
  for (let d = dim; d < shape.length; d++) count *= shape[d]!;
  if (sub === 0 || count === 0) {
    // a scalar, or lists without elements: no element loop to slice
    out.text += nestedList(shape, dim, base, fmt);
    if (out.text.length >= out.chunkChars) yield out.take();
    return;
  }
  const strides = new Array<number>(sub);
  strides[sub - 1] = 1;
  for (let k = sub - 2; k >= 0; k--) strides[k] = strides[k + 1]! * shape[dim + k + 1]!;
  const limit = out.chunkChars;
  let text = out.text + '['.repeat(sub);
  for (let i = 0; i < count; i++) {
    if (i > 0) {
      let closes = 0;
      for (let k = sub - 2; k >= 0 && i % strides[k]! === 0; k--) closes++;
      text += closes === 0 ? ', ' : `${']'.repeat(closes)}, ${'['.repeat(closes)}`;
    }
    text += fmt(base + i);
    if (text.length >= limit) {
      out.text = '';
      yield text;
      text = '';
    }
  }
  out.text = text + ']'.repeat(sub);
}

/** flatList's text appended to `out`, yielding a chunk each time `out` fills up. */
export function* flatListChunks(count: number, fmt: ElementFormatter, out: ChunkedText): Generator<string, void, undefined> {
  const limit = out.chunkChars;
  let text = `${out.text}[`;
  for (let k = 0; k < count; k++) {
    if (k > 0) text += ',';
    text += fmt(k);
    if (text.length >= limit) {
      out.text = '';
      yield text;
      text = '';
    }
  }
  out.text = `${text}]`;
}

/** Flat JSON list text of `count` elements (KServe "data"). */
export function flatList(count: number, fmt: ElementFormatter): string {
  let s = '[';
  for (let k = 0; k < count; k++) {
    if (k > 0) s += ',';
    s += fmt(k);
  }
  return s + ']';
}

export function jsonString(s: string): string {
  return JSON.stringify(s);
}

/** Throws the TF Serving error for an output dtype JSON can't hold. */
export function unsupportedOutput(dtypeName: string): never {
  throw invalidArgument(`Failed to write JSON value for tensor type: ${dtypeName}`);
}

export type { NumericData };
