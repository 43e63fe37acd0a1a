// Entry of a worker thread that runs a TypeScript module (workerData.entry, a file URL): in Node 20
// a worker does not inherit the parent's tsx loader hooks, so it registers its own first.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
