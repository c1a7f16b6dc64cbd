// The snapshot collection: first snapshot, index upkeep, snapshotEvery, historical reads.
import { expect, it } from 'vitest';
import { StreamSnapshotVersionNotFoundError, StreamVersionNotFoundError } from '../../dist/src/streams/index.js';
import type { StreamEvent } from '../../dist/src/streams/index.js';
import { code, describeBackends, evs, rejection } from './helpers.js';

const sum = (state: number | undefined, events: readonly StreamEvent[]) => events.reduce((a, e) => a + (e.data as { n: number }).n, state ?? 0);

describeBackends('snapshots', ({ manual }) => {
  it('the first snapshot is indexed: lastSnapshotVersion and reads see it', async () => {
    const { provider } = manual();
    const s = await provider.open('Acc/1');
    expect(await s.lastSnapshotVersion()).toBe(0);
    expect(await s.snapshotVersions()).toEqual([]);
    await s.append(evs(1, 5));
    await s.snapshot(3, { total: 6 });
    expect(await s.lastSnapshotVersion()).toBe(3);
    expect(await s.snapshotVersions()).toEqual([3]);
    const r = await s.read({ useSnapshot: true });
    expect(r.snapshot?.version).toBe(3);
    expect(r.snapshot?.state).toEqual({ total: 6 });
    expect(r.events.map((e) => e.version)).toEqual([4, 5]);
    // without useSnapshot: every event
    const full = await s.read();
    expect(full.snapshot).toBeUndefined();
    expect(full.events).toHaveLength(5);
  });

  it('rejects versions <= 0 (argument) and > head (StreamVersionNotFoundError); state must be JSON', async () => {
    const { provider } = manual();
    const s = await provider.open('Acc/1');
    await s.append(evs(1, 2));
    expect(await code(s.snapshot(0, {}))).toBe('RS_ERR_INVALID_ARGUMENT');
    expect(await code(s.snapshot(-1, {}))).toBe('RS_ERR_INVALID_ARGUMENT');
    const err = await rejection<StreamVersionNotFoundError>(s.snapshot(3, {}));
    expect(err).toBeInstanceOf(StreamVersionNotFoundError);
    expect(await code(s.snapshot(2, { f: () => 1 }))).toBe('RS_ERR_INVALID_ARGUMENT');
    expect(await s.snapshotVersions()).toEqual([]);
  });

  it('a historical read uses the greatest snapshot <= toVersion, never a newer one', async () => {
    const { provider } = manual();
    const s = await provider.open('Acc/1');
    await s.append(evs(1, 20));
    await s.snapshot(5, 'at5');
    await s.snapshot(10, 'at10');
    await s.snapshot(15, 'at15');
    const r = await s.read({ toVersion: 12, useSnapshot: true });
    expect(r.snapshot?.version).toBe(10);
    expect(r.events.map((e) => e.version)).toEqual([11, 12]);
    const early = await s.read({ toVersion: 4, useSnapshot: true });
    expect(early.snapshot).toBeUndefined();
    expect(early.events.map((e) => e.version)).toEqual([1, 2, 3, 4]);
    const exact = await s.read({ toVersion: 15, useSnapshot: true });
    expect(exact.snapshot?.state).toBe('at15');
    expect(exact.events).toEqual([]);
  });

  it('snapshotEvery runs sequentially with the state at the previous snapshot and the events since', async () => {
    const { provider } = manual();
    const s = await provider.open('Acc/1');
    await s.append(evs(1, 35));
    const calls: Array<{ state: number | undefined; from: number; to: number; version: number }> = [];
    const written = await s.snapshotEvery<number>(10, (state, events, version) => {
      calls.push({ state, from: events[0]!.version, to: events[events.length - 1]!.version, version });
      return sum(state, events);
    });
    expect(written).toEqual([10, 20, 30]);
    expect(calls).toEqual([
      { state: undefined, from: 1, to: 10, version: 10 },
      { state: 55, from: 11, to: 20, version: 20 },
      { state: 210, from: 21, to: 30, version: 30 },
    ]);
    expect(await s.snapshotVersions()).toEqual([10, 20, 30]);
    // state at each snapshot equals a full replay
    for (const v of [10, 20, 30]) {
      const r = await s.read({ toVersion: v, useSnapshot: true });
      expect(r.snapshot!.state).toBe(sum(undefined, (await s.read({ toVersion: v })).events));
    }
    // running again continues after the last snapshot
    await s.append(evs(36, 10));
    expect(await s.snapshotEvery<number>(10, async (state, events) => sum(state, events))).toEqual([40]);
    expect((await s.read({ useSnapshot: true })).snapshot!.state).toBe(sum(undefined, (await s.read({ toVersion: 40 })).events));
    expect(await code(s.snapshotEvery(0, () => 1))).toBe('RS_ERR_INVALID_ARGUMENT');
    expect(await code(s.snapshotEvery(5, 'nope' as never))).toBe('RS_ERR_INVALID_ARGUMENT');
  });

  it('clearSnapshot removes the snapshot and updates the index; unknown versions throw', async () => {
    const { provider } = manual();
    const s = await provider.open('Acc/1');
    await s.append(evs(1, 10));
    await s.snapshot(4, 'a');
    await s.snapshot(8, 'b');
    await s.clearSnapshot(8);
    expect(await s.snapshotVersions()).toEqual([4]);
    expect(await s.lastSnapshotVersion()).toBe(4);
    expect((await s.read({ useSnapshot: true })).snapshot?.version).toBe(4);
    const err = await rejection<StreamSnapshotVersionNotFoundError>(s.clearSnapshot(8));
    expect(err).toBeInstanceOf(StreamSnapshotVersionNotFoundError);
    expect(err.version).toBe(8);
    await s.clearSnapshot(4);
    expect(await s.snapshotVersions()).toEqual([]);
    expect(await s.lastSnapshotVersion()).toBe(0);
    expect((await s.read({ useSnapshot: true })).events).toHaveLength(10);
  });

  it('clearSnapshots removes every snapshot without orphans; history stays', async () => {
    const { provider, backend } = manual();
    const s = await provider.open('Acc/1');
    await s.append(evs(1, 10));
    await s.snapshot(1, 'first');
    await s.snapshot(5, 'x');
    await s.snapshot(5, 'x2'); // overwrite keeps one index entry
    expect(await s.snapshotVersions()).toEqual([1, 5]);
    // an orphan written behind the index's back is removed as well
    await backend.set('EventStores/Acc/1/s/0000000000000009', { version: 9, state: 'orphan', createdAt: '' });
    await s.clearSnapshots();
    expect(await s.snapshotVersions()).toEqual([]);
    expect(await backend.list('EventStores/Acc/1/s/')).toEqual([]);
    expect(await backend.tryGet('EventStores/Acc/1/x')).toBeUndefined();
    expect((await s.read({ useSnapshot: true })).events).toHaveLength(10);
    await s.clearSnapshots(); // idempotent
  });

  it('an indexed snapshot that is missing surfaces as StreamSnapshotVersionNotFoundError', async () => {
    const { provider, backend } = manual();
    const s = await provider.open('Acc/1');
    await s.append(evs(1, 3));
    await s.snapshot(2, 'two');
    await backend.remove('EventStores/Acc/1/s/0000000000000002');
    expect(await code(s.read({ useSnapshot: true }))).toBe('RS_ERR_STREAM_SNAPSHOT_VERSION_NOT_FOUND');
  });

  it('reading 10k events with a snapshot returns only the tail', async () => {
    const { provider } = manual();
    const s = await provider.open('Acc/big');
    for (let i = 0; i < 10; i++) await s.append(evs(i * 1000 + 1, 1000));
    await s.snapshotEvery<number>(1000, (state, events) => sum(state, events));
    const r = await s.read({ useSnapshot: true });
    expect(r.snapshot!.version).toBe(10_000);
    expect(r.snapshot!.state).toBe((10_000 * 10_001) / 2);
    expect(r.events).toEqual([]);
  });
});
