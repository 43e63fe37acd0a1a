// A byte-level JSON reader for request bodies. It exists because (a) TF Serving accepts the
// non-JSON tokens NaN / Infinity / -Infinity / Inf, which JSON.parse rejects; (b) int64 values
// beyond 2^53 must survive exactly; and (c) tensor payloads should go from the wire straight into
// the destination typed array without building nested JS arrays first.
//
// Pieces:
//  - syntax: skipValue / readString / readKey / readValue (small DOM for request metadata)
//  - measureTensor: the shape of a nested list by TF Serving's rule (element [0] at each level
//    defines the dim; later elements must match), without converting any number
//  - fillLeaves: walks a (nested or flat) list and writes every leaf into a destination, converting
//    per a LeafMode; numbers are parsed from bytes directly.
//
// Budgets (../limits.ts): every walker refuses nesting deeper than `maxJsonDepth`, counted from the
// top-level object (members() / elements() keep the depth of the container they iterate, so a
// walker started inside one knows where it is); the measuring walkers stop as soon as a tensor
// has more leaves than the request's element budget has left, before anything is allocated for
// them; readValue counts the values it builds against `valueBudget` when one is set.
//
// Errors are JetserveError INVALID_ARGUMENT. Syntax errors use rapidjson's English texts in TF
// Serving's form: "JSON Parse error: <text> at offset: <n>" (nesting too deep is one of them).
// An exceeded element budget is a LimitExceededError (RESOURCE_EXHAUSTED).

import { invalidArgument, JetserveError } from '../../errors.js';
import { float32ToBfloat16Bits, float32ToHalfBits } from '../../engine/tensor.js';
import type { DType } from '../../engine/dtypes.js';
import { DEFAULT_LIMITS, ElementBudget, REST_DEPTH_FLAG, type RequestLimits } from '../limits.js';

// ---- character codes ----
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const LOWER_E = 0x65;
const UPPER_E = 0x45;
const UPPER_N = 0x4e;
const UPPER_I = 0x49;
const LOWER_T = 0x74;
const LOWER_F = 0x66;
const LOWER_N = 0x6e;

const POW10: number[] = [];
for (let i = 0; i <= 22; i++) POW10.push(Number(`1e${i}`));

/** Largest mantissa to which one more decimal digit can be appended while staying below 2^53. */
const MANTISSA_LIMIT = 900719925474099;
/** Deepest nesting a tensor may have (TF's TensorShape allows 254 dims). */
export const MAX_RANK = 254;

export const ParseErrors = {
  empty: 'The document is empty.',
  invalidValue: 'Invalid value.',
  missName: 'Missing a name for object member.',
  missColon: 'Missing a colon after a name of object member.',
  missCommaOrBrace: "Missing a comma or '}' after an object member.",
  missCommaOrBracket: "Missing a comma or ']' after an array element.",
  badHex: 'Incorrect hex digit after \\u escape in string.',
  badSurrogate: 'The surrogate pair in string is invalid.',
  badEscape: 'Invalid escape character in string.',
  missQuote: 'Missing a closing quotation mark in string.',
  badEncoding: 'Invalid encoding in string.',
  missFraction: 'Miss fraction part in number.',
  missExponent: 'Miss exponent in number.',
} as const;

/** What a leaf is converted to by fillLeaves. */
export enum LeafMode {
  /** number (incl. NaN/Infinity) → float32; correctly rounded via double for ≤16 digits. */
  Float32,
  /** number → float64, correctly rounded. */
  Float64,
  /** number → IEEE half bits. */
  Float16,
  /** number → bfloat16 bits. */
  BFloat16,
  /** integer token within [min, max] (≤ 2^53). */
  Int,
  /** integer token within int64 → BigInt64Array. */
  Int64,
  /** integer token within uint64 → BigUint64Array. */
  Uint64,
  /** true / false → 1 / 0. */
  Bool,
  /** JSON string → bytes. */
  String,
  /** JSON string or {"b64": "..."} → bytes (TF Serving). */
  StringOrB64,
}

/** JSON type names as TF Serving prints them in type errors. */
export type JsonTypeName = 'Null' | 'False' | 'True' | 'Object' | 'Array' | 'String' | 'Number';

/** A number token from readValue: keeps the text so integers beyond 2^53 stay exact. */
export class JsonNumber {
  constructor(
    readonly text: string,
    readonly value: number,
    /** True when the token has no fraction or exponent (and is not NaN/Infinity). */
    readonly isInteger: boolean,
  ) {}
  toBigInt(): bigint {
    return BigInt(this.text);
  }
  toString(): string {
    return this.text;
  }
}

export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | JsonObject;
/** Objects keep insertion order; a repeated key keeps its first value (as rapidjson's FindMember). */
export type JsonObject = Map<string, JsonValue>;

/** The shape of a nested list, measured without converting its leaves. */
export interface Measured {
  /** Byte offset where the value starts (first non-space byte). */
  start: number;
  /** Byte offset just after the value. */
  end: number;
  shape: number[];
  /** Number of leaves (product of shape). */
  count: number;
}

/** Context for error messages from fillLeaves. */
export interface FillContext {
  /** TF dtype name for type errors, e.g. "float". */
  dtypeName: string;
  /** Turns a leaf error into the final error (adds the input name, element index…). */
  wrap(message: string, leafIndex: number): JetserveError;
}

const textDecoder = new TextDecoder();
const EMPTY = new Uint8Array(0);

/** Numeric storage measureAndFill writes into. */
export type NumericArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** Thrown by measureAndFill when the input needs the precise (two-pass) path. */
export const FAST_PATH_MISS = new Error('fast path miss');

/** closeList without the error: false when the list's size contradicts the first one. */
function closeListFast(dims: number[], level: number, size: number): boolean {
  while (dims.length <= level) dims.push(-1);
  const known = dims[level]!;
  if (known === -1) {
    dims[level] = size;
    return true;
  }
  return known === size;
}

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

