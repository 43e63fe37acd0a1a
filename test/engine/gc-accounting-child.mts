// Child of zero-copy.test.ts: in a fresh process, 300 runs of half_plus_two returning 1 MiB
// outputs over TF's memory (each garbage after the run); prints the major GCs V8 made meanwhile.
// Progress marks go to stderr, so a deadline in the test shows how far the child got.
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { join } from 'node:path';
import { allocTensor, engineInfo, loadSavedModel } from '../../src/index.js';

process.stderr.write('mark: started\n');
const model = await loadSavedModel(join(process.argv[2]!, 'half_plus_two', '1'));
process.stderr.write('mark: loaded\n');
const x = allocTensor('float32', [1 << 18]);
for (let i = 0; i < 3; i++) await model.run({ x });
let major = 0;
const observer = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const detail = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail;
    if (detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) major++;
  }
});
observer.observe({ entryTypes: ['gc'] });
const before = engineInfo().stats.zeroCopyOutputs;
for (let i = 0; i < 300; i++) {
  const out = await model.run({ x });
  if (out.y!.data.length !== 1 << 18) throw new Error('wrong output size');
}
const zeroCopy = engineInfo().stats.zeroCopyOutputs - before;
process.stderr.write('mark: runs done\n');
await new Promise((r) => setTimeout(r, 50));
observer.disconnect();
process.stdout.write(`${JSON.stringify({ major, zeroCopy })}\n`);
process.stderr.write('mark: exiting\n');
process.exit(0);
