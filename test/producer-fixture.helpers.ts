// The producer thread of test/fixtures/producer.mjs, as the tests that run it see it: the event it appends,
// what it reports, and a promise of the report.
import { Worker } from 'node:worker_threads';

/** An event of the fixture: `c` is the checksum of the rest (fixtures/checksum.mjs). */
export interface ProducerEvent {
  key: string;
  p: number;
  s: number;
  pad: string;
  amount: number;
  c: number;
}

/** What a producer thread posts when done; `acked` holds `[partition, position, version]` of each `append`. */
export interface ProducerReport {
  producer: number;
  accepted: number;
  refusals: number;
  acked: number[][];
}

const FIXTURE = new URL('./fixtures/producer.mjs', import.meta.url);

/** Runs one producer thread (workerData: descriptor, producer, count, mode 'try' | 'append', keysPerProducer). */
export function runProducer(workerData: Record<string, unknown>): Promise<ProducerReport> {
  return new Promise((resolve, reject) => {
    const w = new Worker(FIXTURE, { workerData });
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => code !== 0 && reject(new Error(`producer exited ${code}`)));
  });
}
