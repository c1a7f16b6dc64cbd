// The frame codec: round trips, every rejection reason, and fuzzing (random bytes never throw past the scanner).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FRAME_HEADER_BYTES, FaultIo, FrameType, LogCorruptError, SegmentLog, crc32, crc32Js, encodeFrame, findNextFrame,
  frameBytes, nativeCrc32, readFrame, segmentName,
} from '../../dist/src/durability/index.js';
import { FDIR } from './helpers.js';

const enc = new TextEncoder();

describe('crc32', () => {
  it('is CRC-32/IEEE, native and fallback alike, and chains', () => {
    expect(nativeCrc32).toBe(true); // engines >= 20.15
    expect(crc32(enc.encode('123456789'))).toBe(0xcbf43926);
    expect(crc32Js(enc.encode('123456789'))).toBe(0xcbf43926);
    expect(crc32Js(new Uint8Array(0))).toBe(0);
    // Node 20.20's zlib.crc32 returns 0 for some empty views instead of the running value.
    expect(crc32(Uint8Array.from([]).subarray(0, 0), 12345)).toBe(12345);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }), (a, b) => {
      const whole = new Uint8Array([...a, ...b]);
      expect(crc32Js(whole)).toBe(crc32(whole));
      expect(crc32Js(b, crc32Js(a))).toBe(crc32(whole));
      expect(crc32(b, crc32(a))).toBe(crc32(whole));
    }));
  });
});

