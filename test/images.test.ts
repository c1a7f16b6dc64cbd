// EventStore.exportImages / importImages: a fresh store loaded with another store's images continues
// exactly as that store (positions, versions, conflicts, duplicates, counters, live events), at the ring's
// bounds too; what does not fit is refused and leaves the store as it was. `ringstore serve --nats` shares
// these images as checkpoints (test/server/nats-checkpoint.test.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStore } from '../dist/src/index.js';

interface Ev {
  user: string;
  n: number;
  ts: number;
}

const CAPACITY = 16; // 8 per partition
const stores: EventStore<Ev>[] = [];
function make(options: Parameters<typeof EventStore.create<Ev>>[0] = {}): EventStore<Ev> {
  const s = EventStore.create<Ev>({ capacity: CAPACITY, partitions: 2, key: 'user', timestamp: 'ts', values: { n: 'n' }, dedupWindow: 64, ...options });
  stores.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

/**
 * The same operations on a store: unconditional, conditional (right and stale) and idempotent appends.
 * Every event has its id and timestamp (otherwise the store draws them, differently in each store).
 */
async function ops(s: EventStore<Ev>, from: number, count: number): Promise<unknown[]> {
  const out: unknown[] = [];
  for (let i = from; i < from + count; i++) {
    const user = `u${i % 5}`;
    try {
      if (i % 4 === 0) out.push(await s.append({ user, n: i, ts: i }, { id: `id-${i % 12}` }));
      else if (i % 3 === 0) out.push(await s.append({ user, n: i, ts: i }, { expectedVersion: i % 2, id: `e-${i}` }));
      else out.push(await s.append([{ user, n: i, ts: i }, { user, n: -i, ts: i }], { id: [`e-${i}-a`, `e-${i}-b`] }));
    } catch (err) {
      out.push({ error: (err as { code?: string }).code, ...(err as { details?: object }).details });
    }
  }
  return out;
}

async function state(s: EventStore<Ev>): Promise<unknown> {
  const { partitions } = s.stats;
  return {
    events: await s.snapshot(),
    counts: partitions.map(({ appended, committed, discarded, rejected, duplicates, conflicts, purged, live, keys, dormantKeys, dedupIds }) => ({ appended, committed, discarded, rejected, duplicates, conflicts, purged, live, keys, dormantKeys, dedupIds })),
  };
}

describe('EventStore images', () => {
  it('sends each worker only its image: moved with transfer when it owns its buffer, else copied', async () => {
    const a = make();
    await ops(a, 1, 9);
    const images = await a.exportImages();
    expect(images.map((x) => x.byteLength === x.buffer.byteLength)).toEqual([true, true]);
    // Views into one buffer holding both (as a checkpoint read in one piece would give): copied, left usable.
    const joined = new Uint8Array(images[0]!.byteLength + images[1]!.byteLength);
    joined.set(images[0]!, 0);
    joined.set(images[1]!, images[0]!.byteLength);
    const views = [joined.subarray(0, images[0]!.byteLength), joined.subarray(images[0]!.byteLength)];
    const b = make();
    await b.importImages(views, { transfer: true });
    expect(joined.byteLength).toBeGreaterThan(0);
    expect(await state(b)).toEqual(await state(a));
    // Owned buffers with transfer: moved (detached here), not copied.
    const c = make();
    await c.importImages(images, { transfer: true });
    expect(images.map((x) => x.byteLength)).toEqual([0, 0]);
    expect(await state(c)).toEqual(await state(a));
  });

  for (const before of [0, 1, CAPACITY - 1, CAPACITY, CAPACITY + 1, 3 * CAPACITY]) {
    it(`a store loaded with the images of one that took ${before} operations continues exactly like it`, async () => {
      const a = make();
      await ops(a, 1, before);
      if (before === 3 * CAPACITY) expect(await a.purge({ olderThan: 2 * CAPACITY + 4 })).toBeGreaterThan(0); // a purge is part of the image too
      const b = make();
      await b.importImages(await a.exportImages());
      expect(await state(b)).toEqual(await state(a));
      // The same operations next give the same answers: conflicts, duplicates (ids appended before the images), versions.
      expect(await ops(b, before + 1, 2 * CAPACITY)).toEqual(await ops(a, before + 1, 2 * CAPACITY));
      expect(await state(b)).toEqual(await state(a));
    });
  }

  it('refuses what does not fit, and leaves the store as it was', async () => {
    const a = make();
    await ops(a, 1, 5);
    const images = await a.exportImages();
    const b = make();
    const fresh = await b.exportImages();
    await expect(b.importImages(images.slice(0, 1))).rejects.toMatchObject({ code: 'RS_ERR_INVALID_ARGUMENT' });
    await expect(b.importImages('x' as never)).rejects.toMatchObject({ code: 'RS_ERR_INVALID_ARGUMENT' });
    // Another geometry: refused before anything is copied.
    const other = make({ capacity: CAPACITY * 2 });
    await expect(other.importImages(images)).rejects.toMatchObject({ code: 'RS_ERR_DATA_DIR_MISMATCH' });
    expect(await other.count()).toBe(0);
    await other.append({ user: 'x', n: 1, ts: 1 });
    expect(await other.snapshot()).toMatchObject([{ key: 'x', version: 1, position: 1 }]);
    // A store that took writes.
    await expect(other.importImages(await make({ capacity: CAPACITY * 2 }).exportImages())).rejects.toMatchObject({ code: 'RS_ERR_INVALID_ARGUMENT' });
    // A durable store restores from its own checkpoints.
    const dir = mkdtempSync(join(tmpdir(), 'rs-images-'));
    try {
      const durable = await EventStore.open<Ev>({ capacity: CAPACITY, partitions: 2, key: 'user', timestamp: 'ts', values: { n: 'n' }, dedupWindow: 64, durability: { dir } });
      stores.push(durable);
      await expect(durable.importImages(images)).rejects.toMatchObject({ code: 'RS_ERR_INVALID_OPTION' });
      await durable.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // One good image and one of another geometry: refused before any partition loads (the good one neither).
    const mixed = [images[0]!, (await make({ capacity: CAPACITY * 2 }).exportImages())[1]!];
    await expect(b.importImages(mixed)).rejects.toMatchObject({ code: 'RS_ERR_DATA_DIR_MISMATCH' });
    const otherFormat = [images[0]!, images[1]!.slice()];
    new Float64Array(otherFormat[1]!.buffer, 0, 1)[0] = 99;
    await expect(b.importImages(otherFormat)).rejects.toMatchObject({ code: 'RS_ERR_LOG_CORRUPT' });
    expect(await b.count()).toBe(0);
    expect(await b.exportImages()).toEqual(fresh);
    await expect(b.importImages(images, { transfer: 'yes' } as never)).rejects.toMatchObject({ code: 'RS_ERR_INVALID_ARGUMENT' });
    // b is untouched by the refusals, and still takes the images.
    await b.importImages(images);
    expect(await state(b)).toEqual(await state(a));
  });
});
