// A batch appended to one key gets consecutive versions, even while producers
// on other threads append to the same key at the same time (the daemon's
// ingest threads rely on it: a posted batch stays together in its stream).
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { EventStore } from '../dist/src/index.js';

const FIXTURE = new URL('./fixtures/batch-producer.mjs', import.meta.url);

function run(workerData: Record<string, unknown>): Promise<{ producer: number; versions: number[][] }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(FIXTURE, { workerData });
    w.once('message', resolve);
    w.once('error', reject);
  });
}

describe('batch adjacency across producer threads', () => {
  it.each([
    { what: 'small batches, roomy ring', size: 25, inputBytes: 1 << 20 },
    // A ring that holds only a few batches: claims wait for space, and must still take a batch whole.
    { what: 'batches filling the input ring', size: 200, inputBytes: 1 << 17 },
  ])('$what: every batch has consecutive versions; all versions 1..N once', async ({ size, inputBytes }) => {
    const store = EventStore.create({ partitions: 2, capacity: 1 << 16, key: 'key', inputBytes, maxEventBytes: 1024 });
    try {
      const threads = 3;
      const batches = 30;
      const results = await Promise.all(Array.from({ length: threads }, (_, producer) => run({ descriptor: store.descriptor(), producer, batches, size, key: 'one' })));
      const all: number[] = [];
      for (const r of results) {
        expect(r.versions).toHaveLength(batches);
        for (const v of r.versions) {
          expect(v).toEqual(Array.from({ length: size }, (_, i) => v[0] + i));
          all.push(...v);
        }
      }
      expect(all.sort((a, b) => a - b)).toEqual(Array.from({ length: threads * batches * size }, (_, i) => i + 1));
    } finally {
      await store.close();
    }
  });
});
