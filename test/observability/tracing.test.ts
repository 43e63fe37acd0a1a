// OpenTelemetry tracing with the SDK's InMemorySpanExporter: a request carrying a W3C traceparent
// (REST header; gRPC metadata on jetserve's transport and on grpc-js) gets a server span that
// continues the client's trace, returns its own traceparent, and has decode / queue / run / encode
// children in time order with the model's name and version. Without tracing no traceparent is
// returned (and no span can be: no exporter, no SDK loaded).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { startServer, type JetserveServer } from '../../src/serve/start.js';
import { fixturesDir } from '../helpers/oracle.js';
import { predictRequest } from '../helpers/grpc-requests.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${CLIENT_SPAN}-01`;
const TRACEPARENT_RE = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/;

const models = [{ name: 'hpt', basePath: join(fixturesDir(), 'half_plus_two') }];
const exporter = new InMemorySpanExporter();
let jetserve: JetserveServer;
let grpcJs: JetserveServer;
beforeAll(async () => {
  jetserve = await startServer({ models, restApiPort: 0, port: 0, host: '127.0.0.1', log: false, spanExporter: exporter });
  grpcJs = await startServer({ models, restApiPort: false, port: 0, grpcTransport: 'grpc-js', host: '127.0.0.1', log: false, spanExporter: exporter });
});
afterAll(async () => {
  await jetserve?.close();
  await grpcJs?.close();
});

const ms = (t: [number, number]) => t[0] * 1000 + t[1] / 1e6;

/** The server span with this span id and its children, once all five are exported. */
async function spansOf(serverSpanId: string): Promise<{ server: ReadableSpan; children: Record<string, ReadableSpan> }> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const spans = exporter.getFinishedSpans();
    const server = spans.find((s) => s.spanContext().spanId === serverSpanId);
    const children = spans.filter((s) => s.parentSpanContext?.spanId === serverSpanId);
    if (server && children.length >= 4) return { server, children: Object.fromEntries(children.map((c) => [c.name, c])) };
    if (Date.now() > deadline) throw new Error(`spans of ${serverSpanId}: ${spans.map((s) => s.name).join(', ')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function expectRequestTrace(server: ReadableSpan, children: Record<string, ReadableSpan>, parentSpanId: string | undefined) {
  expect(server.kind).toBe(1); // SERVER
  expect(server.parentSpanContext?.spanId).toBe(parentSpanId);
  expect(server.attributes).toMatchObject({ 'model.name': 'hpt', 'model.version': 1 });
  expect(Object.keys(children).sort()).toEqual(['decode', 'encode', 'queue', 'run']);
  for (const c of Object.values(children)) {
    expect(c.spanContext().traceId).toBe(server.spanContext().traceId);
    expect(c.attributes).toMatchObject({ 'model.name': 'hpt', 'model.version': 1, 'model.signature': 'serving_default' });
  }
  const [decode, queue, run, encode] = [children.decode!, children.queue!, children.run!, children.encode!];
  // one after the other, inside the server span (times in ms, 1 µs tolerance for rounding)
  const order = [ms(server.startTime), ms(decode.startTime), ms(decode.endTime), ms(queue.startTime), ms(queue.endTime), ms(run.startTime), ms(run.endTime), ms(encode.startTime), ms(encode.endTime), ms(server.endTime)];
  for (let i = 1; i < order.length; i++) expect(order[i]! + 0.001).toBeGreaterThanOrEqual(order[i - 1]!);
}

describe('tracing on (InMemorySpanExporter)', () => {
  it('REST: continues the client trace, returns its own traceparent, decode/queue/run/encode spans with model name and version', async () => {
    const res = await fetch(`http://127.0.0.1:${jetserve.http!.port}/v1/models/hpt:predict`, {
      method: 'POST',
      headers: { traceparent: TRACEPARENT, 'x-request-id': 'req-42' },
      body: '{"instances": [1.0, 2.0, 5.0]}',
    });
    expect(await res.json()).toEqual({ predictions: [2.5, 3.0, 4.5] });
    expect(res.headers.get('x-request-id')).toBe('req-42');
    const [, traceId, spanId] = TRACEPARENT_RE.exec(res.headers.get('traceparent') ?? '') ?? [];
    expect(traceId).toBe(TRACE_ID);
    expect(spanId).not.toBe(CLIENT_SPAN);
    const { server, children } = await spansOf(spanId!);
    expect(server.name).toBe('POST /v1/models/hpt:predict');
    expect(server.attributes).toMatchObject({ 'http.response.status_code': 200, 'jetserve.request_id': 'req-42' });
    expectRequestTrace(server, children, CLIENT_SPAN);
  });

  it('REST without a traceparent starts a new trace (a root span)', async () => {
    const res = await fetch(`http://127.0.0.1:${jetserve.http!.port}/v2/models/hpt/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'x', shape: [2], datatype: 'FP32', data: [1, 2] }] }),
    });
    expect(res.status).toBe(200);
    const [, traceId, spanId] = TRACEPARENT_RE.exec(res.headers.get('traceparent') ?? '') ?? [];
    expect(traceId).not.toBe(TRACE_ID);
    const { server, children } = await spansOf(spanId!);
    expectRequestTrace(server, children, undefined);
  });

  it.each([
    ['jetserve', () => jetserve],
    ['grpc-js', () => grpcJs],
  ] as const)('gRPC on the %s transport: traceparent in metadata, out in the response metadata', async (_name, server) => {
    const client = new grpc.Client(`127.0.0.1:${server().grpc!.port}`, grpc.credentials.createInsecure());
    const md = new grpc.Metadata();
    md.set('traceparent', TRACEPARENT);
    md.set('x-request-id', 'grpc-7');
    const request = predictRequest('hpt', { x: { dtype: 'float32', shape: [2], data: Float32Array.from([1, 2]) } });
    let answer: grpc.Metadata | undefined;
    await new Promise<void>((resolve, reject) => {
      const call = client.makeUnaryRequest('/tensorflow.serving.PredictionService/Predict', (b: Buffer) => b, (b: Buffer) => b, request, md, (err) =>
        err ? reject(err) : resolve(),
      );
      call.on('metadata', (m) => (answer = m));
    });
    client.close();
    expect(answer?.get('x-request-id')).toEqual(['grpc-7']);
    const [, traceId, spanId] = TRACEPARENT_RE.exec(String(answer?.get('traceparent')[0] ?? '')) ?? [];
    expect(traceId).toBe(TRACE_ID);
    const spans = await spansOf(spanId!);
    expect(spans.server.name).toBe('tensorflow.serving.PredictionService/Predict');
    expect(spans.server.attributes).toMatchObject({ 'rpc.system': 'grpc', 'rpc.grpc.status_code': 0, 'jetserve.request_id': 'grpc-7' });
    expectRequestTrace(spans.server, spans.children, CLIENT_SPAN);
  });
});

describe('tracing off', () => {
  it('returns no traceparent (request ids still), and adds no span', async () => {
    const server = await startServer({ models, restApiPort: 0, port: false, host: '127.0.0.1', log: false });
    try {
      const before = exporter.getFinishedSpans().length;
      const res = await fetch(`http://127.0.0.1:${server.http!.port}/v1/models/hpt:predict`, {
        method: 'POST',
        headers: { traceparent: TRACEPARENT },
        body: '{"instances": [1.0]}',
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('traceparent')).toBeNull();
      expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f]{16}-[0-9a-f]+$/);
      expect(exporter.getFinishedSpans().length).toBe(before);
    } finally {
      await server.close();
    }
  });
});
