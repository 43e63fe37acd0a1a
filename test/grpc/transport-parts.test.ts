// The own transport's parts, each alone: the frame byte queue and encoders, flow-control windows,
// RFC 9113 request-header rules, and the gRPC message reader.

import { describe, expect, it } from 'vitest';
import { MessageReader } from '../../src/server/grpc/message-reader.js';
import { MAX_WINDOW, ReceiveWindow, SendWindow } from '../../src/server/grpc/transport/flow-control.js';
import { PerSecond, RecentIds } from '../../src/server/grpc/transport/bookkeeping.js';
import { ByteQueue, classifyPreface, ConnectionError, goawayFrame, PREFACE, rstStreamFrame, settingsFrame } from '../../src/server/grpc/transport/frames.js';
import { HeaderBlockReader } from '../../src/server/grpc/transport/header-block.js';
import { parsePeerSettings } from '../../src/server/grpc/transport/peer-settings.js';
import { addRequestField, checkTrailerField, finishRequestHead, newRequestHead } from '../../src/server/grpc/transport/request-headers.js';

describe('frames', () => {
  it('ByteQueue takes views inside a chunk and copies across chunks; peek does not consume', () => {
    const q = new ByteQueue();
    const a = Buffer.from('abcdef');
    q.push(a);
    q.push(Buffer.from('ghij'));
    expect(q.peek(8).toString()).toBe('abcdefgh');
    const view = q.take(3);
    expect(view.toString()).toBe('abc');
    expect(view.buffer).toBe(a.buffer); // a view, no copy
    expect(q.take(5).toString()).toBe('defgh');
    expect(q.takeSome(10).toString()).toBe('ij');
    expect(q.available).toBe(0);
  });

  it('encodes RST_STREAM, GOAWAY and SETTINGS as RFC 9113 lays them out', () => {
    expect(rstStreamFrame(5, 8).toString('hex')).toBe('000004030000000005' + '00000008');
    expect(goawayFrame(7, 11, 'x').toString('hex')).toBe('000009070000000000' + '00000007' + '0000000b' + '78');
    expect(settingsFrame([[3, 100]]).toString('hex')).toBe('000006040000000000' + '0003' + '00000064');
  });
});

describe('preface, settings, header blocks, bookkeeping', () => {
  it('tells the HTTP/2 preface, an HTTP/1.x request and anything else apart', () => {
    expect(classifyPreface(PREFACE)).toBe('h2');
    expect(classifyPreface(PREFACE.subarray(0, 10))).toBe('wait');
    expect(classifyPreface(Buffer.from('GET / HTTP/1.1\r\nhost: x\r\n'))).toBe('http1');
    expect(classifyPreface(Buffer.from('GET'))).toBe('wait');
    expect(classifyPreface(Buffer.from('INVALID CONNECTION PREFACE\r\n\r\n'))).toBe('other');
  });

  it('validates a client SETTINGS payload', () => {
    const one = (id: number, value: number) => {
      const b = Buffer.alloc(6);
      b.writeUInt16BE(id);
      b.writeUInt32BE(value, 2);
      return b;
    };
    expect(parsePeerSettings(Buffer.concat([one(4, 1 << 20), one(5, 32768)]))).toEqual({ initialWindowSize: 1 << 20, maxFrameSize: 32768 });
    expect(() => parsePeerSettings(one(2, 2))).toThrow(/ENABLE_PUSH/);
    expect(() => parsePeerSettings(one(4, 2 ** 31))).toThrow(/INITIAL_WINDOW_SIZE/);
    expect(() => parsePeerSettings(one(5, 100))).toThrow(/MAX_FRAME_SIZE/);
    expect(() => parsePeerSettings(Buffer.alloc(5))).toThrow(/multiple of 6/);
  });

  it('joins HEADERS + CONTINUATION and bounds the block while it arrives', () => {
    const r = new HeaderBlockReader(10, (max) => new ConnectionError(11, `over ${max}`));
    expect(r.headers(0, 1, Buffer.from('abcd'))).toBeUndefined();
    expect(r.open).toBe(true);
    expect(() => r.continuation(0x4, 3, Buffer.from('x'))).toThrow(/unexpected CONTINUATION/);
    const r2 = new HeaderBlockReader(10, (max) => new ConnectionError(11, `over ${max}`));
    r2.headers(0x1, 1, Buffer.from('abcd'));
    expect(r2.continuation(0x4, 1, Buffer.from('ef'))).toEqual({ streamId: 1, block: Buffer.from('abcdef'), endStream: true, selfDependent: false });
    r2.headers(0, 3, Buffer.from('abcdefgh'));
    expect(() => r2.continuation(0, 3, Buffer.from('ijk'))).toThrow(/over 10/);
    expect(() => r2.headers(0x4, 2, Buffer.alloc(1))).toThrow(/HEADERS on stream 2/);
  });

  it('remembers a bounded number of ids and counts per second', () => {
    const ids = new RecentIds(2);
    ids.add(1);
    ids.add(3);
    ids.add(5);
    expect([ids.has(1), ids.has(3), ids.has(5)]).toEqual([false, true, true]);
    const rate = new PerSecond();
    expect(rate.add(5000)).toBe(1);
    expect(rate.add(5500)).toBe(2);
    expect(rate.add(6001)).toBe(1);
  });
});

