// The TFRecord container (TensorFlow's tf.io / tf.data record files): each record is
// uint64 length (little endian), uint32 masked CRC-32C of the length bytes, the data, and uint32
// masked CRC-32C of the data. Warmup files are read with it; request logs are written with it.

import { JetserveError } from '../errors.js';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC-32C (Castagnoli), as TFRecord uses. */
export function crc32c(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** TFRecord's masked CRC: rotated right by 15 bits plus a constant. */
export function maskedCrc(buf: Uint8Array): number {
  const c = crc32c(buf);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** One record in the TFRecord framing (12-byte header, the data, 4-byte footer) as one buffer. */
export function frameTfRecord(data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(12 + data.length + 4);
  out.writeBigUInt64LE(BigInt(data.length), 0);
  out.writeUInt32LE(maskedCrc(out.subarray(0, 8)), 8);
  out.set(data, 12);
  out.writeUInt32LE(maskedCrc(data), 12 + data.length);
  return out;
}

/** Splits a TFRecord file into its records, checking both CRCs (DATA_LOSS when anything is off). */
export function readTfRecords(buf: Buffer, file: string): Buffer[] {
  const records: Buffer[] = [];
  let pos = 0;
  while (pos < buf.length) {
    if (pos + 12 > buf.length) throw new JetserveError('DATA_LOSS', `${file}: truncated record header at byte ${pos}`);
    const header = buf.subarray(pos, pos + 8);
    const len = Number(buf.readBigUInt64LE(pos));
    if (buf.readUInt32LE(pos + 8) !== maskedCrc(header)) {
      throw new JetserveError('DATA_LOSS', `${file}: corrupted record ${records.length} at byte ${pos} (length checksum mismatch)`);
    }
    const start = pos + 12;
    if (start + len + 4 > buf.length) throw new JetserveError('DATA_LOSS', `${file}: truncated record ${records.length} at byte ${pos}`);
    const data = buf.subarray(start, start + len);
    if (buf.readUInt32LE(start + len) !== maskedCrc(data)) {
      throw new JetserveError('DATA_LOSS', `${file}: corrupted record ${records.length} at byte ${pos} (data checksum mismatch)`);
    }
    records.push(data);
    pos = start + len + 4;
  }
  return records;
}
