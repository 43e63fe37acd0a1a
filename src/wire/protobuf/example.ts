// tf.Example protobuf, written by hand (tensorflow/core/example/{example,feature}.proto):
//   Example  { Features features = 1; }
//   Features { map<string, Feature> feature = 1; }       // map entry: key = 1, value = 2
//   Feature  { oneof kind { BytesList bytes_list = 1; FloatList float_list = 2; Int64List int64_list = 3; } }
//   BytesList { repeated bytes value = 1; }
//   FloatList { repeated float value = 1 [packed]; }
//   Int64List { repeated int64 value = 1 [packed]; }
// Used to turn TF Serving's JSON classify/regress examples into the serialized-Example DT_STRING
// tensor a classify/regress signature reads.

export type Feature =
  | { kind: 'bytes'; values: Uint8Array[] }
  | { kind: 'float'; values: number[] }
  | { kind: 'int64'; values: (number | bigint)[] }
  /** A feature with no values (the oneof left unset), e.g. JSON `[]`. */
  | { kind: 'none' };

/** Feature name → Feature, in the order they are written. */
export type Features = ReadonlyArray<readonly [string, Feature]> | ReadonlyMap<string, Feature>;

const textEncoder = new TextEncoder();

function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** Size of an int64 as a protobuf varint (negative values take 10 bytes). */
function int64VarintSize(v: number | bigint): number {
  if (typeof v === 'number' && v >= 0) return varintSize(v);
  let u = BigInt.asUintN(64, BigInt(v));
  let n = 1;
  while (u >= 0x80n) {
    u >>= 7n;
    n++;
  }
  return n;
}

