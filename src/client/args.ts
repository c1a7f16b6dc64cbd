/**
 * Checks of the client's call arguments, made before anything is sent: what a URL, a header or a JSON
 * body cannot carry is refused with `RS_ERR_INVALID_ARGUMENT` rather than failing inside `fetch` (as a
 * "network error", retried), inside `encodeURIComponent` (a URIError) or being sent changed.
 */
import { invalidArgument } from '../errors.js';
import type { TimeInput } from './types.js';

/** `encodeURIComponent(text)`, or `RS_ERR_INVALID_ARGUMENT` naming `what` for text with a lone surrogate. */
export function pathSegment(text: string, what: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    throw invalidArgument(`${what} is not well-formed UTF-16 (a lone surrogate), which a URL cannot carry`);
  }
}

/** A version as a path segment: an integer (a string such as `"../x"` would be resolved away by the URL). */
export function versionSegment(version: number, what = 'version'): string {
  if (!Number.isSafeInteger(version)) throw invalidArgument(`${what} must be an integer, got ${String(version)}`);
  return String(version);
}

/** A time as a query parameter: an ISO string for a Date (an invalid Date is refused), the text otherwise. */
export function timeParam(t: TimeInput | undefined, what: string): string | undefined {
  if (t === undefined) return undefined;
  if (!(t instanceof Date)) return String(t);
  if (Number.isNaN(t.getTime())) throw invalidArgument(`${what} is an invalid Date`);
  return t.toISOString();
}

// A header value keeps no leading or trailing space and holds no control character; fetch sends Latin-1 only.
const HEADER_VALUE = /^[\x21-\x7e\x80-\xff](?:[\x20-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?$/;

/** True when `value` goes into a header unchanged. */
export const isHeaderValue = (value: unknown): value is string => typeof value === 'string' && HEADER_VALUE.test(value);

/** An `Idempotency-Key`: 1 to 200 characters a header carries unchanged (as the daemon bounds it). */
export function checkIdempotencyKey(key: unknown): asserts key is string {
  if (!isHeaderValue(key) || key.length > 200) {
    throw invalidArgument('idempotencyKey must be 1 to 200 characters a header can carry (Latin-1, no control characters, no space at either end)');
  }
}

/** Versioned data must be JSON as the library takes it: JSON.stringify would send NaN and Infinity as null. */
function finiteOnly(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) throw invalidArgument(`${value} is not a finite number: versioned data must be JSON`);
  return value;
}

/**
 * `JSON.stringify(value)`, or `RS_ERR_INVALID_ARGUMENT` for what JSON cannot hold (a BigInt, a cycle);
 * `strict` (versioned events and snapshots) also refuses non-finite numbers, as `ringstore/streams` does.
 */
export function jsonText(value: unknown, strict = false): string {
  try {
    return JSON.stringify(value, strict ? finiteOnly : undefined);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'RS_ERR_INVALID_ARGUMENT') throw err;
    throw invalidArgument(`the body is not JSON: ${(err as Error).message.split('\n')[0]}`);
  }
}
