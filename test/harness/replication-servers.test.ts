// The replication scenario's bookkeeping: how connections are split over a
// row's daemons, and how CPU readings of several processes become µs per event.
// Imports the built code: run `npx tsc -p tsconfig.json` first.
import { describe, expect, it } from 'vitest';
import { cpuDelta, split } from '../../dist/bench/harness/scenarios/replication-servers.js';

describe('split: connections over a group of daemons', () => {
  it('gives every connection to a single daemon', () => expect(split(16, 1)).toEqual([16]));
  it('spreads the remainder over the first daemons', () => {
    expect(split(16, 3)).toEqual([6, 5, 5]);
    expect(split(16, 2)).toEqual([8, 8]);
  });
  it('keeps the total at the bounds: connections = daemons - 1, daemons, daemons + 1', () => {
    expect(split(2, 3)).toEqual([1, 1, 1]); // one fewer than daemons: every daemon still gets one
    expect(split(3, 3)).toEqual([1, 1, 1]);
    expect(split(4, 3)).toEqual([2, 1, 1]);
  });
});

describe('cpuDelta: CPU µs per event over several processes', () => {
  const at = (main: number, process: number, threads?: Record<string, number>) => ({ main, process, ...(threads ? { threads } : {}) });

  it('sums main, process and thread groups, and keeps each process', () => {
    const r = cpuDelta(
      [at(100, 200, { main: 100, partitions: 50 }), at(10, 20, { main: 10, partitions: 5 })],
      [at(130, 260, { main: 130, partitions: 70 }), at(50, 100, { main: 50, partitions: 25 })],
      1000,
    );
    // (30 + 40) ms over 1000 events = 70 µs; (60 + 80) ms = 140 µs
    expect(r).toEqual({ sum: { main: 70, process: 140, threads: { main: 70, partitions: 40 } }, each: [60, 80] });
  });

  it('counts a thread group that appeared between the readings from zero', () => {
    const r = cpuDelta([at(0, 0, {})], [at(0, 5, { ingest: 5 })], 1000);
    expect(r?.sum.threads).toEqual({ ingest: 5 });
  });

  it('is undefined when any process could not be read', () => {
    expect(cpuDelta([at(1, 1), undefined], [at(2, 2), at(3, 3)], 10)).toBeUndefined();
    expect(cpuDelta([at(1, 1)], [undefined], 10)).toBeUndefined();
  });
});
