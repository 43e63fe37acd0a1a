// The own transport reads plain TCP connections into one reused buffer (transport/socket-reads.ts),
// so whatever a connection keeps of a read after its callback returned must be a copy. Here many
// streams' requests arrive interleaved and cut anywhere: frame headers split between writes,
// header blocks in HEADERS + CONTINUATION pieces, messages in DATA frames of every size (some in
// one read, some across many, with and without a free pooled block), END_STREAM often in a later
// write after other streams' bytes, PINGs in between. Each stream sends its own values and every
// answer is checked exactly against its own request. A reader that kept views of the read buffer
// (a message, a pending frame, a header fragment) sees them overwritten by the next read.

import * as net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestBodies } from '../../src/server/body-pool.js';
import { encodeHeaderBlock, HpackDecoder } from '../../src/server/grpc/transport/hpack.js';
import { decodeMessage } from '../../src/wire/protobuf/schemas.js';
import { predictRequest } from '../helpers/grpc-requests.js';
import { frame, lengthPrefixed, PREFACE, T } from './raw-h2.js';
import { fixtureModel, startStack, type Stack } from './stack.js';

const PREDICT = '/tensorflow.serving.PredictionService/Predict';
const MAX_FRAME = 16 * 1024;

/** A small deterministic PRNG (mulberry32): the same cuts on every run. */
function prng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n: number) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % n) >>> 0;
  };
}

/** Ends a write: the server reads what came before it on its own. */
const BREAK = 'break';
type Piece = Buffer | typeof BREAK;

interface StreamPlan {
  id: number;
  x: Float32Array;
  /** Frame groups in the order they must leave (a header block's frames are one group). */
  groups: Piece[][];
}

function settings(entries: [number, number][]): Buffer {
  const p = Buffer.alloc(entries.length * 6);
  entries.forEach(([k, v], i) => {
    p.writeUInt16BE(k, i * 6);
    p.writeUInt32BE(v, i * 6 + 2);
  });
  return frame(T.SETTINGS, 0, 0, p);
}

function windowUpdate(streamId: number, inc: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(inc);
  return frame(T.WINDOW_UPDATE, 0, streamId, p);
}

/** One stream's request: its own values, its header block in pieces, its message in DATA frames. */
function planStream(id: number, n: number, rand: (n: number) => number): StreamPlan {
  const x = new Float32Array(n);
  // values unique to the stream and position (exact in float32, as is 0.5x + 2)
  for (let i = 0; i < n; i++) x[i] = id * 4096 + (i % 4093) - 2048;
  const request = predictRequest('half_plus_two', { x: { dtype: 'float32', shape: [n], data: x } });
  const block = encodeHeaderBlock([
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', PREDICT],
    [':authority', 'localhost'],
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
    ['x-stream-tag', `stream-${id}-`.repeat(20 + id)],
  ]);
  // a short HEADERS and 1-3 CONTINUATIONs, each in a read of its own: the later, longer reads
  // overwrite where the earlier fragments were read
  const cuts = [0, 1 + rand(24)];
  for (let k = rand(3); k > 0; k--) cuts.push(cuts[1]! + 1 + rand(block.length - cuts[1]! - 1));
  cuts.push(block.length);
  cuts.sort((a, b) => a - b);
  const headerFrames: Piece[] = [BREAK];
  for (let k = 0; k + 1 < cuts.length; k++) {
    const last = k + 2 === cuts.length;
    headerFrames.push(frame(k === 0 ? T.HEADERS : T.CONTINUATION, last ? 0x4 : 0, id, block.subarray(cuts[k], cuts[k + 1])), BREAK);
  }
  const payload = lengthPrefixed(request);
  // END_STREAM on the last DATA frame, or alone in an empty DATA frame sent later
  const endApart = rand(3) !== 0;
  const groups: Piece[][] = [headerFrames];
  for (let at = 0; at < payload.length; ) {
    const size = Math.min(payload.length - at, rand(4) === 0 ? 1 + rand(64) : 1 + rand(MAX_FRAME));
    const last = at + size === payload.length;
    groups.push([frame(T.DATA, last && !endApart ? 1 : 0, id, payload.subarray(at, at + size))]);
    at += size;
  }
  if (endApart) groups.push([frame(T.DATA, 1, id)]);
  return { id, x, groups };
}

