/**
 * The daemon's one rule for time values (query `from`, `to`, `olderThan`;
 * body `timestamp` of `POST /streams` and `POST /metrics`):
 *
 * - a number of milliseconds since the epoch, finite, within ±8.64e15 (the
 *   range of a JavaScript `Date`; numbers in a query string are read as such);
 * - or an ISO 8601 string `YYYY-MM-DD`, optionally followed by `T` (or a
 *   space) `HH:mm`, `:ss`, a fraction and an offset (`Z`, `±HH:MM`, `±HHMM`,
 *   `±HH`); without an offset it is UTC. The date must exist (`2020-02-30` is
 *   refused, not rolled over) and the fields be in range (hours 0-23).
 *
 * Anything else is a 400 naming the parameter: never a silent substitute.
 * On write routes, an absent or null timestamp, and the reference's
 * `default(DateTime)` (`0001-01-01T00:00:00`), mean "the receive time".
 */
import { MAX_TIME_MS } from '../store/event-encoder.js';
import { badRequest } from './errors.js';

/** Largest magnitude of a time value, in ms (the range of a JavaScript `Date`): the stores' bound. */
export { MAX_TIME_MS };

/** The reference's `default(DateTime)`, 0001-01-01T00:00:00Z: "no timestamp given". */
export const UNSET_TIME_MS = -62_135_596_800_000;

const NUMERIC = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?([Zz]|[+-]\d{2}(?::?\d{2})?)?)?$/;

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const leap = (y: number): boolean => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

/** Offset of `Z`, `±HH`, `±HHMM` or `±HH:MM` in minutes east of UTC, or NaN when out of range. */
function offsetMinutes(zone: string | undefined): number {
  if (zone === undefined || zone === 'Z' || zone === 'z') return 0;
  const digits = zone.slice(1).replace(':', '');
  const h = Number(digits.slice(0, 2));
  const m = digits.length > 2 ? Number(digits.slice(2)) : 0;
  if (h > 23 || m > 59) return Number.NaN;
  return (zone[0] === '-' ? -1 : 1) * (h * 60 + m);
}

/** Epoch ms of an ISO 8601 string under the rule above, or NaN. */
export function isoToMs(s: string): number {
  const m = ISO.exec(s);
  if (m === null) return Number.NaN;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1 || day > (month === 2 && leap(year) ? 29 : DAYS[month - 1])) return Number.NaN;
  const hour = m[4] === undefined ? 0 : Number(m[4]);
  const minute = m[5] === undefined ? 0 : Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  if (hour > 23 || minute > 59 || second > 59) return Number.NaN;
  const ms = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  const offset = offsetMinutes(m[8]);
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0-99 to 1900-1999.
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, ms);
  return d.getTime() - offset * 60_000;
}

const invalid = (name: string, raw: unknown): Error => {
  const shown = typeof raw === 'string' ? `"${raw.slice(0, 64)}"` : String(raw);
  return badRequest(`${name} must be epoch ms within ±8.64e15 or an ISO 8601 date (a real calendar date, UTC when no offset), got ${shown}`, { parameter: name });
};

/**
 * Parses a time value under the rule above: epoch ms or ISO 8601. `undefined`
 * stays undefined; anything invalid, out of range or of another type is a 400
 * naming `name`.
 */
export function parseTime(name: string, raw: unknown): number | undefined {
  if (raw === undefined) return undefined;
  let ms: number;
  if (typeof raw === 'number') ms = raw;
  else if (typeof raw === 'string') ms = NUMERIC.test(raw) ? Number(raw) : isoToMs(raw);
  else throw invalid(name, raw);
  if (!Number.isFinite(ms) || Math.abs(ms) > MAX_TIME_MS) throw invalid(name, raw);
  return ms;
}

/** A time in a query string: an empty value (`?from=`) is absent; otherwise {@link parseTime}. */
export function queryTime(name: string, raw: string | undefined): number | undefined {
  return raw === '' ? undefined : parseTime(name, raw);
}

/**
 * The timestamp of an event posted to a write route: absent, null or the
 * reference's `default(DateTime)` give `now`; otherwise {@link parseTime}.
 */
export function eventTime(name: string, raw: unknown, now: number): number {
  if (raw === null || raw === undefined) return now;
  const ms = parseTime(name, raw) as number;
  return ms === UNSET_TIME_MS ? now : ms;
}

/** `yyyy-MM-ddTHH:mm:ss.fffZ`, or null (the reference's echo of window bounds). Only for values checked by {@link parseTime}. */
export function isoOrNull(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}
