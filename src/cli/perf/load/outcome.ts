// What one request of the load came to, and how a worker sends requests (senders.ts, grpc.ts).

export type Outcome = { ok: true } | { ok: false; code: string; message: string };

export const OK: Outcome = { ok: true };

export interface Sender {
  /** Sends request `index` (of the plan's list) on a free connection, opening one when allowed. */
  send(index: number): Promise<Outcome>;
  close(): Promise<void>;
}
