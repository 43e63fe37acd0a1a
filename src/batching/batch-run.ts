// Running one batch of a signature queue: the one gather copy of the requests' rows into aligned
// buffers (padded to allowed_batch_sizes; variable-length inputs padded with
// pad_variable_length_inputs), one TF run, and the outputs split back into per-request views.
// Isolation: if TF fails a merged batch, its requests rerun one by one so only the culprit fails;
// outputs without a batch dimension (dim 0 ≠ merged rows) cannot be split, so those requests rerun
// one by one and that output filter is never batched again.

import type { Model } from '../engine/model.js';
import { releaseTensor, type Tensor } from '../engine/tensor.js';
import { concatRows, sliceRows } from './concat.js';
import type { Group } from './group.js';
import type { MetricsSink } from './metrics.js';
import type { BatchingParameters } from './parameters.js';
import { deadlineExceeded, type Outputs, type Task } from './task.js';

/** Runs the batches of one signature of one model version. */
export class BatchRunner {
  constructor(
    private readonly model: Model,
    private readonly signature: string,
    /** The signature's input names, sorted. */
    private readonly inputKeys: readonly string[],
    private readonly params: BatchingParameters,
    private readonly sink: MetricsSink,
    /** Output filter key → its outputs all have a batch dimension; shared with the queue that plans groups. */
    private readonly outputsBatchable: Map<string, boolean>,
  ) {}

  /**
   * Runs one batch. Resolves to a function that delivers the results (the scheduler calls it
   * after starting the next batch). Never rejects: failures are delivered to their tasks.
   */
  async execute(group: Group, batch: Task[]): Promise<() => void> {
    const outputs = batch[0]!.outputs;
    const options = { signature: this.signature, outputs };
    let rows = 0;
    for (const t of batch) rows += t.rows;
    const padded = group.solo ? rows : paddedSize(rows, this.params.allowedBatchSizes);
    this.sink.add('batches');
    this.sink.add('tfRuns');
    this.sink.add('rows', padded);
    this.sink.add('paddingRows', padded - rows);
    this.sink.batchSize(padded);

    if (batch.length === 1 && padded === rows) {
      const task = batch[0]!;
      try {
        const out = await this.model.run(task.inputs, options);
        return () => task.resolve(out);
      } catch (err) {
        return () => task.reject(err);
      }
    }

    this.sink.add('mergedRequests', batch.length > 1 ? batch.length : 0);
    let merged: Outputs;
    const gathered = this.gather(batch, padded);
    try {
      merged = await this.model.run(gathered, options);
    } catch {
      this.sink.add('batchFailures');
      await this.runEach(batch, options);
      return noop;
    } finally {
      // The gathered copies are this batch's alone and TF keeps its own reference while it needs
      // the memory: freeing them now spares V8 counting ~rows × row size of external memory per
      // batch toward its next major GC (ResNet50 batches of 8: a mark-compact every ~0.5 s).
      for (const key in gathered) releaseTensor(gathered[key]!);
    }
    const results: Outputs[] = batch.map(() => ({}));
    for (const [key, tensor] of Object.entries(merged)) {
      if (tensor.shape.length === 0 || tensor.shape[0] !== padded) {
        // no batch dimension to split along: never batch this output filter again
        this.sink.add('unsplittableBatches');
        this.outputsBatchable.set(outputs === undefined ? '*' : outputs.join('\u0001'), false);
        group.solo = true;
        await this.runEach(batch, options);
        return noop;
      }
      let offset = 0;
      for (let i = 0; i < batch.length; i++) {
        const n = batch[i]!.rows;
        results[i]![key] = sliceRows(tensor, offset, n);
        offset += n;
      }
    }
    return () => {
      for (let i = 0; i < batch.length; i++) batch[i]!.resolve(results[i]!);
    };
  }

  /** The one gather copy: each input's rows from every task, concatenated (and padded). */
  private gather(batch: Task[], padded: number): Record<string, Tensor> {
    const merged: Record<string, Tensor> = {};
    for (const key of this.inputKeys) {
      const parts = batch.map((t) => t.inputs[key]!);
      let padTo: number[] | undefined;
      if (this.params.padVariableLengthInputs) {
        const inner = parts[0]!.shape.slice(1);
        let differs = false;
        for (const p of parts) {
          for (let d = 0; d < inner.length; d++) {
            const size = p.shape[d + 1]!;
            if (size !== inner[d]) differs = true;
            if (size > inner[d]!) inner[d] = size;
          }
        }
        if (differs) padTo = inner;
      }
      merged[key] = concatRows(parts, padded, padTo);
    }
    return merged;
  }

  /** Reruns each task alone (after a failed or unsplittable batch), settling each as it finishes. */
  private async runEach(batch: Task[], options: { signature: string; outputs: readonly string[] | undefined }): Promise<void> {
    for (const task of batch) {
      if (task.deadline !== undefined && Date.now() >= task.deadline) {
        this.sink.add('expiredInQueue');
        task.reject(deadlineExceeded());
        continue;
      }
      this.sink.add('reruns');
      this.sink.add('tfRuns');
      try {
        task.resolve(await this.model.run(task.inputs, options));
      } catch (err) {
        task.reject(err);
      }
    }
  }
}

function noop(): void {}

/** The smallest allowed batch size ≥ rows (rows itself when none is set or rows exceeds them all). */
export function paddedSize(rows: number, allowed: readonly number[]): number {
  for (const size of allowed) if (size >= rows) return size;
  return rows;
}
