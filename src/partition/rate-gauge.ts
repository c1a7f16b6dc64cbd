import { Gauge, type PartitionMemory } from '../ring/layout.js';

const RATE_SECONDS = 10;

/** The partition's rate gauges: appends per second over the last RATE_SECONDS seconds, and the last append time. */
export class RateGauge {
  private readonly mem: PartitionMemory;
  private readonly rate = new Float64Array(RATE_SECONDS);
  private rateSecond = 0;
  private lastAppend = 0;

  constructor(mem: PartitionMemory) {
    this.mem = mem;
  }

  /** Publishes the rate gauges, given the appends counted so far. */
  publish(appended: number): void {
    const m = this.mem;
    const now = Date.now();
    const sec = Math.floor(now / 1000);
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
