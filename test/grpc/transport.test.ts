// jetserve's own HTTP/2 gRPC transport: HPACK against RFC 7541's examples and against nghttp2 (Node's
// http2 client) as an encoder, and the connection behaviours clients rely on — flow control with
// big messages, compression, keepalive pings, cancellation, deadlines while running, graceful
// shutdown, non-gRPC requests — on the own transport and the node:http2 one, plus the same calls
// through the grpc-js transport.

import { once } from 'node:events';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeTensorProto } from '../../src/wire/protobuf/tensorproto.js';
import type { Tensor } from '../../src/engine/tensor.js';
import type { ModelResolver, Servable } from '../../src/models/servable.js';
import { decodeMessage, encodeMessage } from '../../src/wire/protobuf/schemas.js';
import { predictRequest } from '../helpers/grpc-requests.js';
import { HpackDecoder, huffmanDecode, huffmanEncode } from '../../src/server/grpc/transport/hpack.js';
import { expectOutputsClose } from '../helpers/oracle.js';
import { requestBodies } from '../../src/server/body-pool.js';
import { batchCases, fixtureModel, startStack, type Stack } from './stack.js';

const PREDICT = '/tensorflow.serving.PredictionService/Predict';
const identity = (b: Buffer) => b;

function call(c: grpc.Client, path: string, request: Buffer, options: grpc.CallOptions = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    c.makeUnaryRequest(path, identity, identity, request, new grpc.Metadata(), options, (err, res) => (err ? reject(err) : resolve(res!)));
  });
}

async function callError(c: grpc.Client, path: string, request: Buffer, options: grpc.CallOptions = {}): Promise<grpc.ServiceError> {
  try {
    await call(c, path, request, options);
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error('call succeeded unexpectedly');
}

function outputY(response: Buffer): Float32Array {
  const msg = decodeMessage<{ outputs: Record<string, { tensor_content: Buffer }> }>('tensorflow.serving.PredictResponse', response);
  const c = msg.outputs.y!.tensor_content;
  return new Float32Array(c.buffer.slice(c.byteOffset, c.byteOffset + c.byteLength));
}

function halfPlusTwo(n: number): { request: Buffer; x: Float32Array } {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = (i % 997) - 400;
  return { request: predictRequest('half_plus_two', { x: { dtype: 'float32', shape: [n], data: x } }), x };
}

describe('HPACK', () => {
  it('Huffman round-trips every byte value', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString('latin1');
    for (const s of [all, 'www.example.com', 'no-cache', '/tensorflow.serving.PredictionService/Predict', '']) {
      const enc = huffmanEncode(s);
      expect(huffmanDecode(enc, 0, enc.length)).toBe(s);
    }
  });

  it('decodes RFC 7541 C.4 (requests with Huffman coding) and keeps the dynamic table', () => {
    const d = new HpackDecoder();
    const block = (hex: string) => {
      const buf = Buffer.from(hex.replace(/\s/g, ''), 'hex');
      const out: [string, string][] = [];
      d.decode(buf, 0, buf.length, (n, v) => out.push([n, v]));
      return out;
    };
    expect(block('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff')).toEqual([
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
    ]);
    expect(block('8286 84be 5886 a8eb 1064 9cbf')).toEqual([
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
      ['cache-control', 'no-cache'],
    ]);
    expect(block('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf')).toEqual([
      [':method', 'GET'],
      [':scheme', 'https'],
      [':path', '/index.html'],
      [':authority', 'www.example.com'],
      ['custom-key', 'custom-value'],
    ]);
  });

  it('rejects bad Huffman padding and unknown indexes', () => {
    const d = new HpackDecoder();
    expect(() => d.decode(Buffer.from([0xff, 0x00]), 0, 2, () => {})).toThrow();
    expect(() => huffmanDecode(Buffer.from([0x00]), 0, 1)).toThrow(/padding/);
  });

  it('decodes what nghttp2 (Node\'s http2 client) encodes, across many requests on one connection', async () => {
    // a raw TCP server that records the HEADERS frames' header blocks
    const blocks: Buffer[] = [];
    let pending = Buffer.alloc(0);
    const server = net.createServer((socket) => {
      socket.write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])); // empty SETTINGS
      let preface = false;
      socket.on('data', (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk]);
        if (!preface && pending.length >= 24) {
          pending = pending.subarray(24);
          preface = true;
        }
        while (preface && pending.length >= 9) {
          const len = pending.readUIntBE(0, 3);
          if (pending.length < 9 + len) break;
          const type = pending[3]!;
          if (type === 1) blocks.push(Buffer.from(pending.subarray(9, 9 + len)));
          if (type === 4 && !(pending[4]! & 1)) socket.write(Buffer.from([0, 0, 0, 4, 1, 0, 0, 0, 0]));
          pending = pending.subarray(9 + len);
        }
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    const session = http2.connect(`http://127.0.0.1:${port}`);
    const sent: Record<string, string>[] = [];
    for (let i = 0; i < 40; i++) {
      const headers: Record<string, string> = {
        'x-value': `v${i}-${'abc~!'.repeat(i % 7)}\u00e9${String.fromCharCode(0x20 + (i % 90))}`,
        'grpc-timeout': `${100 + i}m`,
        'x-same': 'repeated value that gets indexed',
      };
      sent.push(headers);
      session.request({ ':method': 'POST', ':path': `/svc/M${i}`, 'content-type': 'application/grpc', ...headers }, { endStream: true });
    }
    await new Promise((r) => setTimeout(r, 300));
    session.destroy();
    server.close();
    expect(blocks.length).toBe(40);
    const d = new HpackDecoder();
    blocks.forEach((b, i) => {
      const got: Record<string, string> = {};
      d.decode(b, 0, b.length, (n, v) => (got[n] = v));
      expect(got[':path']).toBe(`/svc/M${i}`);
      // Node sends header strings as latin1 bytes; the decoder reads them back as latin1
      for (const [k, v] of Object.entries(sent[i]!)) expect(got[k], k).toBe(v);
    });
  });
});