function hexValue(c: number): number {
  if (c >= ZERO && c <= NINE) return c - ZERO;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

export class JsonReader {
  readonly b: Uint8Array;
  /** End of the readable region (exclusive). */
  readonly n: number;
  pos = 0;
  /** Containers enclosing the values members() / elements() hand to their callbacks. */
  depth = 0;
  /** Deepest nesting allowed (the top-level value is depth 1). */
  readonly maxDepth: number;
  private readonly depthFlag: string;
  /** The request's tensor element budget: measuring walkers stop at what it has left. */
  budget: ElementBudget;
  /** When set, readValue takes one element from it per value it builds (its DOMs stay bounded). */
  valueBudget: ElementBudget | undefined;
  /** Set by number readers: offset just after the token. */
  private numEnd = 0;
  private bufView: Buffer | undefined;

  constructor(body: Uint8Array | string, length?: number, limits: RequestLimits = DEFAULT_LIMITS, budget?: ElementBudget) {
    this.maxDepth = limits.maxJsonDepth;
    this.depthFlag = limits.depthFlag ?? REST_DEPTH_FLAG;
    this.budget = budget ?? new ElementBudget(limits);
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    // Hot loops read b[p] without bounds checks: past the end a typed array yields undefined,
    // which fails every comparison. So the view must end exactly at the readable region.
    this.b = length !== undefined && length < bytes.length ? bytes.subarray(0, length) : bytes;
    this.n = this.b.length;
    // a Buffer body (the HTTP server's) serves latin1() itself: no second view per request
    if (Buffer.isBuffer(this.b)) this.bufView = this.b;
  }

  // ---- errors ----

  parseError(message: string, offset: number): JetserveError {
    return invalidArgument(`JSON Parse error: ${message} at offset: ${offset}`);
  }

  /** The refusal for a container opened at `offset` deeper than maxDepth. */
  tooDeep(offset: number): JetserveError {
    return this.parseError(`nesting exceeds the limit of ${this.maxDepth} levels (${this.depthFlag})`, offset);
  }

  /** The raw JSON text of the value starting at `start` (for error messages), shortened. */
  valueText(start: number, max = 120): string {
    let end: number;
    try {
      end = this.skipValue(start);
    } catch {
      end = Math.min(this.n, start + max);
    }
    const s = this.latin1(start, Math.min(end, start + max + 1));
    const text = s.length > max ? `${s.slice(0, max)}...` : s;
    // the slice may cut a UTF-8 sequence; decode leniently
    return Buffer.from(text, 'latin1').toString('utf8');
  }

  jsonType(start: number): JsonTypeName {
    const c = this.b[start];
    switch (c) {
      case LBRACE:
        return 'Object';
      case LBRACKET:
        return 'Array';
      case QUOTE:
        return 'String';
      case LOWER_T:
        return 'True';
      case LOWER_F:
        return 'False';
      case LOWER_N:
        return 'Null';
      default:
        return 'Number';
    }
  }

  private latin1(start: number, end: number): string {
    this.bufView ??= Buffer.from(this.b.buffer, this.b.byteOffset, this.b.byteLength);
    return this.bufView.toString('latin1', start, end);
  }

  // ---- whitespace & structure ----

  /** Skips JSON whitespace from p; returns the new offset. */
  ws(p: number): number {
    const b = this.b;
    const n = this.n;
    while (p < n) {
      const c = b[p]!;
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++;
      else break;
    }
    return p;
  }

  /** Byte at p, or -1 past the end. */
  at(p: number): number {
    return p < this.n ? this.b[p]! : -1;
  }

  /** Skips one complete JSON value starting at p (after whitespace); validates syntax; returns its end. */
  skipValue(p: number): number {
    // container stack: true = object, false = array
    const stack: boolean[] = [];
    const room = this.maxDepth - this.depth; // containers this value may open
    p = this.ws(p);
    for (;;) {
      // ---- a value at p ----
      const c = this.at(p);
      if ((c === LBRACKET || c === LBRACE) && stack.length >= room) throw this.tooDeep(p);
      if (c === LBRACKET) {
        p = this.ws(p + 1);
        if (this.at(p) === RBRACKET) {
          p++;
        } else {
          stack.push(false);
          continue;
        }
      } else if (c === LBRACE) {
        p = this.ws(p + 1);
        if (this.at(p) === RBRACE) {
          p++;
        } else {
          p = this.objectKey(p);
          stack.push(true);
          continue;
        }
      } else {
        p = this.skipScalar(p);
      }
      // ---- after a value: close containers / separators ----
      for (;;) {
        if (stack.length === 0) return p;
        p = this.ws(p);
        const d = this.at(p);
        const inObject = stack[stack.length - 1]!;
        if (d === COMMA) {
          p = this.ws(p + 1);
          if (inObject) p = this.objectKey(p);
          break;
        }
        if (inObject ? d === RBRACE : d === RBRACKET) {
          p++;
          stack.pop();
          continue;
        }
        throw this.parseError(inObject ? ParseErrors.missCommaOrBrace : ParseErrors.missCommaOrBracket, p);
      }
    }
  }

  /** At a member name: skips `"key" :` and whitespace; returns the offset of the value. */
  private objectKey(p: number): number {
    if (this.at(p) !== QUOTE) throw this.parseError(ParseErrors.missName, p);
    p = this.skipString(p);
    p = this.ws(p);
    if (this.at(p) !== COLON) throw this.parseError(ParseErrors.missColon, p);
    return this.ws(p + 1);
  }

  /** Skips a non-container value (string, number, literal, NaN/Infinity). */
  skipScalar(p: number): number {
    const c = this.at(p);
    if (c === QUOTE) return this.skipString(p);
    if (c === LOWER_T) return this.literal(p, 'true');
    if (c === LOWER_F) return this.literal(p, 'false');
    if (c === LOWER_N) return this.literal(p, 'null');
    if (c === MINUS || isDigit(c) || c === UPPER_N || c === UPPER_I) return this.scanNumber(p);
    throw this.parseError(ParseErrors.invalidValue, p);
  }

  private literal(p: number, word: string): number {
    for (let i = 0; i < word.length; i++) {
      if (this.at(p + i) !== word.charCodeAt(i)) throw this.parseError(ParseErrors.invalidValue, p);
    }
    return p + word.length;
  }

  /** Validates a number token (incl. NaN, Inf, Infinity with optional '-'); returns its end. */
  scanNumber(p: number): number {
    const start = p;
    let c = this.at(p);
    if (c === MINUS) c = this.at(++p);
    if (c === UPPER_N || c === UPPER_I) return this.specialEnd(p, start);
    if (c === ZERO) {
      c = this.at(++p);
    } else if (isDigit(c)) {
      do c = this.at(++p);
      while (isDigit(c));
    } else {
      throw this.parseError(ParseErrors.invalidValue, start);
    }
    if (c === DOT) {
      c = this.at(++p);
      if (!isDigit(c)) throw this.parseError(ParseErrors.missFraction, p);
      do c = this.at(++p);
      while (isDigit(c));
    }
    if (c === LOWER_E || c === UPPER_E) {
      c = this.at(++p);
      if (c === PLUS || c === MINUS) c = this.at(++p);
      if (!isDigit(c)) throw this.parseError(ParseErrors.missExponent, p);
      do c = this.at(++p);
      while (isDigit(c));
    }
    return p;
  }

  /** p at 'N' or 'I': returns the end of NaN / Inf / Infinity or throws. */
  private specialEnd(p: number, start: number): number {
    if (this.at(p) === UPPER_N) {
      if (this.at(p + 1) === 0x61 && this.at(p + 2) === UPPER_N) return p + 3;
      throw this.parseError(ParseErrors.invalidValue, start);
    }
    if (this.at(p + 1) === 0x6e && this.at(p + 2) === 0x66) {
      // "Inf" or "Infinity"
      if (
        this.at(p + 3) === 0x69 &&
        this.at(p + 4) === 0x6e &&
        this.at(p + 5) === 0x69 &&
        this.at(p + 6) === 0x74 &&
        this.at(p + 7) === 0x79
      ) {
        return p + 8;
      }
      return p + 3;
    }
    throw this.parseError(ParseErrors.invalidValue, start);
  }

  /** Skips a string starting at the quote at p; validates escapes; returns the offset after the closing quote. */
  skipString(p: number): number {
    const b = this.b;
    const n = this.n;
    p++;
    for (;;) {
      if (p >= n) throw this.parseError(ParseErrors.missQuote, p);
      const c = b[p]!;
      if (c === QUOTE) return p + 1;
      if (c === BACKSLASH) {
        p = this.escape(p, null);
        continue;
      }
      if (c < 0x20) throw this.parseError(c === 0 ? ParseErrors.missQuote : ParseErrors.badEncoding, p);
      p++;
    }
  }

  /**
   * Handles the escape at p (the backslash). Appends the decoded UTF-8 bytes to `out` when given.
   * Returns the offset after the escape.
   */
  private escape(p: number, out: ByteSink | null): number {
    const e = this.at(p + 1);
    let byte = -1;
    switch (e) {
      case QUOTE:
      case BACKSLASH:
      case 0x2f:
        byte = e;
        break;
      case 0x62:
        byte = 0x08;
        break;
      case 0x66:
        byte = 0x0c;
        break;
      case LOWER_N:
        byte = 0x0a;
        break;
      case 0x72:
        byte = 0x0d;
        break;
      case LOWER_T:
        byte = 0x09;
        break;
      case 0x75: {
        let cp = this.hex4(p + 2);
        let next = p + 6;
        if (cp >= 0xd800 && cp <= 0xdbff) {
          if (this.at(next) !== BACKSLASH || this.at(next + 1) !== 0x75) {
            throw this.parseError(ParseErrors.badSurrogate, next);
          }
          const lo = this.hex4(next + 2);
          if (lo < 0xdc00 || lo > 0xdfff) throw this.parseError(ParseErrors.badSurrogate, next);
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          next += 6;
        } else if (cp >= 0xdc00 && cp <= 0xdfff) {
          throw this.parseError(ParseErrors.badSurrogate, p);
        }
        if (out) out.codePoint(cp);
        return next;
      }
      default:
        throw this.parseError(ParseErrors.badEscape, p + 1);
    }
    if (out) out.push(byte);
    return p + 2;
  }

  private hex4(p: number): number {
    let v = 0;
    for (let i = 0; i < 4; i++) {
      const h = hexValue(this.at(p + i));
      if (h < 0) throw this.parseError(ParseErrors.badHex, p);
      v = (v << 4) | h;
    }
    return v;
  }

  /** Reads the string at p (a quote) as bytes (a copy); sets this.pos after it. */
  readStringBytes(p: number): Uint8Array {
    const b = this.b;
    const n = this.n;
    let q = p + 1;
    // fast path: no escapes
    for (;;) {
      if (q >= n) throw this.parseError(ParseErrors.missQuote, q);
      const c = b[q]!;
      if (c === QUOTE) {
        this.pos = q + 1;
        return q === p + 1 ? EMPTY : b.slice(p + 1, q);
      }
      if (c === BACKSLASH) break;
      if (c < 0x20) throw this.parseError(c === 0 ? ParseErrors.missQuote : ParseErrors.badEncoding, q);
      q++;
    }
    const sink = new ByteSink(q - p + 16);
    sink.append(b, p + 1, q);
    for (;;) {
      if (q >= n) throw this.parseError(ParseErrors.missQuote, q);
      const c = b[q]!;
      if (c === QUOTE) {
        this.pos = q + 1;
        return sink.result();
      }
      if (c === BACKSLASH) {
        q = this.escape(q, sink);
        continue;
      }
      if (c < 0x20) throw this.parseError(c === 0 ? ParseErrors.missQuote : ParseErrors.badEncoding, q);
      sink.push(c);
      q++;
    }
  }

  /** Reads the string at p (a quote) as a JS string; sets this.pos after it. */
  readString(p: number): string {
    const b = this.b;
    const n = this.n;
    let q = p + 1;
    let ascii = true;
    for (;;) {
      if (q >= n) throw this.parseError(ParseErrors.missQuote, q);
      const c = b[q]!;
      if (c === QUOTE) {
        this.pos = q + 1;
        return ascii ? this.latin1(p + 1, q) : textDecoder.decode(b.subarray(p + 1, q));
      }
      if (c === BACKSLASH) break;
      if (c < 0x20) throw this.parseError(c === 0 ? ParseErrors.missQuote : ParseErrors.badEncoding, q);
      if (c >= 0x80) ascii = false;
      q++;
    }
    const bytes = this.readStringBytes(p);
    return textDecoder.decode(bytes);
  }

  // ---- small DOM (request metadata, classify examples, parameters) ----

  /** Parses the value at p (after whitespace) into a JsonValue; sets this.pos after it. */
  readValue(p: number, depth = 0): JsonValue {
    p = this.ws(p);
    const c = this.at(p);
    this.valueBudget?.take(1);
    if ((c === LBRACE || c === LBRACKET) && this.depth + depth >= this.maxDepth) throw this.tooDeep(p);
    if (c === LBRACE) {
      const obj: JsonObject = new Map();
      p = this.ws(p + 1);
      if (this.at(p) === RBRACE) {
        this.pos = p + 1;
        return obj;
      }
      for (;;) {
        if (this.at(p) !== QUOTE) throw this.parseError(ParseErrors.missName, p);
        const key = this.readString(p);
        p = this.ws(this.pos);
        if (this.at(p) !== COLON) throw this.parseError(ParseErrors.missColon, p);
        const value = this.readValue(p + 1, depth + 1);
        if (!obj.has(key)) obj.set(key, value);
        p = this.ws(this.pos);
        const d = this.at(p);
        if (d === COMMA) {
          p = this.ws(p + 1);
          continue;
        }
        if (d === RBRACE) {
          this.pos = p + 1;
          return obj;
        }
        throw this.parseError(ParseErrors.missCommaOrBrace, p);
      }
    }
    if (c === LBRACKET) {
      const arr: JsonValue[] = [];
      p = this.ws(p + 1);
      if (this.at(p) === RBRACKET) {
        this.pos = p + 1;
        return arr;
      }
      for (;;) {
        arr.push(this.readValue(p, depth + 1));
        p = this.ws(this.pos);
        const d = this.at(p);
        if (d === COMMA) {
          p = p + 1;
          continue;
        }
        if (d === RBRACKET) {
          this.pos = p + 1;
          return arr;
        }
        throw this.parseError(ParseErrors.missCommaOrBracket, p);
      }
    }
    if (c === QUOTE) return this.readString(p);
    if (c === LOWER_T) {
      this.pos = this.literal(p, 'true');
      return true;
    }
    if (c === LOWER_F) {
      this.pos = this.literal(p, 'false');
      return false;
    }
    if (c === LOWER_N) {
      this.pos = this.literal(p, 'null');
      return null;
    }
    const end = this.scanNumber(p);
    this.pos = end;
    const text = this.latin1(p, end);
    return new JsonNumber(text, numberFromText(text), isIntegerToken(this.b, p, end));
  }

  /**
   * Parses the top-level object's members, calling `onMember(key, valueStart)` for each; the callback
   * returns the value's end offset (it may skip or consume the value). Returns the offset after '}'.
   * Throws "The document is empty." / "Invalid value." like rapidjson; trailing bytes are ignored.
   */
  members(p: number, onMember: (key: string, valueStart: number) => number): number {
    p = this.ws(p);
    if (this.at(p) !== LBRACE) throw this.parseError(ParseErrors.missName, p);
    if (this.depth >= this.maxDepth) throw this.tooDeep(p);
    p = this.ws(p + 1);
    if (this.at(p) === RBRACE) return p + 1;
    this.depth++;
    try {
      return this.eachMember(p, onMember);
    } finally {
      this.depth--;
    }
  }

  private eachMember(p: number, onMember: (key: string, valueStart: number) => number): number {
    for (;;) {
      if (this.at(p) !== QUOTE) throw this.parseError(ParseErrors.missName, p);
      const key = this.readString(p);
      p = this.ws(this.pos);
      if (this.at(p) !== COLON) throw this.parseError(ParseErrors.missColon, p);
      p = this.ws(p + 1);
      p = this.ws(onMember(key, p));
      const d = this.at(p);
      if (d === COMMA) {
        p = this.ws(p + 1);
        continue;
      }
      if (d === RBRACE) return p + 1;
      throw this.parseError(ParseErrors.missCommaOrBrace, p);
    }
  }

  /**
   * Iterates the elements of the array at p: `onElement(index, elementStart)` returns the element's
   * end. Returns the offset after ']'.
   */
  elements(p: number, onElement: (index: number, elementStart: number) => number): number {
    p = this.ws(p);
    if (this.at(p) !== LBRACKET) throw this.parseError(ParseErrors.invalidValue, p);
    if (this.depth >= this.maxDepth) throw this.tooDeep(p);
    p = this.ws(p + 1);
    if (this.at(p) === RBRACKET) return p + 1;
    this.depth++;
    try {
      return this.eachElement(p, onElement);
    } finally {
      this.depth--;
    }
  }

  private eachElement(p: number, onElement: (index: number, elementStart: number) => number): number {
    for (let i = 0; ; i++) {
      p = this.ws(onElement(i, p));
      const d = this.at(p);
      if (d === COMMA) {
        p = this.ws(p + 1);
        continue;
      }
      if (d === RBRACKET) return p + 1;
      throw this.parseError(ParseErrors.missCommaOrBracket, p);
    }
  }

  /**
   * If the value at p is exactly {"b64": "<string>"} (one member), returns the offset of the string's
   * opening quote; otherwise -1. Does not validate the rest of a non-b64 object.
   */
  b64StringAt(p: number): number {
    if (this.at(p) !== LBRACE) return -1;
    let q = this.ws(p + 1);
    if (
      this.at(q) !== QUOTE ||
      this.at(q + 1) !== 0x62 ||
      this.at(q + 2) !== 0x36 ||
      this.at(q + 3) !== 0x34 ||
      this.at(q + 4) !== QUOTE
    ) {
      return -1;
    }
    q = this.ws(q + 5);
    if (this.at(q) !== COLON) return -1;
    q = this.ws(q + 1);
    if (this.at(q) !== QUOTE) return -1;
    const strStart = q;
    let end: number;
    try {
      end = this.skipString(q);
    } catch {
      return -1;
    }
    q = this.ws(end);
    return this.at(q) === RBRACE ? strStart : -1;
  }

  /** True when the value at p is an object other than a {"b64": …} value. */
  isPlainObject(p: number): boolean {
    return this.at(p) === LBRACE && this.b64StringAt(p) < 0;
  }

  // ---- tensors ----

  /**
   * Measures the (nested) list at p by TF Serving's rule. Errors (INVALID_ARGUMENT) for ragged lists
   * ("Encountered list at unexpected size"), leaves at the wrong depth ("found at incorrect level")
   * and lists nested too deep ("Encountered list at unexpected level"). A non-list value measures as
   * a scalar (shape []). Stops with the budget's error at the first leaf past what the request's
   * element budget has left (nothing is taken from the budget: the caller takes `count`).
   */
  measureTensor(p: number): Measured {
    const b = this.b;
    p = this.ws(p);
    const start = p;
    let c = b[p]!;
    const maxLeaves = this.budget.remaining;
    if (c !== LBRACKET) {
      if (maxLeaves < 1) throw this.budget.exceeded();
      const end = c === LBRACE ? this.skipValue(p) : this.skipScalar(p);
      return { start, end, shape: [], count: 1 };
    }
    const room = this.maxDepth - this.depth; // lists this value may open
    const dims: number[] = [];
    const counts: number[] = [];
    let rank = -1; // depth of the leaves, known after the first leaf or empty list
    let depth = 0; // lists currently open
    let leaves = 0;
    for (;;) {
      // ---- a value at p ----
      if (c === LBRACKET) {
        if (depth >= room) throw this.tooDeep(p);
        if (rank >= 0 && depth >= rank) {
          throw invalidArgument(`Encountered list at unexpected level: ${depth} expected < ${rank}`);
        }
        if (depth >= MAX_RANK) throw invalidArgument(`JSON list nesting exceeds the maximum tensor rank ${MAX_RANK}`);
        counts[depth] = 0;
        depth++;
        c = b[++p]!;
        while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++p]!;
        if (c !== RBRACKET) continue;
        // empty list
        if (rank < 0) rank = depth;
        p++;
        depth--;
        this.closeList(dims, depth, 0);
        if (depth > 0) counts[depth - 1]!++;
      } else {
        if (rank < 0) rank = depth;
        else if (depth !== rank) {
          throw invalidArgument(
            `JSON Value: ${this.valueText(p)} found at incorrect level: ${depth + 1} in the JSON DOM. Expected at level: ${rank}`,
          );
        }
        if (++leaves > maxLeaves) throw this.budget.exceeded();
        if (c === MINUS || (c >= ZERO && c <= NINE)) {
          const end = numberEnd(b, p);
          p = end >= 0 ? end : this.scanNumber(p); // scanNumber throws the precise syntax error
        } else {
          p = c === LBRACE ? this.skipValue(p) : this.skipScalar(p);
        }
        counts[depth - 1]!++;
      }
      // ---- after a value ----
      for (;;) {
        if (depth === 0) {
          const shape = dims.slice(0, rank);
          let count = 1;
          for (const d of shape) count *= d;
          return { start, end: p, shape, count };
        }
        c = b[p]!;
        while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++p]!;
        if (c === COMMA) {
          c = b[++p]!;
          while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++p]!;
          break;
        }
        if (c === RBRACKET) {
          p++;
          depth--;
          this.closeList(dims, depth, counts[depth]!);
          if (depth > 0) counts[depth - 1]!++;
          continue;
        }
        throw this.parseError(ParseErrors.missCommaOrBracket, p);
      }
    }
  }

  /** The first list closed at a level (on element [0]'s path) defines that dim; later ones must match. */
  private closeList(dims: number[], level: number, size: number): void {
    while (dims.length <= level) dims.push(-1);
    const known = dims[level]!;
    if (known === -1) {
      dims[level] = size;
    } else if (known !== size) {
      throw invalidArgument(`Encountered list at unexpected size: ${size} at level: ${level} expected size: ${known}`);
    }
  }

  /**
   * Writes every leaf of the value at p (a scalar or a nested/flat list) into `dest` starting at
   * `offset`, converting per `mode`. Writes at most `capacity` leaves: more leaves → error via
   * ctx.wrap. Validates syntax. Returns the number of leaves written; sets this.pos after the value.
   */
  fillLeaves(
    p: number,
    mode: LeafMode,
    dest: ArrayLike<number> | ArrayLike<bigint> | Uint8Array[],
    offset: number,
    capacity: number,
    ctx: FillContext,
    intMin = 0,
    intMax = 0,
  ): number {
    const b = this.b;
    let i = offset;
    const limit = offset + capacity;
    const room = this.maxDepth - this.depth; // lists this value may open
    let depth = 0;
    p = this.ws(p);
    let words: Uint32Array | undefined; // lo/hi words of int64 elements
    if (mode === LeafMode.Int64 || mode === LeafMode.Uint64) {
      const d = dest as BigInt64Array;
      words = new Uint32Array(d.buffer, d.byteOffset, d.length * 2);
    }
    const num = dest as Float32Array; // numeric stores (any typed array)
    const strings = dest as Uint8Array[];
    const exact = mode !== LeafMode.Float32;
    let c = b[p]!;
    for (;;) {
      // ---- a value at p ----
      if (c === LBRACKET) {
        if (depth >= room) throw this.tooDeep(p);
        depth++;
        c = b[++p]!;
        while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++p]!;
        if (c !== RBRACKET) continue;
        p++;
        depth--;
      } else {
        if (i >= limit) throw ctx.wrap(`more values than the shape holds (${capacity})`, i - offset);
        if (mode <= LeafMode.BFloat16) {
          if (c === MINUS || (c >= ZERO && c <= NINE) || c === UPPER_N || c === UPPER_I) {
            const v = this.readFloat(p, exact);
            if (mode === LeafMode.Float32 || mode === LeafMode.Float64) num[i] = v;
            else num[i] = mode === LeafMode.Float16 ? float32ToHalfBits(v) : float32ToBfloat16Bits(v);
            p = this.numEnd;
          } else {
            throw this.typeError(p, ctx, i - offset);
          }
        } else if (mode === LeafMode.Int) {
          if (!(c === MINUS || (c >= ZERO && c <= NINE))) throw this.typeError(p, ctx, i - offset);
          const v = this.readInt(p);
          if (typeof v !== 'number' || v < intMin || v > intMax) throw this.typeError(p, ctx, i - offset);
          num[i] = v;
          p = this.numEnd;
        } else if (mode === LeafMode.Int64 || mode === LeafMode.Uint64) {
          if (!(c === MINUS || (c >= ZERO && c <= NINE))) throw this.typeError(p, ctx, i - offset);
          const v = this.readInt(p);
          const unsigned = mode === LeafMode.Uint64;
          if (typeof v === 'number') {
            if (unsigned && v < 0) throw this.typeError(p, ctx, i - offset);
            words![2 * i] = v >>> 0;
            words![2 * i + 1] = Math.floor(v / 4294967296) >>> 0;
          } else if (v === undefined) {
            throw this.typeError(p, ctx, i - offset);
          } else {
            const big = this.readBigInt(p);
            const ok =
              big !== undefined &&
              (unsigned
                ? big >= 0n && big <= 0xffffffffffffffffn
                : big >= -0x8000000000000000n && big <= 0x7fffffffffffffffn);
            if (!ok) throw this.typeError(p, ctx, i - offset);
            (dest as BigInt64Array)[i] = big; // a BigUint64Array for uint64: same store
          }
          p = this.numEnd;
        } else if (mode === LeafMode.Bool) {
          if (c === LOWER_T && b[p + 1] === 0x72 && b[p + 2] === 0x75 && b[p + 3] === 0x65) {
            num[i] = 1;
            p += 4;
          } else if (c === LOWER_F && b[p + 1] === 0x61 && b[p + 2] === 0x6c && b[p + 3] === 0x73 && b[p + 4] === 0x65) {
            num[i] = 0;
            p += 5;
          } else {
            throw this.typeError(p, ctx, i - offset);
          }
        } else {
          // String / StringOrB64
          if (c === QUOTE) {
            strings[i] = this.readStringBytes(p);
            p = this.pos;
          } else if (c === LBRACE && mode === LeafMode.StringOrB64) {
            const q = this.b64StringAt(p);
            if (q < 0) {
              throw ctx.wrap(`JSON Value: ${this.valueText(p)} not formatted correctly for base64 data`, i - offset);
            }
            const bytes = decodeBase64Strict(this.readString(q));
            if (!bytes) throw ctx.wrap('Unable to base64 decode', i - offset);
            strings[i] = bytes;
            p = this.skipValue(p);
          } else {
            throw this.typeError(p, ctx, i - offset);
          }
        }
        i++;
      }
      // ---- after a value ----
      for (;;) {
        if (depth === 0) {
          this.pos = p;
          return i - offset;
        }
        c = b[p]!;
        while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++p]!;
        if (c === COMMA) {
          c = b[++p]!;
          while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++p]!;
          break;
        }
        if (c === RBRACKET) {
          p++;
          depth--;
          continue;
        }
        throw this.parseError(ParseErrors.missCommaOrBracket, p);
      }
    }
  }

  /**
   * One pass over the (nested) list at p: measures its shape by the same rule as measureTensor
   * AND writes its leaves, converted per `mode`, into storage from `grow` (numeric modes) — sized
   * from the bytes per leaf of the first innermost list, doubled when exceeded. For valid input the
   * result equals measureTensor + fillLeaves; on any problem it throws FastPathMiss (syntax errors
   * throw their usual parse error), and the caller redoes the work the precise way.
   */
  measureAndFill(
    p: number,
    mode: LeafMode,
    grow: (capacity: number, previous: NumericArray | undefined, used: number) => NumericArray,
    intMin = 0,
    intMax = 0,
  ): { shape: number[]; count: number; end: number; data: NumericArray | Uint8Array[] } {
    const b = this.b;
    p = this.ws(p);
    const start = p;
    const strings: Uint8Array[] | undefined = mode === LeafMode.String || mode === LeafMode.StringOrB64 ? [] : undefined;
    let dest: NumericArray | undefined;
    let cap = 0;
    let i = 0;
    const dims: number[] = [];
    const counts: number[] = [];
    let rank = -1;
    let depth = 0;
    let estimated = false;
    let c = b[p]!;
    const room = this.maxDepth - this.depth; // lists this value may open
    const maxLeaves = this.budget.remaining; // storage never grows past what the budget allows
    if (!strings) {
      cap = Math.min(256, Math.max(1, (this.n - start) >> 1), maxLeaves);
      dest = grow(cap, undefined, 0);
    }
    for (;;) {
      if (c === LBRACKET) {
        if (depth >= room) throw this.tooDeep(p);
        if ((rank >= 0 && depth >= rank) || depth >= MAX_RANK) throw FAST_PATH_MISS;
        counts[depth] = 0;
        depth++;
        c = b[++p]!;
        while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++p]!;
        if (c !== RBRACKET) continue;
        if (rank < 0) rank = depth;
        p++;
        depth--;
        if (!closeListFast(dims, depth, 0)) throw FAST_PATH_MISS;
        if (depth > 0) counts[depth - 1]!++;
      } else {
        if (rank < 0) rank = depth;
        else if (depth !== rank) throw FAST_PATH_MISS;
        if (i >= maxLeaves) throw this.budget.exceeded();
        if (strings) {
          p = this.leafString(p, mode, strings, i);
        } else {
          if (i === cap) {
            cap = Math.min(cap * 2, maxLeaves);
            dest = grow(cap, dest, i);
          }
          p = this.leafNumber(p, mode, dest!, i, intMin, intMax);
        }
        i++;
        if (depth > 0) counts[depth - 1]!++;
      }
      for (;;) {
        if (depth === 0) {
          const shape = dims.slice(0, Math.max(rank, 0));
          let count = 1;
          for (const d of shape) count *= d;
          if (count !== i) throw FAST_PATH_MISS;
          return { shape, count, end: p, data: strings ?? dest! };
        }
        c = b[p]!;
        while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++p]!;
        if (c === COMMA) {
          c = b[++p]!;
          while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++p]!;
          break;
        }
        if (c === RBRACKET) {
          p++;
          depth--;
          if (!closeListFast(dims, depth, counts[depth]!)) throw FAST_PATH_MISS;
          if (depth > 0) counts[depth - 1]!++;
          if (!estimated && !strings && i > 0) {
            // first list closed: size the storage from the bytes per leaf seen so far
            estimated = true;
            const want = Math.min(Math.ceil(((this.n - start) * i) / (p - start) * 1.05) + 16, maxLeaves);
            if (want > cap) {
              cap = want;
              dest = grow(cap, dest, i);
            }
          }
          continue;
        }
        throw this.parseError(ParseErrors.missCommaOrBracket, p);
      }
    }
  }

  /** Parses the numeric / bool leaf at p into dest[i]; returns the offset after it. */
  private leafNumber(p: number, mode: LeafMode, dest: NumericArray, i: number, intMin: number, intMax: number): number {
    const c = this.b[p]!;
    if (mode <= LeafMode.BFloat16) {
      if (!(c === MINUS || (c >= ZERO && c <= NINE) || c === UPPER_N || c === UPPER_I)) throw FAST_PATH_MISS;
      const v = this.readFloat(p, mode !== LeafMode.Float32);
      if (mode === LeafMode.Float32 || mode === LeafMode.Float64) (dest as Float32Array)[i] = v;
      else (dest as Uint16Array)[i] = mode === LeafMode.Float16 ? float32ToHalfBits(v) : float32ToBfloat16Bits(v);
      return this.numEnd;
    }
    if (mode === LeafMode.Bool) {
      const b = this.b;
      if (c === LOWER_T && b[p + 1] === 0x72 && b[p + 2] === 0x75 && b[p + 3] === 0x65) {
        (dest as Uint8Array)[i] = 1;
        return p + 4;
      }
      if (c === LOWER_F && b[p + 1] === 0x61 && b[p + 2] === 0x6c && b[p + 3] === 0x73 && b[p + 4] === 0x65) {
        (dest as Uint8Array)[i] = 0;
        return p + 5;
      }
      throw FAST_PATH_MISS;
    }
    if (!(c === MINUS || (c >= ZERO && c <= NINE))) throw FAST_PATH_MISS;
    const v = this.readInt(p);
    if (mode === LeafMode.Int) {
      if (typeof v !== 'number' || v < intMin || v > intMax) throw FAST_PATH_MISS;
      (dest as Int32Array)[i] = v;
      return this.numEnd;
    }
    // Int64 / Uint64
    if (typeof v === 'number') {
      if (mode === LeafMode.Uint64 && v < 0) throw FAST_PATH_MISS;
      (dest as BigInt64Array)[i] = BigInt(v);
      return this.numEnd;
    }
    if (v === undefined) throw FAST_PATH_MISS;
    const big = this.readBigInt(p);
    const ok =
      big !== undefined &&
      (mode === LeafMode.Uint64
        ? big >= 0n && big <= 0xffffffffffffffffn
        : big >= -0x8000000000000000n && big <= 0x7fffffffffffffffn);
    if (!ok) throw FAST_PATH_MISS;
    (dest as BigInt64Array)[i] = big;
    return this.numEnd;
  }

  /** Parses the string leaf at p (a string, or a b64 object for StringOrB64) into out[i]. */
  private leafString(p: number, mode: LeafMode, out: Uint8Array[], i: number): number {
    const c = this.b[p]!;
    if (c === QUOTE) {
      out[i] = this.readStringBytes(p);
      return this.pos;
    }
    if (c === LBRACE && mode === LeafMode.StringOrB64) {
      const q = this.b64StringAt(p);
      if (q < 0) throw FAST_PATH_MISS;
      const bytes = decodeBase64Strict(this.readString(q));
      if (!bytes) throw FAST_PATH_MISS;
      out[i] = bytes;
      return this.skipValue(p);
    }
    throw FAST_PATH_MISS;
  }

  /** "JSON Value: <v> Type: <T> is not of expected type: <dtype>" (after checking the leaf's syntax). */
  private typeError(p: number, ctx: FillContext, leafIndex: number): JetserveError {
    const c = this.at(p);
    if (c !== LBRACE && c !== LBRACKET) this.skipScalar(p); // a syntax error takes precedence
    return ctx.wrap(
      `JSON Value: ${this.valueText(p)} Type: ${this.jsonType(p)} is not of expected type: ${ctx.dtypeName}`,
      leafIndex,
    );
  }

  /**
   * Parses the number token at p as a double (NaN/Infinity tokens included); sets numEnd.
   * `exact`: correctly rounded double. Otherwise (float32 destinations) the double may be off by
   * a few ulps, except near a float32 rounding boundary, where the exact route is taken — so the
   * float32 result equals rounding the correctly rounded double.
   */
  readFloat(p: number, exact: boolean): number {
    const b = this.b;
    const start = p;
    let c = b[p]!;
    let neg = false;
    if (c === MINUS) {
      neg = true;
      c = b[++p]!;
    }
    if (c === UPPER_N || c === UPPER_I) {
      this.numEnd = this.specialEnd(p, start);
      return c === UPPER_N ? NaN : neg ? -Infinity : Infinity;
    }
    let mant = 0;
    let exp = 0;
    let truncated = false;
    if (c === ZERO) {
      c = b[++p]!;
    } else if (c > ZERO && c <= NINE) {
      do {
        if (mant < MANTISSA_LIMIT) mant = mant * 10 + (c - ZERO);
        else {
          exp++;
          truncated = true;
        }
        c = b[++p]!;
      } while (c >= ZERO && c <= NINE);
    } else {
      throw this.parseError(ParseErrors.invalidValue, start);
    }
    if (c === DOT) {
      c = b[++p]!;
      if (!(c >= ZERO && c <= NINE)) throw this.parseError(ParseErrors.missFraction, p);
      do {
        if (mant < MANTISSA_LIMIT) {
          mant = mant * 10 + (c - ZERO);
          exp--;
        } else if (c !== ZERO) {
          truncated = true;
        }
        c = b[++p]!;
      } while (c >= ZERO && c <= NINE);
    }
    if (c === LOWER_E || c === UPPER_E) {
      c = b[++p]!;
      let eneg = false;
      if (c === PLUS || c === MINUS) {
        eneg = c === MINUS;
        c = b[++p]!;
      }
      if (!(c >= ZERO && c <= NINE)) throw this.parseError(ParseErrors.missExponent, p);
      let e = 0;
      do {
        if (e < 100000) e = e * 10 + (c - ZERO);
        c = b[++p]!;
      } while (c >= ZERO && c <= NINE);
      exp += eneg ? -e : e;
    }
    this.numEnd = p;
    if (mant === 0) return neg ? -0 : 0;
    let v: number;
    if (!truncated && exp >= -22 && exp <= 22) {
      // Clinger's fast path: mantissa < 2^53 and an exact power of ten → one correct rounding
      v = exp === 0 ? mant : exp > 0 ? mant * POW10[exp]! : mant / POW10[-exp]!;
    } else if (!exact && exp > -290 && exp < 290) {
      v = exp >= 0 ? mant * 10 ** exp : mant / 10 ** -exp;
      if (!(v >= 1.1754943508222875e-38 && v <= 3.4028234663852886e38) || nearFloat32Tie(v)) {
        return Number(this.latin1(start, p));
      }
    } else {
      return Number(this.latin1(start, p));
    }
    return neg ? -v : v;
  }

  /**
   * Parses an integer token at p. Returns the value when it has ≤ 15 digits, 'big' when it is an
   * integer too long for exact double arithmetic (use readBigInt), or undefined when the token is
   * not an integer (fraction / exponent / NaN / Infinity). Sets numEnd. Syntax errors throw.
   */
  readInt(p: number): number | 'big' | undefined {
    const b = this.b;
    const start = p;
    let c = b[p]!;
    let neg = false;
    if (c === MINUS) {
      neg = true;
      c = b[++p]!;
    }
    let v = 0;
    let digits = 0;
    if (c === ZERO) {
      c = b[++p]!;
    } else if (c > ZERO && c <= NINE) {
      do {
        v = v * 10 + (c - ZERO);
        digits++;
        c = b[++p]!;
      } while (c >= ZERO && c <= NINE);
    } else {
      if (c === UPPER_N || c === UPPER_I) {
        this.numEnd = this.specialEnd(p, start);
        return undefined;
      }
      throw this.parseError(ParseErrors.invalidValue, start);
    }
    if (c === DOT || c === LOWER_E || c === UPPER_E) {
      this.numEnd = this.scanNumber(start);
      return undefined;
    }
    this.numEnd = p;
    if (digits > 15) return 'big';
    return neg ? -v : v;
  }

  /** The integer token at p as a BigInt (after readInt returned 'big'), or undefined. */
  readBigInt(p: number): bigint | undefined {
    const end = this.scanNumber(p);
    this.numEnd = end;
    if (!isIntegerToken(this.b, p, end)) return undefined;
    return BigInt(this.latin1(p, end));
  }
}

