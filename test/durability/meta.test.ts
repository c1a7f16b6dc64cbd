// meta.json: created once, checked at every open; a different partition count is refused clearly.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DATA_DIR_FORMAT_VERSION, FaultIo, META_FILE, openDataDirMeta, writeDataDirMeta } from '../../dist/src/durability/index.js';
import { FDIR, dieAt, tmpDir } from './helpers.js';

describe('meta.json', () => {
  it('is written on first open and read back; geometry changes are reported, not refused', () => {
    const dir = tmpDir();
    const first = openDataDirMeta(dir, { partitions: 4, geometry: { capacity: 1024, arenaBytes: 65536 } });
    expect(first).toMatchObject({ created: true, changed: [], meta: { formatVersion: DATA_DIR_FORMAT_VERSION, partitions: 4 } });
    expect(JSON.parse(readFileSync(join(dir, META_FILE), 'utf8'))).toMatchObject({ partitions: 4, geometry: { capacity: 1024 } });
    const again = openDataDirMeta(dir, { partitions: 4, geometry: { capacity: 1024, arenaBytes: 65536 } });
    expect(again).toMatchObject({ created: false, changed: [] });
    const grown = openDataDirMeta(dir, { partitions: 4, geometry: { capacity: 2048, window: true } });
    expect(grown.changed).toEqual(['arenaBytes', 'capacity', 'window']);
    expect(grown.meta.geometry.capacity).toBe(1024); // as stored, until the caller records the new one
    writeDataDirMeta(dir, { ...grown.meta, geometry: { capacity: 2048, window: true } });
    expect(openDataDirMeta(dir, { partitions: 4, geometry: { capacity: 2048, window: true } }).changed).toEqual([]);
  });

  it('refuses a different partition count with RS_ERR_DATA_DIR_MISMATCH saying what to do', () => {
    const dir = tmpDir();
    openDataDirMeta(dir, { partitions: 4 });
    for (const n of [3, 5, 1]) {
      expect(() => openDataDirMeta(dir, { partitions: n })).toThrow(expect.objectContaining({
        code: 'RS_ERR_DATA_DIR_MISMATCH',
        message: expect.stringContaining(`was created with 4 partitions, not ${n}`),
        details: { dir, stored: 4, requested: n },
      }));
    }
    expect(() => openDataDirMeta(dir, { partitions: 4 })).not.toThrow();
  });

  it('refuses a newer format and a damaged file', () => {
    const dir = tmpDir();
    const file = join(dir, META_FILE);
    writeFileSync(file, JSON.stringify({ formatVersion: DATA_DIR_FORMAT_VERSION + 1, partitions: 2, geometry: {} }));
    expect(() => openDataDirMeta(dir, { partitions: 2 })).toThrow(expect.objectContaining({ code: 'RS_ERR_DATA_DIR_MISMATCH' }));
    writeFileSync(file, '{"formatVersion":1,"partit');
    expect(() => openDataDirMeta(dir, { partitions: 2 })).toThrow(expect.objectContaining({ code: 'RS_ERR_LOG_CORRUPT', file }));
    writeFileSync(file, '{"formatVersion":1}');
    expect(() => openDataDirMeta(dir, { partitions: 2 })).toThrow(expect.objectContaining({ code: 'RS_ERR_LOG_CORRUPT' }));
  });

  it('validates its input', () => {
    const dir = tmpDir();
    for (const partitions of [0, 1.5, -1, Number.NaN]) {
      expect(() => openDataDirMeta(dir, { partitions })).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_ARGUMENT' }));
    }
    expect(() => openDataDirMeta(dir, { partitions: 1, geometry: { x: { y: 1 } as unknown as number } })).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_ARGUMENT' }));
    expect(() => openDataDirMeta(dir, { partitions: 1, geometry: { x: Infinity } })).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_ARGUMENT' }));
    expect(() => openDataDirMeta('', { partitions: 1 })).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_ARGUMENT' }));
  });

  it('a power cut at any step of its first write leaves no meta or a whole one', () => {
    for (let n = 1; n <= 6; n++) {
      const io = new FaultIo();
      try {
        openDataDirMeta(FDIR, { partitions: 8, geometry: { capacity: 100 } }, { io: dieAt(io, n) });
      } catch {
        // the cut
      }
      io.crash({ seed: n });
      const r = openDataDirMeta(FDIR, { partitions: 8, geometry: { capacity: 100 } }, { io });
      expect(r.meta.partitions).toBe(8);
      expect(() => openDataDirMeta(FDIR, { partitions: 2 }, { io })).toThrow(expect.objectContaining({ code: 'RS_ERR_DATA_DIR_MISMATCH' }));
    }
  });
});
