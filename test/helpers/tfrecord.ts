// Bytes of a TFRecord file (TF Serving's warmup file format), for tests that write one by hand.

import { crc32c } from '../../src/models/warmup.js';

export function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

/** A length-delimited protobuf field (wire type 2). */
export const lenField = (field: number, bytes: Buffer): Buffer => Buffer.concat([varint((field << 3) | 2), varint(bytes.length), bytes]);

/** A TFRecord file (length, masked CRC-32C of the length, data, masked CRC-32C of the data). */
export function tfRecordFile(records: Buffer[]): Buffer {
  const masked = (b: Uint8Array) => {
    const c = crc32c(b);
    return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
  };
  const parts: Buffer[] = [];
  for (const r of records) {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(r.length));
    const crcs = Buffer.alloc(8);
    crcs.writeUInt32LE(masked(len), 0);
    crcs.writeUInt32LE(masked(r), 4);
    parts.push(len, crcs.subarray(0, 4), r, crcs.subarray(4));
  }
  return Buffer.concat(parts);
}