const tieF64 = new Float64Array(1);
const tieU32 = new Uint32Array(tieF64.buffer);

/**
 * True when a (normal-range) double lies within 2^-47 relative of a point halfway between two
 * float32 values, where an approximate double could round to the wrong float32.
 */
function nearFloat32Tie(v: number): boolean {
  tieF64[0] = v;
  const low29 = tieU32[0]! & 0x1fffffff; // the 29 significand bits float32 drops (little-endian)
  const d = low29 - 0x10000000;
  return d < 64 && d > -64;
}

/**
 * End of the JSON number token at p (which starts with '-' or a digit), or -1 when the token is
 * malformed. A tight loop for the measure pass; scanNumber gives the precise error.
 */
function numberEnd(b: Uint8Array, p: number): number {
  let c = b[p]!;
  if (c === MINUS) c = b[++p]!;
  if (c === ZERO) c = b[++p]!;
  else if (c > ZERO && c <= NINE) {
    do c = b[++p]!;
    while (c >= ZERO && c <= NINE);
  } else return -1;
  if (c === DOT) {
    c = b[++p]!;
    if (!(c >= ZERO && c <= NINE)) return -1;
    do c = b[++p]!;
    while (c >= ZERO && c <= NINE);
  }
  if (c === LOWER_E || c === UPPER_E) {
    c = b[++p]!;
    if (c === PLUS || c === MINUS) c = b[++p]!;
    if (!(c >= ZERO && c <= NINE)) return -1;
    do c = b[++p]!;
    while (c >= ZERO && c <= NINE);
  }
  return p;
}

