// Protobuf wire format, hand-rolled for the hot paths (PredictRequest/Response, TensorProto,
// ModelInfer): a cursor reader over a Buffer that never copies (bytes fields come back as offsets
// into the request buffer) and a writer into one exactly-sized Buffer. Slow paths (metadata,
// status, config) use protobufjs reflection instead (schemas.ts).

export const WT_VARINT = 0;
export const WT_FIXED64 = 1;
export const WT_LEN = 2;
export const WT_START_GROUP = 3;
export const WT_END_GROUP = 4;
export const WT_FIXED32 = 5;

/** A malformed protobuf message (truncated, bad varint, bad wire type). */
export class WireError extends Error {
  override readonly name = 'WireError';
}

const TWO_32 = 4294967296;

/** Cursor over buf[pos, end). All reads are bounds-checked and throw WireError. */
export class WireReader {
  pos: number;
  end: number;
  /** Low / high 32 bits of the last readVarint64() (unsigned). */
  lo = 0;
  hi = 0;

  constructor(
    readonly buf: Buffer,
    start = 0,
    end = buf.length,
  ) {
    this.pos = start;
    this.end = end;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** Reads a field tag: (field number << 3) | wire type. */
  tag(): number {
    const tag = this.uint32();
    if (tag >>> 3 === 0) throw new WireError(`invalid field number 0 at offset ${this.pos}`);
    return tag;
  }

  /** A varint as uint32 (upper bits of a 64-bit varint are read and dropped, like int32 fields). */
  uint32(): number {
    const buf = this.buf;
    let pos = this.pos;
    const end = this.end;
    let value = 0;
    for (let shift = 0; shift < 32; shift += 7) {
      if (pos >= end) throw truncated(pos);
      const b = buf[pos++]!;
      value |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        return value >>> 0;
      }
    }
    // bytes 6..10 of a 10-byte varint (negative int32): skip them
    for (let i = 0; i < 5; i++) {
      if (pos >= end) throw truncated(pos);
      if (buf[pos++]! < 0x80) {
        this.pos = pos;
        return value >>> 0;
      }
    }
    throw new WireError(`malformed varint at offset ${this.pos}`);
  }

  /** A varint as int32 (two's complement of the low 32 bits). */
  int32(): number {
    return this.uint32() | 0;
  }

