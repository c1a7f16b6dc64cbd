/**
 * Entry point of an ingest thread (a piscina worker of the daemon's ingest
 * pool): names the thread, attaches to the ring stores and runs bulk-append
 * tasks. All logic lives in src/server/ingest; this file only wires.
 */
import { threadId } from 'node:worker_threads';
import { workerData } from 'piscina';
import { nameThread } from '../src/partition/thread-name.js';
import { IngestThread } from '../src/server/ingest/ingest-thread.js';
import type { IngestAnswer, IngestTask, IngestThreadData } from '../src/server/ingest/wire.js';

nameThread(`rs-ingest-${threadId}`);
const thread = new IngestThread(workerData as IngestThreadData);

export default function ingest(task: IngestTask): Promise<IngestAnswer> {
  return thread.run(task);
}
