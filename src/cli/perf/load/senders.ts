// How a worker sends one request with each kind of target: a pool of HTTP/1.1 connections, gRPC
// calls over node:http2 sessions (grpc.ts, each request framed once), or predict() on a model
// loaded in the worker. Every send resolves to an Outcome (never rejects): ok, or an error code — "HTTP <status>"
// for REST, the gRPC status name, the JetserveError code in-process, "timeout" or "connection" —
// with a message for the report.

import type { Tensor } from '../../../engine/tensor.js';
import type { WirePlan } from '../requests.js';
import { grpcSender } from './grpc.js';
import { Http1Connection } from './http1.js';
import { OK, type Sender } from './outcome.js';

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
