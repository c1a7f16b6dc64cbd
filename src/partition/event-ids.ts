import { randomInt } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const CODES = new Uint8Array(32).map((_, i) => CROCKFORD.charCodeAt(i));
export const ID_BYTES = 26;

/**
 * Event ids assigned by a partition worker: ULIDs (26 Crockford base32
 * characters, 48-bit millisecond time then 80 bits) written straight into
 * the arena. The 80 bits are a random 30-bit prefix drawn when the worker
 * starts and the event's 50-bit position, so ids are unique, sortable by
 * time, and increase with position within a partition, without a random
 * draw or a string per event. (The ulid package's monotonicFactory makes the
 * ids of `append()` calls on the producer side, where the caller needs the
 * id back at once; here it would cost more than the rest of the commit.)
 * A restarted worker draws a new prefix, so the re-run of a drain that died
 * before its commit point gives the events that drain wrote other ids than it
 * did; no one saw those (partition-handle.ts, deliver). A durable partition
 * logs the prefix and time with each drain and replays them.
 */
export class EventIds {
  private readonly prefixBytes = new Uint8Array(6);
  private readonly time = new Uint8Array(10);
  private timeMs = -1;
  /** The random 30-bit prefix (a durable log records it with each drain, so a replay makes the same ids). */
  prefix = 0;

  constructor() {
    this.setPrefix(randomInt(0, 2 ** 30));
  }

  /** Uses `r` (30 bits) as the prefix from now on. */
  setPrefix(r: number): void {
    this.prefix = r;
    for (let i = 5; i >= 0; i--) {
      this.prefixBytes[i] = CODES[r & 31];
      r = Math.floor(r / 32);
    }
  }

  /** Writes the id of `position` committed at `ms` into `dst` at `at`. */
  write(dst: Uint8Array, at: number, ms: number, position: number): void {
    if (ms !== this.timeMs) {
      let t = ms;
      for (let i = 9; i >= 0; i--) {
        this.time[i] = CODES[t % 32];
        t = Math.floor(t / 32);
      }
      this.timeMs = ms;
    }
    for (let i = 0; i < 10; i++) dst[at + i] = this.time[i];
    for (let i = 0; i < 6; i++) dst[at + 10 + i] = this.prefixBytes[i];
    // 50 bits of position as two 25-bit halves, so the digits come from integer shifts, not float division.
    const hi = Math.floor(position / 33_554_432) | 0;
    let lo = (position - hi * 33_554_432) | 0;
    for (let i = 25; i >= 21; i--) {
      dst[at + i] = CODES[lo & 31];
      lo >>>= 5;
    }
    let h = hi;
    for (let i = 20; i >= 16; i--) {
      dst[at + i] = CODES[h & 31];
      h >>>= 5;
    }
  }
}
