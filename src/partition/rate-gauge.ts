import { Gauge, type PartitionMemory } from '../ring/layout.js';

const RATE_SECONDS = 10;

/**
 * The partition's rate gauges: appends per second over the last RATE_SECONDS seconds, and the last append time.
 *
 * The rate counts the appends this worker committed, not the partition's history: a worker starts with the
 * committed count of the state it recovered, restored or loaded as its baseline (the first {@link publish},
 * which a recovery's commit point makes, or {@link rebase} after a durable log's replay). Until 2026-12-06 the
 * baseline was 0, so a worker restarted after a week (or a replica seeded from a checkpoint, or a durable store
 * reopened) reported its whole history, `appended / 10` events a second, for ten seconds, and stamped the
 * last append time with a moment nothing was appended (test/long-uptime/counters.test.ts).
 */
export class RateGauge {
  private readonly mem: PartitionMemory;
  private readonly rate = new Float64Array(RATE_SECONDS);
  private rateSecond = 0;
  /** Appends counted so far; NaN until the first publish sets the baseline. */
  private lastAppend = Number.NaN;

  constructor(mem: PartitionMemory) {
    this.mem = mem;
  }

  /** Forgets what was counted: appends from `appended` on count (after a replay, which appended nothing now). */
  rebase(appended: number): void {
    this.rate.fill(0);
    this.lastAppend = appended;
    this.publish(appended);
  }

  /** Publishes the rate gauges, given the appends counted so far. */
  publish(appended: number): void {
    const m = this.mem;
    const now = Date.now();
    const sec = Math.floor(now / 1000);
    if (Number.isNaN(this.lastAppend)) this.lastAppend = appended;
    const delta = appended - this.lastAppend;
    if (sec !== this.rateSecond) {
      const gap = Math.min(RATE_SECONDS, sec - this.rateSecond);
      for (let i = 1; i <= gap; i++) this.rate[(this.rateSecond + i) % RATE_SECONDS] = 0;
      this.rateSecond = sec;
    }
    if (delta > 0) {
      this.rate[sec % RATE_SECONDS] += delta;
      m.gauges[Gauge.LAST_APPEND_MS * 8] = now;
      this.lastAppend = appended;
    }
    let total = 0;
    for (let i = 0; i < RATE_SECONDS; i++) total += this.rate[i];
    m.gauges[Gauge.RATE * 8] = total / RATE_SECONDS;
  }
}