interface Answer {
  data: Buffer[];
  trailers: Map<string, string> | undefined;
}

/** Sends the streams' frames interleaved, cut into writes at random byte positions, and collects the answers. */
async function exchange(
  port: number,
  plans: StreamPlan[],
  rand: (n: number) => number,
): Promise<{ answers: Map<number, Answer>; pings: Buffer[]; pingCount: number; goaway: boolean }> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.setNoDelay(true);
  const answers = new Map<number, Answer>(plans.map((p) => [p.id, { data: [], trailers: undefined }]));
  const pings: Buffer[] = [];
  let goaway = false;
  const decoder = new HpackDecoder();
  let pending = Buffer.alloc(0);
  let done: () => void = () => {};
  const allAnswered = new Promise<void>((resolve) => (done = resolve));
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 9) {
      const len = pending.readUIntBE(0, 3);
      if (pending.length < 9 + len) break;
      const type = pending[3]!;
      const flags = pending[4]!;
      const id = pending.readUInt32BE(5) & 0x7fffffff;
      const payload = Buffer.from(pending.subarray(9, 9 + len));
      pending = pending.subarray(9 + len);
      const answer = answers.get(id);
      if (type === T.DATA && answer) answer.data.push(payload);
      else if (type === T.HEADERS) {
        const fields = new Map<string, string>();
        decoder.decode(payload, 0, payload.length, (k, v) => fields.set(k, v));
        if (flags & 1 && answer) answer.trailers = fields;
      } else if (type === T.PING && flags & 1) pings.push(payload);
      else if (type === T.GOAWAY) goaway = true;
      if ([...answers.values()].every((a) => a.trailers) || goaway) done();
    }
  });
  socket.on('close', () => done());

  // the byte stream: preface, settings and windows large enough for every answer, then the
  // streams' frame groups merged in random order (each stream's own order kept), PINGs between
  const parts: Piece[] = [PREFACE, settings([[4, 16 * 1024 * 1024]]), windowUpdate(0, 64 * 1024 * 1024)];
  // streams open in id order (RFC 9113 §5.1.1): only the next unopened one may send its headers
  const queues = plans.map((p) => [...p.groups]);
  let opened = 0;
  let pingCount = 0;
  for (;;) {
    const live = queues.slice(0, opened + 1).filter((q) => q.length > 0);
    if (live.length === 0) break;
    const q = live[rand(live.length)]!;
    if (q === queues[opened]) opened++;
    parts.push(...q.shift()!);
    if (rand(12) === 0) {
      const ping = Buffer.alloc(8);
      ping.writeUInt32BE(0x50494e47, 0);
      ping.writeUInt32BE(pingCount++, 4);
      parts.push(frame(T.PING, 0, 0, ping));
    }
  }
  // between BREAKs, the bytes are cut at random places
  for (let p = 0; p < parts.length; ) {
    const run: Buffer[] = [];
    while (p < parts.length && parts[p] !== BREAK) run.push(parts[p++] as Buffer);
    p++;
    const bytes = Buffer.concat(run);
    for (let at = 0; at < bytes.length; ) {
      const size = Math.min(bytes.length - at, rand(3) === 0 ? 1 + rand(16) : 1 + rand(40_000));
      socket.write(bytes.subarray(at, at + size));
      at += size;
      // a timer turn lets the server read what was written on its own; sometimes writes coalesce
      if (at === bytes.length || rand(5) !== 0) await sleep(1);
    }
  }
  await Promise.race([allAnswered, sleep(20_000)]);
  socket.destroy();
  return { answers, pings, pingCount, goaway };
}

function outputY(message: Buffer): Float32Array {
  const msg = decodeMessage<{ outputs: Record<string, { tensor_content: Buffer }> }>('tensorflow.serving.PredictResponse', message);
  const c = msg.outputs.y!.tensor_content;
  return new Float32Array(c.buffer.slice(c.byteOffset, c.byteOffset + c.byteLength));
}

