// HPACK (RFC 7541) for jetserve's HTTP/2 gRPC transport: a full decoder (static and dynamic
// tables, Huffman strings, table-size updates) and the few constant encodings the server sends
// (it never indexes what it writes, so its encoder needs no state).

/** RFC 7541 Appendix A: the static table, index 1..61 (entry 0 unused). */
const STATIC_TABLE: readonly (readonly [string, string])[] = [
  ['', ''],
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];
const STATIC_COUNT = STATIC_TABLE.length - 1;

/**
 * RFC 7541 Appendix B: Huffman code length of each symbol 0..255 and EOS (256). The code is
 * canonical (codes of one length are consecutive, in symbol order, shorter lengths first), so the
 * lengths determine every code.
 */
const HUFFMAN_LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, 20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22,
  23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, 22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22,
  21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26,
  27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26,
  26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, 30,
];
const EOS = 256;
const MAX_CODE_LENGTH = 30;

/** Canonical-code decoding tables: per length, the first code, the symbol count and offset. */
const huffman = (() => {
  const count = new Int32Array(MAX_CODE_LENGTH + 1);
  for (const len of HUFFMAN_LENGTHS) count[len]!++;
  const symbols: number[] = [];
  for (let len = 1; len <= MAX_CODE_LENGTH; len++) {
    for (let s = 0; s < HUFFMAN_LENGTHS.length; s++) if (HUFFMAN_LENGTHS[s] === len) symbols.push(s);
  }
  const firstCode = new Float64Array(MAX_CODE_LENGTH + 2); // up to 2^30: exact in doubles
  const offset = new Int32Array(MAX_CODE_LENGTH + 2);
  let code = 0;
  let index = 0;
  for (let len = 1; len <= MAX_CODE_LENGTH; len++) {
    firstCode[len] = code;
    offset[len] = index;
    code = (code + count[len]!) * 2;
    index += count[len]!;
  }
  const codes = new Float64Array(HUFFMAN_LENGTHS.length);
  for (let len = 1, c = 0; len <= MAX_CODE_LENGTH; len++) {
    for (let s = 0; s < HUFFMAN_LENGTHS.length; s++) if (HUFFMAN_LENGTHS[s] === len) codes[s] = c++;
    c *= 2;
  }
  return { count, symbols: Int32Array.from(symbols), firstCode, offset, codes };
})();

export class HpackError extends Error {
  override readonly name = 'HpackError';
}

/** Recently decoded Huffman strings by their encoded bytes (clients repeat the same values). */
const huffmanCache = new Map<string, string>();
const HUFFMAN_CACHE_MAX = 512;

/** Decodes a Huffman-coded string (RFC 7541 §5.2). */
export function huffmanDecode(buf: Uint8Array, start: number, end: number): string {
  const key = end - start <= 64 ? Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('latin1') : undefined;
  if (key !== undefined) {
    const hit = huffmanCache.get(key);
    if (hit !== undefined) return hit;
  }
  const decoded = huffmanDecodeUncached(buf, start, end);
  if (key !== undefined) {
    if (huffmanCache.size >= HUFFMAN_CACHE_MAX) huffmanCache.clear();
    huffmanCache.set(key, decoded);
  }
  return decoded;
}

function huffmanDecodeUncached(buf: Uint8Array, start: number, end: number): string {
  const { count, symbols, firstCode, offset } = huffman;
  const out: number[] = [];
  let code = 0;
  let len = 0;
  for (let i = start; i < end; i++) {
    const byte = buf[i]!;
    for (let bit = 7; bit >= 0; bit--) {
      code = code * 2 + ((byte >> bit) & 1);
      len++;
      const rel = code - firstCode[len]!;
      if (rel >= 0 && rel < count[len]!) {
        const sym = symbols[offset[len]! + rel]!;
        if (sym === EOS) throw new HpackError('Huffman string contains EOS');
        out.push(sym);
        code = 0;
        len = 0;
      } else if (len >= MAX_CODE_LENGTH) {
        throw new HpackError('invalid Huffman code');
      }
    }
  }
  // padding: at most 7 bits, all ones (a prefix of EOS)
  if (len > 7 || code !== 2 ** len - 1) throw new HpackError('invalid Huffman padding');
  return Buffer.from(out).toString('latin1');
}

/** Huffman-encodes a latin1 string (used by tests and tools; the server writes raw literals). */
export function huffmanEncode(s: string): Buffer {
  const { codes } = huffman;
  const bytes: number[] = [];
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    const sym = s.charCodeAt(i) & 0xff;
    const len = HUFFMAN_LENGTHS[sym]!;
    let code = codes[sym]!;
    // emit bit by bit (codes up to 30 bits)
    for (let b = len - 1; b >= 0; b--) {
      const bit = Math.floor(code / 2 ** b) & 1;
      code -= bit * 2 ** b;
      acc = (acc << 1) | bit;
      bits++;
      if (bits === 8) {
        bytes.push(acc);
        acc = 0;
        bits = 0;
      }
    }
  }
  if (bits > 0) bytes.push(((acc << (8 - bits)) | ((1 << (8 - bits)) - 1)) & 0xff);
  return Buffer.from(bytes);
}

