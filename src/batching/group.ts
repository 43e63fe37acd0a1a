// A group: the queued requests of one signature queue that can share one TF run (same output
// filter, same non-batch dimensions), in arrival order. It says when it may be dispatched
// (batch_timeout_micros) and hands out the next batch (at most max_batch_size rows; an oversized
// request goes alone); requests whose deadline passed leave without running.

import { performance } from 'node:perf_hooks';
import type { BatchingParameters } from './parameters.js';
import { QUEUED, TAKEN, type Task } from './task.js';

/** What a group needs from its queue (signature-queue.ts), and what the scheduler asks of it. */
export interface GroupQueue {
  readonly params: BatchingParameters;
  /** A task left the queue for a batch. */
  dequeued(task: Task, now: number): void;
  /** A queued task's deadline passed: it fails and never runs. */
  expire(task: Task): void;
  /** The scheduler dropped an empty group. */
  forget(group: Group): void;
  /** How long (ms) a batch of `rows` rows may still wait for company now (busy-hold.ts); 0: go now. */
  holdMs(rows: number): number;
  /** A group's hold ran out (busy-hold.ts). */
  holdExpired(): void;
  /** Another batch of the queue may start now (false: its batches at once are at their bound). */
  mayStart(): boolean;
  /** Runs one batch; resolves to the function that delivers its results. Never rejects. */
  execute(group: Group, batch: Task[]): Promise<() => void>;
}

/** Requests that can share one TF run, in arrival order. */
export class Group {
  private tasks: Task[] = [];
  private head = 0;
  /** Queued (not taken, not expired) tasks and their rows. */
  live = 0;
  rows = 0;
  /** In the scheduler's round-robin list. */
  scheduled = false;
  /** performance.now() when a slot was first free for this group while it was held (busy-hold.ts). */
  private heldSince: number | undefined;

  constructor(
    readonly queue: GroupQueue,
    readonly key: string,
    /** Each task runs alone (not batchable). */
    public solo: boolean,
  ) {}

  push(task: Task): void {
    this.tasks.push(task);
    this.live++;
    this.rows += task.rows;
  }

  /** A queued task left without running (deadline). */
  drop(task: Task): void {
    this.live--;
    this.rows -= task.rows;
    if (this.live === 0) this.reset();
  }

  /**
   * performance.now() time at which this group may be dispatched (-Infinity: now; Infinity: empty,
   * or its queue runs as many batches as it may).
   * The scheduler asks only while a slot is free, so the first time a hold applies is when a slot
   * was first free for the group: the hold counts from then.
   */
  readyAt(): number {
    if (this.live === 0) return Infinity;
    // at its queue's bound: the scheduler asks again when one of the queue's batches finishes
    if (!this.queue.mayStart()) return Infinity;
    const params = this.queue.params;
    if (this.solo || this.rows >= params.maxBatchSize) return -Infinity;
    if (params.batchTimeoutMicros > 0) return this.oldest()!.enqueuedAt + params.batchTimeoutMicros / 1000;
    const hold = this.queue.holdMs(this.rows);
    if (hold === 0) return -Infinity;
    const now = performance.now();
    this.heldSince ??= now;
    const until = this.heldSince + hold;
    if (until <= now) this.queue.holdExpired();
    return until;
  }

  private oldest(): Task | undefined {
    while (this.head < this.tasks.length && this.tasks[this.head]!.state !== QUEUED) this.head++;
    return this.tasks[this.head];
  }

  /**
   * Removes the next batch: the oldest queued tasks while their rows fit maxBatchSize (the first
   * always goes, so an oversized request runs as a batch of its own). Tasks whose deadline passed
   * are rejected here and never run.
   */
  take(now: number): Task[] {
    const batch: Task[] = [];
    const max = this.solo ? 1 : this.queue.params.maxBatchSize;
    let rows = 0;
    const wallNow = Date.now();
    for (;;) {
      const task = this.oldest();
      if (!task) break;
      if (task.deadline !== undefined && wallNow >= task.deadline) {
        this.head++;
        this.live--;
        this.rows -= task.rows;
        this.queue.expire(task);
        continue;
      }
      if (batch.length > 0 && (this.solo || rows + task.rows > max)) break;
      this.head++;
      task.state = TAKEN;
      this.live--;
      this.rows -= task.rows;
      rows += task.rows;
      batch.push(task);
      this.queue.dequeued(task, now);
      if (rows >= max) break;
    }
    this.heldSince = undefined;
    if (this.live === 0) this.reset();
    else if (this.head > 1024 && this.head * 2 > this.tasks.length) {
      this.tasks = this.tasks.slice(this.head);
      this.head = 0;
    }
    return batch;
  }

  /**
   * Fails the queued tasks whose deadline has passed (the scheduler's deadline sweep). Returns the
   * earliest deadline still queued (Infinity: none).
   */
  sweep(wallNow: number): number {
    let next = Infinity;
    const tasks = this.tasks;
    for (let i = this.head; i < tasks.length; i++) {
      const task = tasks[i]!;
      if (task.state !== QUEUED || task.deadline === undefined) continue;
      if (task.deadline <= wallNow) {
        this.drop(task);
        this.queue.expire(task);
      } else if (task.deadline < next) {
        next = task.deadline;
      }
    }
    return next;
  }

  private reset(): void {
    this.tasks = [];
    this.head = 0;
    this.heldSince = undefined;
  }
}
