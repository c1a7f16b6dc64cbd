// A durable partition whose log failed with an I/O error (docs/durability.md, "I/O errors"): it refuses writes
// with RS_ERR_IO until the store is reopened, through worker restarts too (Ctl.LOG_FAILED), and loses nothing.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EventStore, type EventStoreOptions, type StoredEvent } from '../../dist/src/index.js';
import { Ctl, LINE_INTS } from '../../dist/src/ring/layout.js';

interface Ev {
  k: string;
  n: number;
}

const roots: string[] = [];
afterAll(() => {
  for (const d of roots) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'rs-logfail-'));
  roots.push(d);
  return d;
}

const options = (dir: string): EventStoreOptions<Ev> => ({
  capacity: 64, partitions: 1, key: 'k', values: { n: 'n' },
  // No periodic checkpoint: only the log (and the checkpoint of a clean close) holds the events.
  durability: { dir, fsync: 'always', checkpointIntervalMs: 3_600_000 },
});

const view = (e: StoredEvent<Ev>): unknown[] => [e.id, e.position, e.version, e.key, e.payload];

/** Arms the test hook: partition p's next log fdatasync fails with EIO. */
function failNextSync(s: EventStore<Ev>, p: number): void {
  Atomics.store(new Int32Array(s.descriptor().partitions[p]), Ctl.FAIL_SYNC * LINE_INTS, 1);
}