export type HeaderSink = (name: string, value: string) => void;

/** A connection's HPACK decoder: the dynamic table persists across header blocks. */
export class HpackDecoder {
  private entries: [string, string][] = []; // newest first
  private size = 0;
  private maxSize: number;

  /** `maxTableSize` is SETTINGS_HEADER_TABLE_SIZE as this endpoint advertised it (default 4096). */
  constructor(private readonly maxTableSize = 4096) {
    this.maxSize = maxTableSize;
  }

  /** Decodes one complete header block, calling `sink` for every field in order. */
  decode(buf: Uint8Array, start: number, end: number, sink: HeaderSink): void {
    let pos = start;
    let first = true;
    const readInt = (prefixBits: number): number => {
      const mask = (1 << prefixBits) - 1;
      let value = buf[pos++]! & mask;
      if (value < mask) return value;
      let shift = 0;
      for (;;) {
        if (pos >= end) throw new HpackError('truncated integer');
        const b = buf[pos++]!;
        value += (b & 0x7f) * 2 ** shift;
        shift += 7;
        if (b < 0x80) break;
        if (shift > 28) throw new HpackError('integer too large');
      }
      return value;
    };
    const readString = (): string => {
      if (pos >= end) throw new HpackError('truncated string');
      const huff = (buf[pos]! & 0x80) !== 0;
      const len = readInt(7);
      if (pos + len > end) throw new HpackError('string runs past the header block');
      const s = huff ? huffmanDecode(buf, pos, pos + len) : Buffer.from(buf.buffer, buf.byteOffset + pos, len).toString('latin1');
      pos += len;
      return s;
    };
    while (pos < end) {
      const b = buf[pos]!;
      if (b & 0x80) {
        // indexed header field
        const [name, value] = this.get(readInt(7));
        sink(name, value);
      } else if (b & 0x40) {
        // literal with incremental indexing
        const index = readInt(6);
        const name = index === 0 ? readString() : this.get(index)[0];
        const value = readString();
        this.add(name, value);
        sink(name, value);
      } else if (b & 0x20) {
        // dynamic table size update (only at the start of a block)
        if (!first) throw new HpackError('table size update after a header field');
        const size = readInt(5);
        if (size > this.maxTableSize) throw new HpackError(`table size ${size} exceeds ${this.maxTableSize}`);
        this.maxSize = size;
        this.evict();
        continue;
      } else {
        // literal without indexing (0000) or never indexed (0001)
        const index = readInt(4);
        const name = index === 0 ? readString() : this.get(index)[0];
        sink(name, readString());
      }
      first = false;
    }
  }

  private get(index: number): readonly [string, string] {
    if (index === 0) throw new HpackError('index 0');
    if (index <= STATIC_COUNT) return STATIC_TABLE[index]!;
    const entry = this.entries[index - STATIC_COUNT - 1];
    if (!entry) throw new HpackError(`index ${index} is not in the dynamic table`);
    return entry;
  }

  private add(name: string, value: string): void {
    const size = name.length + value.length + 32;
    if (size > this.maxSize) {
      this.entries = [];
      this.size = 0;
      return;
    }
    this.entries.unshift([name, value]);
    this.size += size;
    this.evict();
  }

  private evict(): void {
    while (this.size > this.maxSize && this.entries.length > 0) {
      const [n, v] = this.entries.pop()!;
      this.size -= n.length + v.length + 32;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding (stateless: indexed static fields and literals without indexing)

function encodeInt(out: number[], value: number, prefixBits: number, firstByteFlags: number): void {
  const mask = (1 << prefixBits) - 1;
  if (value < mask) {
    out.push(firstByteFlags | value);
    return;
  }
  out.push(firstByteFlags | mask);
  value -= mask;
  while (value >= 0x80) {
    out.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  out.push(value);
}

/** Appends a literal header field without indexing (raw, not Huffman) to `out`. */
export function encodeLiteral(out: number[], name: string, value: string): void {
  const staticIndex = STATIC_TABLE.findIndex(([n], i) => i > 0 && n === name);
  if (staticIndex > 0) {
    encodeInt(out, staticIndex, 4, 0x00);
  } else {
    out.push(0x00);
    encodeInt(out, Buffer.byteLength(name, 'latin1'), 7, 0x00);
    for (const b of Buffer.from(name, 'latin1')) out.push(b);
  }
  const v = Buffer.from(value, 'latin1');
  encodeInt(out, v.length, 7, 0x00);
  for (const b of v) out.push(b);
}

/** `:status: 200` (static index 8). */
export const STATUS_200 = 0x88;

/** A header block from fields (":status: 200" is indexed; everything else literal). */
export function encodeHeaderBlock(fields: readonly (readonly [string, string])[]): Buffer {
  const out: number[] = [];
  for (const [name, value] of fields) {
    if (name === ':status' && value === '200') out.push(STATUS_200);
    else encodeLiteral(out, name, value);
  }
  return Buffer.from(out);
}
