/**
 * Worker thread entry: rebuilds the world from its spec (deterministic, so identical to the main
 * thread's) and simulates one contiguous range of customers; the month chunks are transferred,
 * not copied.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type RangeResult, simulateRange, type WorkerInput, type WorkerMessage } from './simulate.js';
import { buildWorld } from './world.js';

const port = parentPort;
if (!port) throw new Error('sim-worker must run as a worker thread');
const input = workerData as WorkerInput;
const post = (m: WorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
try {
  const { spec, from, to } = input;
  const world = buildWorld(spec.seed, spec.customers, spec.start, spec.months);
  const result: RangeResult = simulateRange(world, from, to, (done) => post({ kind: 'progress', done }));
  const transfer = result.months.flatMap((m) => m.chunks.map((c) => c.buffer as ArrayBuffer));
  post({ kind: 'result', result }, transfer);
} catch (e) {
  post({ kind: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
}
