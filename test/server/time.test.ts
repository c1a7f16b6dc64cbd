// The daemon's one rule for time values (src/server/time.ts), at its bounds.
import { describe, expect, it } from 'vitest';
import { MAX_TIME_MS, UNSET_TIME_MS, eventTime, isoToMs, parseTime, queryTime } from '../../dist/src/server/time.js';

const bad = (raw: unknown): void => {
  expect(() => parseTime('t', raw), String(raw)).toThrow(expect.objectContaining({ code: 'RS_ERR_BAD_REQUEST', status: 400 }));
};

describe('time values', () => {
  it('numbers: finite, within ±8.64e15, also as query strings', () => {
    expect(parseTime('t', 0)).toBe(0);
    expect(parseTime('t', MAX_TIME_MS)).toBe(MAX_TIME_MS);
    expect(parseTime('t', -MAX_TIME_MS)).toBe(-MAX_TIME_MS);
    expect(parseTime('t', '1700000000000')).toBe(1_700_000_000_000);
    expect(parseTime('t', '-1.5e3')).toBe(-1500);
    expect(parseTime('t', '20200101')).toBe(20_200_101); // digits are milliseconds, never a compact date
    for (const v of [MAX_TIME_MS + 1, -MAX_TIME_MS - 1, 1e300, -1e20, Number.NaN, Infinity, '1e300', '8640000000000001', '-1e20', 'NaN', '0x10', ' 12', '']) bad(v);
    for (const v of [true, {}, [], null]) bad(v);
    expect(parseTime('t', undefined)).toBeUndefined();
  });

  it('ISO 8601: real calendar dates only, UTC without an offset', () => {
    expect(isoToMs('2020-02-29')).toBe(Date.UTC(2020, 1, 29));
    expect(isoToMs('2000-02-29T00:00:00Z')).toBe(Date.UTC(2000, 1, 29));
    expect(isoToMs('2024-12-31T23:59:59.999')).toBe(Date.UTC(2024, 11, 31, 23, 59, 59, 999));
    expect(isoToMs('2024-01-01 10:00')).toBe(Date.UTC(2024, 0, 1, 10));
    expect(isoToMs('2024-01-01T10:00:00.123456789Z')).toBe(Date.UTC(2024, 0, 1, 10, 0, 0, 123));
    expect(isoToMs('2024-01-01T10:00:00+02:00')).toBe(Date.UTC(2024, 0, 1, 8));
    expect(isoToMs('2024-01-01T10:00:00-0530')).toBe(Date.UTC(2024, 0, 1, 15, 30));
    expect(isoToMs('2024-01-01T10:00+01')).toBe(Date.UTC(2024, 0, 1, 9));
    // years below 100 are not shifted to 19xx
    expect(new Date(isoToMs('0050-06-01')).getUTCFullYear()).toBe(50);
    expect(isoToMs('0001-01-01T00:00:00')).toBe(UNSET_TIME_MS);
    for (const s of ['2020-02-30', '2019-02-29', '1900-02-29', '2020-04-31', '2020-13-01', '2020-00-10', '2020-01-00', '2020-01-01T24:00', '2020-01-01T23:60', '2020-01-01T23:59:60', '2020-01-01T10:00+24:00', '2020-01-01T10:00+01:60', '2020-1-1', '2020-01-01Z', 'yesterday', '2020-01-01T10', '2020-01-01T10:00:00.Z']) {
      expect(isoToMs(s), s).toBeNaN();
      bad(s);
    }
  });

  it('in a query string an empty value is absent; in an event null, absent and 0001-01-01 mean now', () => {
    expect(queryTime('from', '')).toBeUndefined();
    expect(queryTime('from', undefined)).toBeUndefined();
    expect(queryTime('from', '2020-01-01')).toBe(Date.UTC(2020, 0, 1));
    expect(eventTime('timestamp', undefined, 42)).toBe(42);
    expect(eventTime('timestamp', null, 42)).toBe(42);
    expect(eventTime('timestamp', '0001-01-01T00:00:00', 42)).toBe(42);
    expect(eventTime('timestamp', '0001-01-01T00:00:00Z', 42)).toBe(42);
    expect(eventTime('timestamp', -1, 42)).toBe(-1);
    expect(eventTime('timestamp', '1850-01-01', 42)).toBe(Date.UTC(1850, 0, 1));
    expect(() => eventTime('timestamp', '', 42)).toThrow(/timestamp must be/);
    expect(() => eventTime('timestamp', -1e20, 42)).toThrow(/timestamp must be/);
  });
});