class Writer {
  readonly buf: Uint8Array;
  pos = 0;
  private readonly view: DataView;
  constructor(size: number) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }
  byte(b: number): void {
    this.buf[this.pos++] = b;
  }
  varint(v: number): void {
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }
  int64(v: number | bigint): void {
    if (typeof v === 'number' && v >= 0) {
      this.varint(v);
      return;
    }
    let u = BigInt.asUintN(64, BigInt(v));
    while (u >= 0x80n) {
      this.buf[this.pos++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    this.buf[this.pos++] = Number(u);
  }
  bytes(b: Uint8Array): void {
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  float(v: number): void {
    this.view.setFloat32(this.pos, v, true);
    this.pos += 4;
  }
}

/** Byte size of a Feature message's body. */
function featureBodySize(f: Feature): number {
  switch (f.kind) {
    case 'none':
      return 0;
    case 'bytes': {
      let list = 0;
      for (const v of f.values) list += 1 + varintSize(v.length) + v.length;
      return 1 + varintSize(list) + list;
    }
    case 'float': {
      if (f.values.length === 0) return 2; // empty FloatList: tag + len 0
      const packed = 4 * f.values.length;
      const list = 1 + varintSize(packed) + packed;
      return 1 + varintSize(list) + list;
    }
    case 'int64': {
      if (f.values.length === 0) return 2;
      let packed = 0;
      for (const v of f.values) packed += int64VarintSize(v);
      const list = 1 + varintSize(packed) + packed;
      return 1 + varintSize(list) + list;
    }
  }
}

function writeFeature(w: Writer, f: Feature, bodySize: number): void {
  void bodySize;
  switch (f.kind) {
    case 'none':
      return;
    case 'bytes': {
      let list = 0;
      for (const v of f.values) list += 1 + varintSize(v.length) + v.length;
      w.byte(0x0a); // bytes_list = 1
      w.varint(list);
      for (const v of f.values) {
        w.byte(0x0a);
        w.varint(v.length);
        w.bytes(v);
      }
      return;
    }
    case 'float': {
      w.byte(0x12); // float_list = 2
      if (f.values.length === 0) {
        w.byte(0);
        return;
      }
      const packed = 4 * f.values.length;
      w.varint(1 + varintSize(packed) + packed);
      w.byte(0x0a);
      w.varint(packed);
      for (const v of f.values) w.float(v);
      return;
    }
    case 'int64': {
      w.byte(0x1a); // int64_list = 3
      if (f.values.length === 0) {
        w.byte(0);
        return;
      }
      let packed = 0;
      for (const v of f.values) packed += int64VarintSize(v);
      w.varint(1 + varintSize(packed) + packed);
      w.byte(0x0a);
      w.varint(packed);
      for (const v of f.values) w.int64(v);
      return;
    }
  }
}

/** Serializes a tf.Example. Feature names are UTF-8 encoded. */
export function encodeExample(features: Features): Uint8Array {
  const entries = [...features] as (readonly [string, Feature])[];
  const keys = entries.map(([k]) => textEncoder.encode(k));
  const bodies = entries.map(([, f]) => featureBodySize(f));
  const entrySizes = entries.map((_, i) => {
    const key = keys[i]!;
    return 1 + varintSize(key.length) + key.length + 1 + varintSize(bodies[i]!) + bodies[i]!;
  });
  let featuresSize = 0;
  for (const s of entrySizes) featuresSize += 1 + varintSize(s) + s;
  const total = entries.length === 0 ? 0 : 1 + varintSize(featuresSize) + featuresSize;
  const w = new Writer(total);
  if (entries.length === 0) return w.buf; // Example{} with no features: empty message
  w.byte(0x0a); // Example.features = 1
  w.varint(featuresSize);
  for (let i = 0; i < entries.length; i++) {
    w.byte(0x0a); // Features.feature = 1 (map entry)
    w.varint(entrySizes[i]!);
    w.byte(0x0a); // key = 1
    w.varint(keys[i]!.length);
    w.bytes(keys[i]!);
    w.byte(0x12); // value = 2
    w.varint(bodies[i]!);
    writeFeature(w, entries[i]![1], bodies[i]!);
  }
  if (w.pos !== total) throw new Error(`encodeExample: size mismatch ${w.pos} vs ${total}`);
  return w.buf;
}

// ---- decoding (tests, warmup records, debugging) ----

class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
      shift += 7n;
      if (shift > 63n) throw new Error('varint too long');
    }
  }
  len(): number {
    const n = Number(this.varint());
    if (this.pos + n > this.end) throw new Error('length past end of message');
    return n;
  }
  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.pos += this.len();
    else if (wireType === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wireType}`);
  }
}

/**
 * Parses a serialized tf.Example. Repeated map keys merge like protobuf (the last one wins), so
 * `context ‖ example` concatenations decode as the merged example.
 */
export function decodeExample(bytes: Uint8Array): Map<string, Feature> {
  const out = new Map<string, Feature>();
  const r = new Reader(bytes);
  while (r.pos < r.end) {
    const tag = Number(r.varint());
    if (tag !== 0x0a) {
      r.skip(tag & 7);
      continue;
    }
    const featuresEnd = r.len() + r.pos;
    const fr = new Reader(bytes, r.pos, featuresEnd);
    while (fr.pos < fr.end) {
      const t = Number(fr.varint());
      if (t !== 0x0a) {
        fr.skip(t & 7);
        continue;
      }
      const entryEnd = fr.len() + fr.pos;
      const er = new Reader(bytes, fr.pos, entryEnd);
      let key = '';
      let feature: Feature = { kind: 'none' };
      while (er.pos < er.end) {
        const et = Number(er.varint());
        if (et === 0x0a) {
          const n = er.len();
          key = new TextDecoder().decode(bytes.subarray(er.pos, er.pos + n));
          er.pos += n;
        } else if (et === 0x12) {
          const n = er.len();
          feature = decodeFeature(bytes, er.pos, er.pos + n);
          er.pos += n;
        } else {
          er.skip(et & 7);
        }
      }
      out.set(key, feature);
      fr.pos = entryEnd;
    }
    r.pos = featuresEnd;
  }
  return out;
}

function decodeFeature(bytes: Uint8Array, start: number, end: number): Feature {
  const r = new Reader(bytes, start, end);
  let feature: Feature = { kind: 'none' };
  while (r.pos < r.end) {
    const tag = Number(r.varint());
    const field = tag >>> 3;
    if ((tag & 7) !== 2 || field < 1 || field > 3) {
      r.skip(tag & 7);
      continue;
    }
    const listEnd = r.len() + r.pos;
    const lr = new Reader(bytes, r.pos, listEnd);
    if (field === 1) {
      const values: Uint8Array[] = [];
      while (lr.pos < lr.end) {
        const t = Number(lr.varint());
        if (t !== 0x0a) {
          lr.skip(t & 7);
          continue;
        }
        const n = lr.len();
        values.push(bytes.slice(lr.pos, lr.pos + n));
        lr.pos += n;
      }
      feature = { kind: 'bytes', values };
    } else if (field === 2) {
      const values: number[] = [];
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      while (lr.pos < lr.end) {
        const t = Number(lr.varint());
        if (t === 0x0a) {
          const n = lr.len();
          for (let p = lr.pos; p < lr.pos + n; p += 4) values.push(view.getFloat32(p, true));
          lr.pos += n;
        } else if (t === 0x0d) {
          values.push(view.getFloat32(lr.pos, true));
          lr.pos += 4;
        } else lr.skip(t & 7);
      }
      feature = { kind: 'float', values };
    } else {
      const values: (number | bigint)[] = [];
      const toValue = (u: bigint): number | bigint => {
        const s = BigInt.asIntN(64, u);
        return s >= BigInt(Number.MIN_SAFE_INTEGER) && s <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(s) : s;
      };
      while (lr.pos < lr.end) {
        const t = Number(lr.varint());
        if (t === 0x0a) {
          const packedEnd = lr.len() + lr.pos;
          while (lr.pos < packedEnd) values.push(toValue(lr.varint()));
        } else if (t === 0x08) {
          values.push(toValue(lr.varint()));
        } else lr.skip(t & 7);
      }
      feature = { kind: 'int64', values };
    }
    r.pos = listEnd;
  }
  return feature;
}

/** Concatenates serialized messages (protobuf merge semantics): used for context ‖ example. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
