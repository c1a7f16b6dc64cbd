/**
 * The process's event ids and event times as text, shared by the versioned
 * streams, the ring store and the daemon: every id generated from here comes
 * from one monotonic generator, so ids made by any of them increase together.
 * `src/ids/` imports nothing above `src/errors.ts`: any layer may import it.
 */
import { MonotonicUlid } from './ulid.js';

/** The process's id generator (use {@link MonotonicUlid.nextParts} to keep ids as numbers). */
export const ulids = new MonotonicUlid();

/**
 * A new ULID for time `now` (epoch ms), monotonic within the process.
 * @throws RingstoreError `RS_ERR_INVALID_ARGUMENT` when `now` cannot be a ULID time.
 */
export function nextEventId(now: number): string {
  return ulids.next(now);
}

let lastIsoMs = NaN;
let lastIso = '';

/** `new Date(ms).toISOString()`, cached for the last millisecond asked (appends in one ms share it). */
export function isoTime(ms: number): string {
  if (ms !== lastIsoMs) {
    lastIso = new Date(ms).toISOString();
    lastIsoMs = ms;
  }
  return lastIso;
}