  /** A 64-bit varint into this.lo / this.hi (unsigned 32-bit halves). */
  readVarint64(): void {
    const buf = this.buf;
    let pos = this.pos;
    const end = this.end;
    let lo = 0;
    let hi = 0;
    let b: number;
    for (let shift = 0; shift < 28; shift += 7) {
      if (pos >= end) throw truncated(pos);
      b = buf[pos++]!;
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.lo = lo >>> 0;
        this.hi = 0;
        this.pos = pos;
        return;
      }
    }
    if (pos >= end) throw truncated(pos);
    b = buf[pos++]!;
    lo |= (b & 0x0f) << 28;
    hi = (b & 0x7f) >>> 4;
    if (b >= 0x80) {
      let shift = 3;
      for (;;) {
        if (pos >= end) throw truncated(pos);
        b = buf[pos++]!;
        hi |= (b & 0x7f) << shift;
        if (b < 0x80) break;
        shift += 7;
        if (shift > 31) throw new WireError(`malformed varint at offset ${this.pos}`);
      }
    }
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
    this.pos = pos;
  }

  /** An int64 varint as a JS number (exact below 2^53; negative values allowed). */
  int64Number(): number {
    this.readVarint64();
    if (this.hi & 0x80000000) {
      return -((~this.hi >>> 0) * TWO_32 + (~this.lo >>> 0) + 1);
    }
    return this.hi * TWO_32 + this.lo;
  }

  bool(): boolean {
    this.readVarint64();
    return (this.lo | this.hi) !== 0;
  }

  fixed32(): number {
    if (this.pos + 4 > this.end) throw truncated(this.pos);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  float(): number {
    if (this.pos + 4 > this.end) throw truncated(this.pos);
    const v = this.buf.readFloatLE(this.pos);
    this.pos += 4;
    return v;
  }

  double(): number {
    if (this.pos + 8 > this.end) throw truncated(this.pos);
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /** Reads a length prefix and returns the end offset of the delimited bytes (pos = their start). */
  lenEnd(): number {
    const len = this.uint32();
    const end = this.pos + len;
    if (end > this.end) throw new WireError(`length ${len} at offset ${this.pos} runs past the message end`);
    return end;
  }

  /** A length-delimited string (UTF-8). */
  string(): string {
    const end = this.lenEnd();
    const s = this.buf.toString('utf8', this.pos, end);
    this.pos = end;
    return s;
  }

  /** A length-delimited bytes field as a view into the buffer (no copy). */
  bytes(): Buffer {
    const end = this.lenEnd();
    const b = this.buf.subarray(this.pos, end);
    this.pos = end;
    return b;
  }

  /** Skips one field's value of the given wire type. */
  skip(wireType: number, field = 0): void {
    switch (wireType) {
      case WT_VARINT:
        this.readVarint64();
        return;
      case WT_FIXED64:
        if (this.pos + 8 > this.end) throw truncated(this.pos);
        this.pos += 8;
        return;
      case WT_LEN:
        this.pos = this.lenEnd();
        return;
      case WT_FIXED32:
        if (this.pos + 4 > this.end) throw truncated(this.pos);
        this.pos += 4;
        return;
      case WT_START_GROUP: {
        for (;;) {
          if (this.done) throw truncated(this.pos);
          const tag = this.tag();
          const wt = tag & 7;
          if (wt === WT_END_GROUP) {
            if (tag >>> 3 !== field) throw new WireError(`mismatched end group at offset ${this.pos}`);
            return;
          }
          this.skip(wt, tag >>> 3);
        }
      }
      default:
        throw new WireError(`invalid wire type ${wireType} at offset ${this.pos}`);
    }
  }
}

function truncated(pos: number): WireError {
  return new WireError(`message truncated at offset ${pos}`);
}

// ---------------------------------------------------------------------------------------------
// Writing: callers compute the exact size first (the *Size helpers), then write into one Buffer.

/** Bytes of a varint holding a non-negative integer below 2^53 (or a negative int64: 10 bytes). */
export function varintSize(value: number): number {
  if (value < 0) return 10;
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  if (value < 0x800000000) return 5;
  if (value < 0x40000000000) return 6;
  if (value < 0x2000000000000) return 7;
  if (value < 0x100000000000000) return 8;
  return 9;
}

/** Bytes of an int32 field value (negative int32 → 10 bytes, as protobuf sign-extends). */
export function int32Size(value: number): number {
  return value < 0 ? 10 : varintSize(value);
}

/** Bytes of a varint from unsigned 32-bit halves. */
export function varint64Size(lo: number, hi: number): number {
  if (hi === 0) return varintSize(lo >>> 0);
  return Math.ceil((64 - Math.clz32(hi)) / 7);
}

/** Bytes of a tag for a field number. */
export function tagSize(field: number): number {
  return varintSize(field << 3);
}

/** Bytes of a length-delimited field (tag + length + payload). */
export function lenFieldSize(field: number, payload: number): number {
  return tagSize(field) + varintSize(payload) + payload;
}

export class WireWriter {
  readonly buf: Buffer;
  pos = 0;
  /** Bytes referenced instead of copied (see external()), with the buffer position they follow. */
  private externals: { at: number; bytes: Uint8Array }[] | undefined;

  /** `size`: the bytes written into the buffer (external bytes are not counted). */
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /**
   * Puts `bytes` at the current position of the output without copying them: finishGather()
   * returns the buffer cut around each external piece.
   */
  external(bytes: Uint8Array): void {
    (this.externals ??= []).push({ at: this.pos, bytes });
  }

  /** The output as a list of pieces (buffer segments and external views), in order. */
  finishGather(): Buffer[] {
    const buf = this.finish();
    if (!this.externals) return [buf];
    const out: Buffer[] = [];
    let from = 0;
    for (const { at, bytes } of this.externals) {
      if (at > from) out.push(buf.subarray(from, at));
      out.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      from = at;
    }
    if (from < buf.length) out.push(buf.subarray(from));
    return out;
  }

  tag(field: number, wireType: number): void {
    this.varint((field << 3) | wireType);
  }

  /** A non-negative integer below 2^53, or a negative number as a 10-byte two's-complement varint. */
  varint(value: number): void {
    const buf = this.buf;
    if (value < 0) {
      this.varint64(value >>> 0, negHi(value));
      return;
    }
    while (value >= 0x80) {
      buf[this.pos++] = (value & 0x7f) | 0x80;
      value = value >= 0x10000000 ? Math.floor(value / 128) : value >>> 7;
    }
    buf[this.pos++] = value;
  }

  /** A 64-bit varint from unsigned 32-bit halves. */
  varint64(lo: number, hi: number): void {
    const buf = this.buf;
    lo >>>= 0;
    hi >>>= 0;
    while (hi !== 0 || lo >= 0x80) {
      buf[this.pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    buf[this.pos++] = lo;
  }

  bool(field: number, value: boolean): void {
    this.tag(field, WT_VARINT);
    this.buf[this.pos++] = value ? 1 : 0;
  }

  fixed32Float(value: number): void {
    this.buf.writeFloatLE(value, this.pos);
    this.pos += 4;
  }

  /** A length-delimited field holding raw bytes (one copy into the output). */
  bytesField(field: number, bytes: Uint8Array): void {
    this.tag(field, WT_LEN);
    this.varint(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** A length-delimited string field; byteLength must be Buffer.byteLength(s). */
  stringField(field: number, s: string, byteLength: number): void {
    this.tag(field, WT_LEN);
    this.varint(byteLength);
    if (byteLength > 0) this.pos += this.buf.write(s, this.pos, byteLength, 'utf8');
  }

  /** Starts a length-delimited field whose payload size is known. */
  lenHeader(field: number, payloadSize: number): void {
    this.tag(field, WT_LEN);
    this.varint(payloadSize);
  }

  raw(bytes: Uint8Array): void {
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** Checks that exactly the planned size was written (a bug guard, cheap). */
  finish(): Buffer {
    if (this.pos !== this.buf.length) {
      throw new Error(`protobuf writer size mismatch: wrote ${this.pos} of ${this.buf.length} bytes`);
    }
    return this.buf;
  }
}

/** High 32 bits of a negative safe integer in two's complement. */
function negHi(value: number): number {
  return Math.floor(value / TWO_32) >>> 0;
}