describe('flow control', () => {
  it('a send window refuses to grow past 2^31-1', () => {
    const w = new SendWindow(65535);
    expect(w.grow(MAX_WINDOW - 65535)).toBe(true);
    expect(w.grow(1)).toBe(false);
  });

  it('a receive window asks for an update once half is used and catches overruns', () => {
    const w = new ReceiveWindow(100);
    expect(w.receive(40)).toBe(true);
    expect(w.takeUpdate()).toBe(0);
    expect(w.receive(20)).toBe(true);
    expect(w.takeUpdate()).toBe(60);
    expect(w.receive(100)).toBe(true);
    expect(w.receive(1)).toBe(false);
  });
});

describe('request headers (RFC 9113 §8.2-8.3)', () => {
  const read = (fields: [string, string][], max = 16384) => {
    const head = newRequestHead();
    const seen = { v: false };
    for (const [n, v] of fields) addRequestField(head, n, v, max, seen);
    finishRequestHead(head);
    return head;
  };
  const ok: [string, string][] = [
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', '/a.B/C'],
    [':authority', 'h'],
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
    ['x-id', '1'],
  ];

  it('reads a gRPC request and keeps metadata fields in order', () => {
    const head = read(ok);
    expect(head.malformed).toBeUndefined();
    expect([head.method, head.path, head.contentType]).toEqual(['POST', '/a.B/C', 'application/grpc']);
    expect(head.fields).toEqual([['x-id', '1']]);
  });

  it.each([
    [[...ok, ['X-Upper', 'v']], /upper-case/],
    [[[':status', '200'], ...ok], /not a request pseudo-header/],
    [[['x-a', 'b'], ...ok], /after a regular header/],
    [[...ok, ['connection', 'close']], /connection-specific/],
    [[...ok.filter(([n]) => n !== 'te'), ['te', 'gzip']], /only "trailers"/],
    [ok.filter(([n]) => n !== ':method'), /no :method/],
    [ok.filter(([n]) => n !== ':scheme'), /no :scheme/],
    [ok.map(([n, v]): [string, string] => [n, n === ':path' ? '' : v]), /empty :path/],
    [[[':path', '/x'], ...ok], /duplicate :path/],
    [[...ok, ['content-length', 'abc']], /content-length/],
  ] as [[string, string][], RegExp][])('refuses %j', (fields, why) => {
    expect(read(fields).malformed).toMatch(why);
  });

  it('counts the header list size (name + value + 32 per field) and stops keeping fields past the limit', () => {
    const head = read([...ok, ['x-big', 'a'.repeat(1000)]], 512);
    expect(head.listSize).toBeGreaterThan(1000);
    expect(head.fields.find(([n]) => n === 'x-big')).toBeUndefined();
  });

  it('trailers carry no pseudo-headers', () => {
    expect(checkTrailerField(':path')).toMatch(/pseudo-header/);
    expect(checkTrailerField('grpc-status')).toBeUndefined();
  });
});