function isIntegerToken(b: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    if (c === DOT || c === LOWER_E || c === UPPER_E || c === UPPER_N || c === UPPER_I) return false;
  }
  return true;
}

/** Number() of a JSON number token, also for NaN / Inf / Infinity with optional '-'. */
export function numberFromText(text: string): number {
  const body = text.startsWith('-') ? text.slice(1) : text;
  if (body === 'NaN') return NaN;
  if (body === 'Inf' || body === 'Infinity') return text.startsWith('-') ? -Infinity : Infinity;
  return Number(text);
}

/** A growable byte buffer for strings with escapes. */
class ByteSink {
  private buf: Uint8Array;
  private len = 0;
  constructor(capacity: number) {
    this.buf = new Uint8Array(capacity);
  }
  private ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + extra));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  push(byte: number): void {
    this.ensure(1);
    this.buf[this.len++] = byte;
  }
  append(src: Uint8Array, start: number, end: number): void {
    this.ensure(end - start);
    this.buf.set(src.subarray(start, end), this.len);
    this.len += end - start;
  }
  codePoint(cp: number): void {
    this.ensure(4);
    const buf = this.buf;
    if (cp < 0x80) buf[this.len++] = cp;
    else if (cp < 0x800) {
      buf[this.len++] = 0xc0 | (cp >> 6);
      buf[this.len++] = 0x80 | (cp & 0x3f);
    } else if (cp < 0x10000) {
      buf[this.len++] = 0xe0 | (cp >> 12);
      buf[this.len++] = 0x80 | ((cp >> 6) & 0x3f);
      buf[this.len++] = 0x80 | (cp & 0x3f);
    } else {
      buf[this.len++] = 0xf0 | (cp >> 18);
      buf[this.len++] = 0x80 | ((cp >> 12) & 0x3f);
      buf[this.len++] = 0x80 | ((cp >> 6) & 0x3f);
      buf[this.len++] = 0x80 | (cp & 0x3f);
    }
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Standard base64 (RFC 4648 alphabet, padding optional), strict like absl::Base64Unescape:
 * anything else (URL-safe characters, stray bytes, bad length) → undefined.
 */
export function decodeBase64Strict(text: string): Uint8Array | undefined {
  if (!BASE64_RE.test(text)) return undefined;
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  if (pad > 0 && text.length % 4 !== 0) return undefined;
  if ((text.length - pad) % 4 === 1) return undefined;
  const buf = Buffer.from(text, 'base64');
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** How the reader parses JSON leaves of each dtype (integer ranges checked per dtype). */
export interface LeafModeInfo {
  mode: LeafMode;
  min?: number;
  max?: number;
}

export const LEAF_MODES: Record<Exclude<DType, 'complex64' | 'complex128'>, LeafModeInfo> = {
  float16: { mode: LeafMode.Float16 },
  bfloat16: { mode: LeafMode.BFloat16 },
  float32: { mode: LeafMode.Float32 },
  float64: { mode: LeafMode.Float64 },
  int8: { mode: LeafMode.Int, min: -128, max: 127 },
  int16: { mode: LeafMode.Int, min: -32768, max: 32767 },
  int32: { mode: LeafMode.Int, min: -2147483648, max: 2147483647 },
  uint8: { mode: LeafMode.Int, min: 0, max: 255 },
  uint16: { mode: LeafMode.Int, min: 0, max: 65535 },
  uint32: { mode: LeafMode.Int, min: 0, max: 4294967295 },
  int64: { mode: LeafMode.Int64 },
  uint64: { mode: LeafMode.Uint64 },
  bool: { mode: LeafMode.Bool },
  string: { mode: LeafMode.String },
};
