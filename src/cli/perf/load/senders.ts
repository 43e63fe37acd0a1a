// How a worker sends one request with each kind of target: a pool of HTTP/1.1 connections, gRPC
// channels (@grpc/grpc-js, the request already serialized), or predict() on a model loaded in the
// worker. Every send resolves to an Outcome (never rejects): ok, or an error code — "HTTP <status>"
// for REST, the gRPC status name, the JetserveError code in-process, "timeout" or "connection" —
// with a message for the report.

import * as grpc from '@grpc/grpc-js';
import type { Tensor } from '../../../engine/tensor.js';
import type { WirePlan } from '../requests.js';
import { Http1Connection } from './http1.js';

export type Outcome = { ok: true } | { ok: false; code: string; message: string };

const OK: Outcome = { ok: true };

export interface Sender {
  /** Sends request `index` (of the plan's list) on a free connection, opening one when allowed. */
  send(index: number): Promise<Outcome>;
  close(): Promise<void>;
}

export async function createSender(plan: WirePlan, timeoutMs: number): Promise<Sender> {
  switch (plan.kind) {
    case 'http':
      return httpSender(plan, timeoutMs);
    case 'grpc':
      return grpcSender(plan, timeoutMs);
    case 'in-process':
      return inProcessSender(plan, timeoutMs);
  }
}

function httpSender(plan: Extract<WirePlan, { kind: 'http' }>, timeoutMs: number): Sender {
  const idle: Http1Connection[] = [];
  const all = new Set<Http1Connection>();
  return {
    async send(index) {
      const conn = idle.pop() ?? new Http1Connection(plan.host, plan.port, plan.tls);
      all.add(conn);
      let timer: NodeJS.Timeout | undefined;
      let timedOut = false;
      try {
        timer = setTimeout(() => {
          timedOut = true;
          conn.close('timeout');
        }, timeoutMs);
        const res = await conn.send(plan.requests[index]!);
        idle.push(conn);
        if (res.status >= 200 && res.status < 300) return OK;
        return { ok: false, code: `HTTP ${res.status}`, message: errorMessage(res.errorText) };
      } catch (err) {
        all.delete(conn);
        if (timedOut) return { ok: false, code: 'timeout', message: `no answer within ${timeoutMs} ms` };
        return { ok: false, code: 'connection', message: (err as Error).message };
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      for (const c of all) c.close();
      all.clear();
      idle.length = 0;
    },
  };
}

function errorMessage(text: string | undefined): string {
  if (!text) return '';
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === 'string') return parsed.error;
  } catch {
    // not JSON, or cut short: keep the text
  }
  return text.slice(0, 200);
}

/** Calls multiplexed per gRPC connection before another channel is opened. */
const STREAMS_PER_CHANNEL = 16;

function grpcSender(plan: Extract<WirePlan, { kind: 'grpc' }>, timeoutMs: number): Sender {
  const channels: { client: grpc.Client; active: number }[] = [];
  const buffers = plan.requests.map((r) => Buffer.from(r.buffer, r.byteOffset, r.byteLength));
  const identity = (b: Buffer) => b;
  const pick = () => {
    let best = channels.find((c) => c.active < STREAMS_PER_CHANNEL);
    if (!best) {
      // a local subchannel pool: each client is its own HTTP/2 connection
      best = {
        client: new grpc.Client(plan.address, grpc.credentials.createInsecure(), {
          'grpc.use_local_subchannel_pool': 1,
          'grpc.max_receive_message_length': -1,
          'grpc.max_send_message_length': -1,
        }),
        active: 0,
      };
      channels.push(best);
    }
    return best;
  };
  return {
    send(index) {
      const channel = pick();
      channel.active++;
      return new Promise<Outcome>((resolve) => {
        channel.client.makeUnaryRequest(plan.path, identity, identity, buffers[index]!, { deadline: Date.now() + timeoutMs }, (err) => {
          channel.active--;
          if (!err) resolve(OK);
          else if (err.code === grpc.status.DEADLINE_EXCEEDED && /Deadline exceeded/i.test(err.details)) resolve({ ok: false, code: 'timeout', message: err.details });
          else resolve({ ok: false, code: grpc.status[err.code] ?? String(err.code), message: err.details });
        });
      });
    },
    async close() {
      for (const c of channels) c.client.close();
      channels.length = 0;
    },
  };
}

async function inProcessSender(plan: Extract<WirePlan, { kind: 'in-process' }>, timeoutMs: number): Promise<Sender> {
  const { loadSavedModel } = await import('../../../engine/model.js');
  const model = await loadSavedModel(plan.dir);
  const requests: Record<string, Tensor>[] = plan.requests;
  const options = { signature: plan.signature };
  return {
    async send(index) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          model.run(requests[index]!, options),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'timeout' })), timeoutMs);
          }),
        ]);
        return OK;
      } catch (err) {
        const e = err as Error & { code?: string };
        return { ok: false, code: typeof e.code === 'string' ? e.code : 'error', message: e.message };
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      await model.dispose();
    },
  };
}