describe('message reader', () => {
  const sink = () => {
    const got: { messages: string[]; tooLarge: number[] } = { messages: [], tooLarge: [] };
    return {
      got,
      sink: { message: (b: Buffer) => got.messages.push(b.toString()), tooLarge: (n: number) => got.tooLarge.push(n) },
    };
  };
  const msg = (text: string) => {
    const out = Buffer.alloc(5 + text.length);
    out.writeUInt32BE(text.length, 1);
    out.write(text, 5);
    return out;
  };

  it('assembles messages split anywhere, several per chunk', () => {
    const { got, sink: s } = sink();
    const r = new MessageReader(1000, s);
    const all = Buffer.concat([msg('hello'), msg(''), msg('world!')]);
    for (let i = 0; i < all.length; i += 3) r.push(all.subarray(i, i + 3));
    expect(got.messages).toEqual(['hello', '', 'world!']);
    expect(r.atBoundary).toBe(true);
  });

  it('refuses a declared length over the limit at the prefix, holding nothing', () => {
    const { got, sink: s } = sink();
    const r = new MessageReader(1000, s);
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(512 * 1024 * 1024, 1);
    r.push(prefix);
    expect(got.tooLarge).toEqual([512 * 1024 * 1024]);
    expect(r.buffered).toBe(0);
  });

  it('copies every message (chunks may be a reused read buffer): into a free block from `take`, else memory from `alloc`', () => {
    const all = Buffer.concat([msg('split message one'), msg('split message two'), msg('3')]);
    const asked: string[] = [];
    const delivered: Buffer[] = [];
    const blocks: Uint8Array[] = [];
    const reader = (free: boolean) =>
      new MessageReader(
        1000,
        { message: (b: Buffer) => delivered.push(b), tooLarge: () => {} },
        (n) => (asked.push(`alloc ${n}`), new Uint8Array(64)),
        (n) => {
          asked.push(`take ${n}`);
          if (!free) return undefined;
          const block = new Uint8Array(64);
          blocks.push(block);
          return block;
        },
      );
    const r1 = reader(false);
    for (let i = 0; i < all.length; i += 4) r1.push(all.subarray(i, i + 4));
    expect(delivered.map(String)).toEqual(['split message one', 'split message two', '3']);
    // no free block: memory for what arrived, twice as much each time it is full; a message
    // inside one chunk is copied too
    expect(asked).toEqual(['take 17', 'alloc 3', 'alloc 7', 'alloc 14', 'alloc 17', 'take 17', 'alloc 1', 'alloc 5', 'alloc 10', 'alloc 17', 'alloc 1']);
    for (const d of delivered) expect(d.buffer).not.toBe(all.buffer);

    asked.length = 0;
    delivered.length = 0;
    const r2 = reader(true);
    for (let i = 0; i < all.length; i += 4) r2.push(all.subarray(i, i + 4));
    expect(delivered.map(String)).toEqual(['split message one', 'split message two', '3']);
    expect(asked).toEqual(['take 17', 'take 17', 'alloc 1']);
    // each message is the free block itself, filled as its chunks came
    expect(delivered[0]!.buffer).toBe(blocks[0]!.buffer);
    expect(delivered[1]!.buffer).toBe(blocks[1]!.buffer);
    expect(r2.atBoundary).toBe(true);
  });

  it('without a free block, a message spread over many chunks grows by doubling, outgrown blocks given back', () => {
    const length = 100_000;
    const payload = Buffer.alloc(length);
    for (let i = 0; i < length; i++) payload[i] = (i * 7) & 0xff;
    const all = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), payload]);
    all.writeUInt32BE(length, 1);
    const allocated: number[] = [];
    const released: number[] = [];
    const delivered: Buffer[] = [];
    const r = new MessageReader(
      -1,
      { message: (b: Buffer) => delivered.push(b), tooLarge: () => {} },
      (n) => (allocated.push(n), new Uint8Array(n)),
      () => undefined,
      (b) => released.push(b.length),
    );
    // a reused chunk, overwritten after every push as a socket read buffer is
    const chunk = Buffer.alloc(1000);
    let received = 0;
    let most = 0;
    for (let i = 0; i < all.length; i += 1000) {
      const n = Math.min(1000, all.length - i);
      all.copy(chunk, 0, i, i + n);
      r.push(chunk.subarray(0, n));
      chunk.fill(0xee);
      received += n;
      most = Math.max(most, allocated.at(-1)! / (received - 5));
    }
    expect(delivered.length).toBe(1);
    expect(delivered[0]!.equals(payload)).toBe(true);
    expect(allocated).toEqual([995, 1995, 3990, 7980, 15_960, 31_920, 63_840, 100_000]);
    expect(released).toEqual(allocated.slice(0, -1));
    // memory follows the bytes received: never twice as much
    expect(most).toBeLessThanOrEqual(2);
  });

  it('holds only the bytes received for a large declared message', () => {
    const { sink: s } = sink();
    const r = new MessageReader(-1, s);
    const prefix = Buffer.alloc(5 + 100);
    prefix.writeUInt32BE(512 * 1024 * 1024, 1);
    r.push(prefix);
    expect(r.buffered).toBe(100);
    expect(r.atBoundary).toBe(false);
  });
});