describe.each(['jetserve', 'http2'] as const)('connection behaviour (%s transport)', (transport) => {
  let stack: Stack;
  let slow: Stack;
  let client: grpc.Client;
  let release: (() => void) | undefined;

  beforeAll(async () => {
    // tensor_content outputs: large ones leave as views of the output tensors (the gather path)
    stack = await startStack([fixtureModel('mlp'), fixtureModel('half_plus_two')], { transport, tensorContentOutputs: true });
    // a front end whose runs wait for release() (a long-running request)
    const gated: ModelResolver = {
      resolve(spec) {
        const s = stack.manager.resolve(spec);
        const servable: Servable = {
          name: s.name,
          version: s.version,
          model: s.model,
          run: async (inputs, options) => {
            await new Promise<void>((r) => (release = r));
            return s.run(inputs, options);
          },
        };
        return servable;
      },
      status: (n, v) => stack.manager.status(n, v),
      modelNames: () => stack.manager.modelNames(),
      labels: (n) => stack.manager.labels(n),
    };
    slow = await startStack([], { transport }, gated as never);
    client = new grpc.Client(stack.target, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': -1,
      'grpc.max_send_message_length': -1,
    });
  });

  afterAll(async () => {
    client?.close();
    release?.();
    await slow?.close();
    await stack?.close();
  });

  it('streams 16 MB each way under the client\'s flow-control windows, several calls at once', async () => {
    const { request, x } = halfPlusTwo(4 * 1024 * 1024);
    const results = await Promise.all([call(client, PREDICT, request), call(client, PREDICT, request), call(client, PREDICT, request)]);
    for (const res of results) {
      const y = outputY(res);
      expect(y.length).toBe(x.length);
      for (let i = 0; i < x.length; i += 4099) expect(y[i]).toBe(Math.fround(0.5 * x[i]!) + 2);
    }
  });

  it('a message joined from many DATA frames lands in a reused block, given back once answered', async () => {
    // a size class of its own per transport: 400 KB → 512 KiB blocks, 800 KB → 1 MiB
    const n = transport === 'jetserve' ? 100_000 : 200_000;
    const classBytes = transport === 'jetserve' ? 512 * 1024 : 1024 * 1024;
    const { request, x } = halfPlusTwo(n);
    // start from an empty pool (the 16 MB calls above left blocks that fill its byte budget)
    for (let size = 16 * 1024; size <= 64 * 1024 * 1024; size *= 2) while (requestBodies.take(size) !== undefined) continue;
    const before = requestBodies.held;
    let afterFirst = 0;
    for (let k = 0; k < 3; k++) {
      const y = outputY(await call(client, PREDICT, request));
      for (let i = 0; i < n; i += 4099) expect(y[i]).toBe(Math.fround(0.5 * x[i]!) + 2);
      if (k === 0) afterFirst = requestBodies.held;
    }
    // the first message's block came back (with the smaller ones it grew through, with no free
    // block to start from) and served the two after it: they left nothing new in the pool
    expect(afterFirst - before).toBeGreaterThanOrEqual(classBytes);
    expect(requestBodies.held).toBe(afterFirst);
  });

  it('accepts gzip- and deflate-compressed requests', async () => {
    for (const algorithm of [1, 2]) {
      const c = new grpc.Client(stack.target, grpc.credentials.createInsecure(), { 'grpc.default_compression_algorithm': algorithm });
      try {
        const c0 = batchCases('mlp')[1]!;
        const res = await call(c, PREDICT, predictRequest('mlp', c0.inputs));
        expectOutputsClose({ y: decodeOut(res) }, c0.outputs, 1e-5);
      } finally {
        c.close();
      }
    }
  });

  it('answers keepalive pings', async () => {
    const c = new grpc.Client(stack.target, grpc.credentials.createInsecure(), {
      'grpc.keepalive_time_ms': 100,
      'grpc.keepalive_timeout_ms': 1000,
      'grpc.keepalive_permit_without_calls': 1,
    });
    try {
      await call(c, PREDICT, predictRequest('mlp', batchCases('mlp')[0]!.inputs));
      await new Promise((r) => setTimeout(r, 600));
      // the connection survived several pings
      await call(c, PREDICT, predictRequest('mlp', batchCases('mlp')[0]!.inputs));
      expect(c.getChannel().getConnectivityState(false)).toBe(grpc.connectivityState.READY);
    } finally {
      c.close();
    }
  });

  it('a deadline that passes while the request runs answers DEADLINE_EXCEEDED; cancelled calls are forgotten', async () => {
    const c = new grpc.Client(slow.target, grpc.credentials.createInsecure());
    try {
      const err = await callError(c, PREDICT, predictRequest('mlp', batchCases('mlp')[0]!.inputs), { deadline: Date.now() + 200 });
      expect(err.code).toBe(grpc.status.DEADLINE_EXCEEDED);
      release?.();
      // a client-side cancel (RST_STREAM) while the run waits
      const pending = new Promise<grpc.ServiceError>((resolve) => {
        const cl = c.makeUnaryRequest(PREDICT, identity, identity, predictRequest('mlp', batchCases('mlp')[0]!.inputs), (e) =>
          resolve(e as grpc.ServiceError),
        );
        setTimeout(() => cl.cancel(), 100);
      });
      expect((await pending).code).toBe(grpc.status.CANCELLED);
      release?.();
    } finally {
      c.close();
    }
  });

  it('graceful close lets a running call finish and refuses new connections', async () => {
    const c = new grpc.Client(slow.target, grpc.credentials.createInsecure());
    const running = call(c, PREDICT, predictRequest('mlp', batchCases('mlp')[0]!.inputs));
    await new Promise((r) => setTimeout(r, 100));
    const closing = slow.server.close(5000);
    await new Promise((r) => setTimeout(r, 100));
    release?.();
    const res = await running;
    expectOutputsClose({ y: decodeOut(res) }, batchCases('mlp')[0]!.outputs, 1e-5);
    await closing;
    const c2 = new grpc.Client(slow.target, grpc.credentials.createInsecure());
    const err = await callError(c2, PREDICT, predictRequest('mlp', batchCases('mlp')[0]!.inputs), { deadline: Date.now() + 1000 });
    expect([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]).toContain(err.code);
    c.close();
    c2.close();
  });

  it('answers plain HTTP/1.1 and non-gRPC HTTP/2 requests without crashing', async () => {
    const [host, port] = stack.target.split(':');
    const text = await new Promise<string>((resolve) => {
      const sock = net.connect(Number(port), host, () => sock.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n'));
      let out = '';
      sock.on('data', (d) => (out += d.toString()));
      sock.on('close', () => resolve(out));
    });
    // jetserve's transport answers HTTP/1.x in plain text; nghttp2 with a GOAWAY frame
    if (transport === 'jetserve') expect(text).toMatch(/^HTTP\/1.1 400/);
    const session = http2.connect(`http://${stack.target}`);
    const req = session.request({ ':method': 'GET', ':path': PREDICT });
    const [headers] = (await once(req, 'response')) as [http2.IncomingHttpHeaders];
    expect(headers[':status']).toBe(405);
    req.resume();
    await once(req, 'end');
    const req2 = session.request({ ':method': 'POST', ':path': PREDICT, 'content-type': 'application/json' });
    req2.end('{}');
    const [headers2] = (await once(req2, 'response')) as [http2.IncomingHttpHeaders];
    expect(headers2[':status']).toBe(415);
    session.destroy();
    // still serving
    await call(client, PREDICT, predictRequest('mlp', batchCases('mlp')[0]!.inputs));
  });

  it('garbage instead of the HTTP/2 preface closes only that connection', async () => {
    const [host, port] = stack.target.split(':');
    await new Promise<void>((resolve) => {
      const sock = net.connect(Number(port), host, () => sock.write(Buffer.alloc(64, 0xab)));
      sock.on('close', () => resolve());
      sock.on('error', () => resolve());
      sock.resume();
    });
    await call(client, PREDICT, predictRequest('mlp', batchCases('mlp')[0]!.inputs));
  });
});

