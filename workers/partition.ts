/**
 * Entry point of a partition worker thread: attaches to the partition's
 * shared memory, recovers its state, serves queries over comlink and runs
 * the commit loop. All logic lives in src/partition; this file only wires.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PartitionWorker, type PartitionWorkerData } from '../src/partition/partition-worker.js';

if (parentPort === null) throw new Error('workers/partition.js must run in a worker thread');
const worker = new PartitionWorker(workerData as PartitionWorkerData, parentPort);
void worker.run();
