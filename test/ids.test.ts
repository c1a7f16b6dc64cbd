// The shared id pieces (src/ids): one process-wide generator behind the streams' newEventId
// and the daemon's ids, and the bounds of a ULID's time.
import { describe, expect, it } from 'vitest';
import { RingstoreError } from '../dist/src/index.js';
import { InvalidStreamArgumentError, newEventId } from '../dist/src/streams/index.js';
import { isoTime, nextEventId } from '../dist/src/ids/event-id.js';
import { checkUlidTime, isUlidTime } from '../dist/src/ids/ulid.js';

const MAX = 2 ** 48 - 1;

describe('ids', () => {
  it('a ULID time is an epoch ms in [0, 2^48 - 1]', () => {
    expect([-1, 0, 1, MAX - 1, MAX, MAX + 1, NaN, Infinity].map(isUlidTime)).toEqual([false, true, true, true, true, false, false, false]);
    expect(() => checkUlidTime(MAX)).not.toThrow();
    for (const bad of [-1, MAX + 1, NaN]) {
      let caught: unknown;
      try {
        checkUlidTime(bad);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(RingstoreError);
      expect(caught).toMatchObject({ code: 'RS_ERR_INVALID_ARGUMENT', details: { now: bad } });
    }
  });

  it('the streams\' newEventId keeps its class at the bounds', () => {
    expect(newEventId(MAX)).toMatch(/^7ZZZZZZZZZ/);
    expect(() => newEventId(MAX + 1)).toThrow(InvalidStreamArgumentError);
    expect(() => newEventId(-1)).toThrow(InvalidStreamArgumentError);
    expect(() => nextEventId(MAX + 1)).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_ARGUMENT' }));
  });

  it('the streams and the daemon draw from one generator: interleaved ids increase strictly', () => {
    const now = 1_700_000_000_000;
    let previous = '';
    for (let i = 0; i < 2_000; i++) {
      const id = i % 2 === 0 ? newEventId(now) : nextEventId(now - (i % 3)); // same ms, and time going back
      expect(id > previous).toBe(true);
      previous = id;
    }
  });

  it('isoTime is toISOString, cached per millisecond', () => {
    for (const ms of [0, 5, 5, 1_700_000_000_123, 8.64e15]) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
  });
});
