// The stress scenario's count of armed kills against fired ones (kill-tally.mjs), and what crashPartition
// answers: how the worker it waited for ended.
import { afterEach, describe, expect, it } from 'vitest';
import { EventStore } from '../../dist/src/index.js';
// @ts-expect-error plain ESM module without types
import { firedKills, killTally } from './kill-tally.mjs';

const stores: EventStore<{ k: string }>[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});
function make(capacity: number): EventStore<{ k: string }> {
  const s = EventStore.create<{ k: string }>({ partitions: 1, capacity, key: 'k', onDiscarded: () => undefined });
  stores.push(s);
  return s;
}

describe('crashPartition answers how the worker ended, and the store counts injected faults that fired', () => {
  it('afterEvictions in a drain that evicts: evictions; in one that evicts nothing: no-evictions', async () => {
    const store = make(4);
    let dying = store.crashPartition(0, { afterRecords: 2, afterEvictions: true });
    await store.append([{ k: 'a' }, { k: 'b' }]);
    expect(await dying).toBe('no-evictions');
    dying = store.crashPartition(0, { afterRecords: 4, afterEvictions: true });
    await store.append([{ k: 'c' }, { k: 'd' }, { k: 'e' }, { k: 'f' }]);
    expect(await dying).toBe('evictions');
    expect(firedKills(store.descriptor())).toEqual({ records: 0, evictions: 1, noEvictions: 1, commitPoint: 0, rpc: 0 });
  });

  it('afterRecords, afterCommitPoint, the crash call, and a thread ended from outside', async () => {
    const store = make(16);
    let dying = store.crashPartition(0, { afterRecords: 1 });
    await store.append({ k: 'a' });
    expect(await dying).toBe('mid-drain');
    dying = store.crashPartition(0, { afterRecords: 1, afterCommitPoint: true });
    await store.append({ k: 'a' });
    expect(await dying).toBe('commit-point');
    expect(await store.crashPartition(0)).toBe('rpc');
    expect(await store.crashPartition(0, { terminate: true })).toBe('terminated');
    expect(firedKills(store.descriptor())).toEqual({ records: 1, evictions: 0, noEvictions: 0, commitPoint: 1, rpc: 1 });
    expect(store.stats.restarts).toBe(4);
  });

  it('an armed kill that no drain reaches does not fire: another kill ends the worker, the arm is not counted', async () => {
    const store = make(16);
    const armed = store.crashPartition(0, { afterRecords: 100 });
    await store.append({ k: 'a' });
    expect(await store.crashPartition(0, { terminate: true })).toBe('terminated');
    expect(await armed).toBe('terminated');
    expect(firedKills(store.descriptor()).records).toBe(0);
  });
});

describe('killTally', () => {
  const round = (records: number, evictions: number, fired: { records: number; evictions: number; noEvictions: number }) => ({
    killKinds: { records, evictions, terminate: 0, rpc: 0 }, fired: { ...fired, commitPoint: 0, rpc: 0 },
  });

  it('fails a run in which most afterEvictions kills did not fire after a hand-over', () => {
    const t = killTally([round(6, 8, { records: 6, evictions: 2, noEvictions: 4 }), round(6, 8, { records: 6, evictions: 3, noEvictions: 2 })]);
    expect(t.armed).toEqual({ records: 12, evictions: 16 });
    expect(t.problems).toEqual([expect.stringMatching(/^only 5 of 16 afterEvictions kills fired after a hand-over \(minimum 50%\)/)]);
    expect(t.line).toContain('never fired 5');
  });

  it('fails a run in which most kills of a kind never fired, from 4 armed', () => {
    expect(killTally([round(4, 0, { records: 1, evictions: 0, noEvictions: 0 })]).problems).toEqual([expect.stringMatching(/^only 1 of 4 afterRecords kills fired/)]);
    // What a stress run with the afterEvictions arm made inert (in dist) reported: none fired.
    expect(killTally([round(2, 5, { records: 2, evictions: 0, noEvictions: 0 })]).problems).toEqual([expect.stringMatching(/^only 0 of 5 afterEvictions kills fired \(/)]);
  });

  it('passes a run whose kills fired where armed, and does not judge a run with few kills', () => {
    expect(killTally([round(12, 12, { records: 12, evictions: 9, noEvictions: 3 })]).problems).toEqual([]);
    expect(killTally([round(3, 11, { records: 2, evictions: 1, noEvictions: 10 })]).problems).toEqual([]);
    expect(killTally([round(3, 3, { records: 0, evictions: 0, noEvictions: 0 })]).problems).toEqual([]);
    expect(killTally([{}, undefined]).problems).toEqual([]);
  });
});