describe('reads into a reused buffer (jetserve transport)', () => {
  let stack: Stack;
  let port: number;

  beforeAll(async () => {
    stack = await startStack([fixtureModel('half_plus_two')], { tensorContentOutputs: true });
    port = Number(stack.target.split(':')[1]);
  });

  afterAll(async () => {
    await stack?.close();
  });

  // element counts: one-frame messages, messages across a few reads, and ones across many
  const SIZES = [1, 3, 40, 700, 3000, 5000, 9000, 20_000, 33_000, 70_000];

  for (const [seed, pool] of [
    [1, 'empty'],
    [2, 'empty'],
    [3, 'warm'],
    [4, 'warm'],
  ] as const) {
    it(`answers each of ${SIZES.length * 2} interleaved, finely cut streams with its own values (seed ${seed}, ${pool} body pool)`, async () => {
      const rand = prng(seed);
      // empty: every message of 16 KiB or more is gathered without a free block; warm: blocks wait
      for (let size = 16 * 1024; size <= 64 * 1024 * 1024; size *= 2) while (requestBodies.take(size) !== undefined) continue;
      if (pool === 'warm') for (const n of SIZES) requestBodies.release(requestBodies.alloc(4 * n + 64));
      const plans: StreamPlan[] = [];
      let id = 1;
      for (const n of [...SIZES, ...SIZES]) {
        plans.push(planStream(id, n + rand(7), rand));
        id += 2;
      }
      const { answers, pings, pingCount, goaway } = await exchange(port, plans, rand);
      expect(goaway, 'GOAWAY received').toBe(false);
      // PING payloads come back as sent
      expect(pings.map((p) => [p.readUInt32BE(0), p.readUInt32BE(4)])).toEqual(Array.from({ length: pingCount }, (_, k) => [0x50494e47, k]));
      for (const plan of plans) {
        const answer = answers.get(plan.id)!;
        expect(answer.trailers?.get('grpc-status'), `stream ${plan.id}: ${answer.trailers?.get('grpc-message')}`).toBe('0');
        const body = Buffer.concat(answer.data);
        expect(body.readUInt32BE(1)).toBe(body.length - 5);
        const y = outputY(body.subarray(5));
        const want = plan.x.map((v) => Math.fround(0.5 * v) + 2);
        expect(y.length).toBe(want.length);
        let wrong = 0;
        for (let i = 0; i < want.length; i++) if (y[i] !== want[i]) wrong++;
        expect(wrong, `stream ${plan.id}: ${wrong} of ${want.length} values differ`).toBe(0);
      }
    });
  }
});

describe('adopted sockets and the listener (jetserve transport)', () => {
  it('a graceful close ends idle connections with GOAWAY and completes once they and the client-closed ones are gone', { timeout: 15_000 }, async () => {
    const stack = await startStack([fixtureModel('half_plus_two')]);
    const port = Number(stack.target.split(':')[1]);
    const open = async () => {
      const s = net.connect(port, '127.0.0.1');
      await new Promise<void>((resolve, reject) => {
        s.once('connect', resolve);
        s.once('error', reject);
      });
      s.write(Buffer.concat([PREFACE, settings([])]));
      const got: Buffer[] = [];
      s.on('data', (d: Buffer) => got.push(d));
      const closed = new Promise<void>((resolve) => s.once('close', () => resolve()));
      return { s, got, closed };
    };
    const conns = [await open(), await open(), await open()];
    await sleep(50);
    // two leave on their own, one stays idle; the adopted socket sees the EOF and ends its side
    // too (the client's socket closes only then)
    conns[0]!.s.end();
    conns[1]!.s.destroy();
    await conns[0]!.closed;
    const started = performance.now();
    // net.Server.close() reports only once its connection count is back to 0: the adopted
    // sockets must carry it (a count held by the dropped wrappers would hang this close)
    await stack.close();
    expect(performance.now() - started).toBeLessThan(1900);
    await conns[2]!.closed;
    const idle = Buffer.concat(conns[2]!.got);
    // SETTINGS, SETTINGS ACK, then the GOAWAY notice (and its PING) and the final GOAWAY
    let goaways = 0;
    for (let at = 0; at + 9 <= idle.length; at += 9 + idle.readUIntBE(at, 3)) if (idle[at + 3] === T.GOAWAY) goaways++;
    expect(goaways).toBeGreaterThanOrEqual(1);
  });
});