describe('frame codec', () => {
  it('round-trips fields and payload parts of every padding length, zero-length parts included', () => {
    for (let n = 0; n <= 17; n++) {
      const p = Uint8Array.from({ length: n }, (_, i) => i + 1);
      const parts = [p.subarray(0, n >> 1), new Uint8Array(0), p.subarray(n >> 1)];
      const buf = frameBytes({ type: FrameType.EVENTS, firstSeq: 2 ** 53 - 1 - n, count: n, durableSeq: 2 ** 40 + n }, parts);
      expect(buf.byteLength % 8).toBe(0);
      expect(buf.byteLength).toBe(Math.ceil((FRAME_HEADER_BYTES + n) / 8) * 8);
      const f = readFrame(buf, 0);
      expect(f).toMatchObject({ ok: true, type: 16, firstSeq: 2 ** 53 - 1 - n, count: n, durableSeq: 2 ** 40 + n, next: buf.byteLength });
      if (f.ok) expect([...buf.subarray(f.payloadStart, f.payloadEnd)]).toEqual([...p]);
    }
  });

  it('writes the caller parts as they are (no copy), shared memory included, and the CRC reads them', () => {
    const sab = new SharedArrayBuffer(64);
    const view = new Uint8Array(sab, 8, 20).fill(9);
    const e = encodeFrame({ type: 17, firstSeq: 5, count: 0, durableSeq: 0 }, [view]);
    expect(e.iov[1]).toBe(view);
    expect(e.bytes).toBe(56);
    const out = new Uint8Array(e.bytes);
    let at = 0;
    for (const p of e.iov) (out.set(p, at), (at += p.byteLength));
    expect(readFrame(out, 0).ok).toBe(true);
    view[3] = 1; // the CRC was computed over these bytes
    at = 0;
    for (const p of e.iov) (out.set(p, at), (at += p.byteLength));
    expect(readFrame(out, 0)).toMatchObject({ ok: false, fault: 'crc' });
  });

  it('rejects, with the reason, each way a frame can be wrong', () => {
    const good = frameBytes({ type: 16, firstSeq: 1, count: 2, durableSeq: 0 }, [enc.encode('abc')]);
    const bad = (mutate: (b: Uint8Array, v: DataView) => void, keepCrc = false) => {
      const b = good.slice();
      const v = new DataView(b.buffer);
      mutate(b, v);
      if (keepCrc) v.setUint32(0, crc32(b.subarray(4)), true);
      return readFrame(b, 0);
    };
    expect(readFrame(good, 0).ok).toBe(true);
    expect(readFrame(good.subarray(0, 31), 0)).toMatchObject({ ok: false, fault: 'incomplete' });
    expect(readFrame(good.subarray(0, good.length - 8), 0)).toMatchObject({ ok: false, fault: 'incomplete' });
    expect(readFrame(new Uint8Array(64), 0)).toMatchObject({ ok: false, fault: 'length' });
    expect(bad((_, v) => v.setUint32(4, 31, true))).toMatchObject({ fault: 'length' });
    expect(bad((_, v) => v.setUint32(4, 2 ** 30 + 1, true))).toMatchObject({ fault: 'length' });
    for (const t of [0, 3, 15]) expect(bad((b) => (b[8] = t), true)).toMatchObject({ fault: 'header' });
    expect(bad((b) => (b[9] = 7), true)).toMatchObject({ ok: true, serial: 7 });
    expect(bad((_, v) => v.setUint32(20, 0x20_0000, true), true)).toMatchObject({ fault: 'header' }); // firstSeq >= 2^53
    expect(bad((b) => (b[33] ^= 1))).toMatchObject({ fault: 'crc' });
    expect(bad((b) => (b[36] = 1), true)).toMatchObject({ fault: 'padding' });
    expect(bad((b) => (b[8] = 255), true)).toMatchObject({ ok: true, type: 255 });
  });

  it('round-trips arbitrary fields and parts (property)', () => {
    fc.assert(fc.property(
      fc.record({
        type: fc.integer({ min: 16, max: 255 }),
        firstSeq: fc.maxSafeNat(),
        count: fc.integer({ min: 0, max: 0xffff_ffff }),
        durableSeq: fc.maxSafeNat(),
        serial: fc.integer({ min: 0, max: 2 ** 24 - 1 }),
      }),
      fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 5 }),
      (fields, parts) => {
        const buf = frameBytes(fields, parts);
        const f = readFrame(buf, 0);
        expect(f).toMatchObject({ ok: true, ...fields, next: buf.byteLength });
        if (f.ok) expect(Buffer.from(buf.subarray(f.payloadStart, f.payloadEnd))).toEqual(Buffer.concat(parts));
      },
    ));
  });

  it('never throws on random bytes, and finds a frame planted among them (fuzz)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(700), (bytes, at) => {
      readFrame(bytes, at);
      findNextFrame(bytes, at);
    }), { numRuns: 2000 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(25), (noise, slot) => {
      const frame = frameBytes({ type: 20, firstSeq: 7, count: 1, durableSeq: 3 }, [enc.encode('planted')]);
      const buf = new Uint8Array(Math.ceil(noise.length / 8) * 8 + frame.length + 8 * slot);
      buf.set(noise);
      const at = buf.length - frame.length;
      buf.set(frame, at);
      const f = findNextFrame(buf, 0);
      expect(f).not.toBeNull();
      expect(f!.offset).toBeLessThanOrEqual(at);
      expect(findNextFrame(buf, at)?.offset).toBe(at);
    }), { numRuns: 500 });
  });

  it('restore over random segment bytes either opens or refuses with a typed error, never anything else (fuzz)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), fc.boolean(), fc.constantFrom('always', 'interval', 'never'), (noise, withHead, mode) => {
      const io = new FaultIo();
      io.mkdirp(FDIR);
      const log = SegmentLog.open(FDIR, { fsync: mode, io });
      if (withHead) {
        log.append(16, 1, 1, [enc.encode('x')]);
        log.commit();
      }
      log.close();
      const file = `${FDIR}/${segmentName(1)}`;
      const base = withHead ? io.fileBytes(file) : new Uint8Array(0);
      if (!withHead) io.open(file, 'w');
      io.setFileBytes(file, new Uint8Array([...base, ...noise]));
      try {
        SegmentLog.open(FDIR, { fsync: mode, io }).close();
      } catch (err) {
        expect(err).toBeInstanceOf(LogCorruptError);
      }
    }), { numRuns: 300 });
  });
});