describe('the grpc-js transport serves the same API', () => {
  it('Predict, GetModelStatus, errors and KServe through @grpc/grpc-js', async () => {
    const s = await startStack([fixtureModel('mlp')], { transport: 'grpc-js' });
    const c = new grpc.Client(s.target, grpc.credentials.createInsecure());
    try {
      expect(s.server.transport).toBe('grpc-js');
      const c0 = batchCases('mlp')[1]!;
      expectOutputsClose({ y: decodeOut(await call(c, PREDICT, predictRequest('mlp', c0.inputs))) }, c0.outputs, 1e-5);
      const status = decodeMessage<{ model_version_status: { state: number }[] }>(
        'tensorflow.serving.GetModelStatusResponse',
        await call(c, '/tensorflow.serving.ModelService/GetModelStatus', encodeMessage('tensorflow.serving.GetModelStatusRequest', { model_spec: { name: 'mlp' } })),
      );
      expect(status.model_version_status[0]!.state).toBe(30);
      const err = await callError(c, PREDICT, predictRequest('nope', c0.inputs));
      expect(err.code).toBe(grpc.status.NOT_FOUND);
      const live = decodeMessage<{ live: boolean }>('inference.ServerLiveResponse', await call(c, '/inference.GRPCInferenceService/ServerLive', Buffer.alloc(0)));
      expect(live.live).toBe(true);
    } finally {
      c.close();
      await s.close();
    }
  });
});

function decodeOut(res: Buffer): Tensor {
  const msg = decodeMessage<{ outputs: Record<string, unknown> }>('tensorflow.serving.PredictResponse', res);
  const proto = encodeMessage('tensorflow.TensorProto', msg.outputs.y as object);
  return decodeTensorProto(proto, 0, proto.length, 'y');
}