describe('a failed log stays failed until the store is reopened', () => {
  it('after EIO on fdatasync, restarted workers still refuse appends, purges and clears with RS_ERR_IO; nothing stored is lost', async () => {
    const dir = tmp();
    let s = await EventStore.open<Ev>(options(dir));
    for (let i = 0; i < 10; i++) await s.append({ k: `k${i % 3}`, n: i });
    const stored = (await s.snapshot()).map(view);
    failNextSync(s, 0);
    await expect(s.append({ k: 'k0', n: 100 })).rejects.toMatchObject({ code: 'RS_ERR_IO' });
    await expect(s.append({ k: 'k0', n: 101 })).rejects.toMatchObject({ code: 'RS_ERR_IO' });

    await s.crashPartition(0); // the worker dies; a new one starts on the same memory
    await expect(s.append({ k: 'k0', n: 102 })).rejects.toMatchObject({ code: 'RS_ERR_IO' });
    await expect(s.append([{ k: 'k1', n: 103 }, { k: 'k2', n: 104 }])).rejects.toMatchObject({ code: 'RS_ERR_IO' });
    expect(s.tryAppend({ k: 'k1', n: 105 })).toBe(true); // queued, then refused by the worker
    await s.flush();
    await expect(s.purge({ olderThan: Date.now() + 60_000 })).rejects.toMatchObject({ code: 'RS_ERR_IO' });
    await expect(s.clear()).rejects.toMatchObject({ code: 'RS_ERR_IO' });
    expect((await s.snapshot()).map(view)).toEqual(stored); // reads go on, and show only what was stored

    await s.crashPartition(0, { terminate: true }); // a second restart, ended from outside
    await expect(s.append({ k: 'k0', n: 106 })).rejects.toMatchObject({ code: 'RS_ERR_IO' });
    expect((await s.snapshot()).map(view)).toEqual(stored);
    await s.close().catch(() => undefined); // the last checkpoint is not written through a failed log

    s = await EventStore.open<Ev>(options(dir)); // reopening re-reads the disk and clears the failure
    const back = (await s.snapshot()).map(view);
    expect(back.slice(0, stored.length)).toEqual(stored);
    // Nothing refused is there: n 100's frame was written, but cut off again when its fsync failed (below).
    expect(back.map((e) => (e[4] as Ev).n).filter((n) => n >= 100)).toEqual([]);
    expect((await s.append({ k: 'k0', n: 200 })).version).toBe(back.filter((e) => e[3] === 'k0').length + 1);
    await s.close();
  });

  // The frame of a drain whose fdatasync failed was written; the log cuts it off again (truncates the segment
  // back to where the frame started and syncs that), so the RS_ERR_IO the appends got ("nothing was stored")
  // is what a reopen finds.
  it('a drain refused because its fdatasync failed is cut off the log: a reopen does not bring it back', async () => {
    const dir = tmp();
    let s = await EventStore.open<Ev>(options(dir));
    for (let i = 0; i < 3; i++) await s.append({ k: 'a', n: i });
    const checkpoints = readdirSync(path.join(dir, 'p0', 'checkpoints'));
    failNextSync(s, 0);
    await expect(s.append({ k: 'a', n: 100 }, { id: 'ev-100' })).rejects.toMatchObject({ code: 'RS_ERR_IO', message: expect.stringContaining('nothing was stored') });
    expect((await s.snapshot()).map((e) => e.payload.n)).toEqual([0, 1, 2]);
    expect(s.stats).toMatchObject({ appended: 4, committed: 3, rejected: 1 }); // appended counts the refused one too
    await s.close().catch(() => undefined);
    // No checkpoint after the failure (close's last one needs a sync of the failed log first).
    expect(readdirSync(path.join(dir, 'p0', 'checkpoints'))).toEqual(checkpoints);
    s = await EventStore.open<Ev>(options(dir));
    expect((await s.snapshot()).map((e) => [e.payload.n, e.position, e.version])).toEqual([[0, 1, 1], [1, 2, 2], [2, 3, 3]]);
    // The refusal was counted at a commit point that wrote no frame, and no checkpoint came after it
    // (docs/durability.md: `appended` and `rejected` may come back lower); nothing counts it as committed.
    expect(s.stats).toMatchObject({ appended: 3, committed: 3, rejected: 0 });
    // The client told "not stored" retries: stored once, as new, right after what was stored.
    expect(await s.append({ k: 'a', n: 100 }, { id: 'ev-100' })).toMatchObject({ position: 4, version: 4, duplicate: false });
    expect(s.stats).toMatchObject({ appended: 4, committed: 4, rejected: 0 });
    await s.close();
  });

  // Ctl.FAIL_SYNC 2: the commit's fdatasync fails, and so does the fdatasync of the truncation that cuts its
  // frame off. Whether the frame survives a power loss is then unknown, and the error says so.
  it('when the cut of that frame cannot be synced either, the appends get RS_ERR_IO_UNKNOWN (may or may not be stored); later ones RS_ERR_IO', async () => {
    const dir = tmp();
    let s = await EventStore.open<Ev>(options(dir));
    for (let i = 0; i < 3; i++) await s.append({ k: 'a', n: i });
    Atomics.store(new Int32Array(s.descriptor().partitions[0]), Ctl.FAIL_SYNC * LINE_INTS, 2);
    const err = await s.append([{ k: 'a', n: 100 }, { k: 'b', n: 101 }], { id: ['ev-100', 'ev-101'] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'RS_ERR_IO_UNKNOWN', message: expect.stringContaining('may or may not have been stored') });
    await expect(s.append({ k: 'a', n: 102 })).rejects.toMatchObject({ code: 'RS_ERR_IO', message: expect.stringContaining('nothing was stored') });
    expect((await s.snapshot()).map((e) => e.payload.n)).toEqual([0, 1, 2]);
    expect(s.stats).toMatchObject({ appended: 6, committed: 3, rejected: 3 });
    await s.close().catch(() => undefined);
    // In this boot the truncation itself went through (only its sync failed): the reopen does not replay the
    // frame. After a power loss it might; the retry with the same ids is right either way.
    s = await EventStore.open<Ev>(options(dir));
    expect((await s.snapshot()).map((e) => e.payload.n)).toEqual([0, 1, 2]);
    const again = await s.append([{ k: 'a', n: 100 }, { k: 'b', n: 101 }], { id: ['ev-100', 'ev-101'] });
    expect(again.map((r) => [r.position, r.duplicate])).toEqual([[4, false], [5, false]]);
    await s.close();
  });

  it('an array over two partitions, one refused as not stored and one of unknown outcome, rejects as unknown', async () => {
    const dir = tmp();
    const s = await EventStore.open<Ev>({ ...options(dir), partitions: 2 });
    const keys = new Map<number, string>();
    for (let i = 0; keys.size < 2; i++) keys.set((await s.append({ k: `k${i}`, n: i })).partition, `k${i}`);
    const hooks = s.descriptor().partitions.map((sab) => new Int32Array(sab));
    Atomics.store(hooks[1], Ctl.FAIL_SYNC * LINE_INTS, 1); // event 0: RS_ERR_IO, nothing stored
    Atomics.store(hooks[0], Ctl.FAIL_SYNC * LINE_INTS, 2); // event 1: RS_ERR_IO_UNKNOWN
    const err = await s.append([{ k: keys.get(1)!, n: 100 }, { k: keys.get(0)!, n: 101 }], { id: ['x-100', 'x-101'] }).catch((e: unknown) => e);
    // Nothing is known stored, but event 1 may be: the call as a whole may or may not have stored, and a
    // retry of the whole array with the same ids is right.
    expect(err).toMatchObject({ code: 'RS_ERR_IO_UNKNOWN' });
    await s.close().catch(() => undefined);
  });
});
