/**
 * Ingest rate over time, for `GET /stats`: every tick, the events each ring
 * store committed since the previous tick, as events per second. The count is
 * the store's `committed` counter (live + discarded + purged), which only
 * grows, so clears and purges do not show as negative ingest.
 */

/** What `GET /stats` answers under `ingest`: columns of equal length, oldest first. */
export interface IngestSeries {
  /** Nominal sampling interval, ms. */
  intervalMs: number;
  /** End of each interval, epoch ms. */
  t: number[];
  /** Events per second committed by the `/streams` ring store in each interval. */
  streams: number[];
  /** Events per second committed by the `/metrics` ring store in each interval. */
  metrics: number[];
}

/** Reads the committed counters of the two ring stores. */
export type CommittedCounters = () => { streams: number; metrics: number };

/** A bounded history of per-interval ingest rates. */
export class IngestHistory {
  readonly #read: CommittedCounters;
  readonly #intervalMs: number;
  readonly #points: number;
  readonly #t: number[] = [];
  readonly #streams: number[] = [];
  readonly #metrics: number[] = [];
  #last: { t: number; streams: number; metrics: number } | undefined;

  /** Keeps the last `points` intervals of `intervalMs` (nominal: the caller ticks). */
  constructor(read: CommittedCounters, intervalMs: number, points: number) {
    this.#read = read;
    this.#intervalMs = intervalMs;
    this.#points = points;
  }

  /** Records the interval that ends at `now` (the first call only sets the baseline). */
  tick(now: number): void {
    const c = this.#read();
    const last = this.#last;
    this.#last = { t: now, ...c };
    if (last === undefined || now <= last.t) return;
    const perSecond = (n: number): number => Math.round((Math.max(0, n) * 1000 * 10) / (now - last.t)) / 10;
    this.#t.push(now);
    this.#streams.push(perSecond(c.streams - last.streams));
    this.#metrics.push(perSecond(c.metrics - last.metrics));
    if (this.#t.length > this.#points) {
      this.#t.shift();
      this.#streams.shift();
      this.#metrics.shift();
    }
  }

  /** A copy of the history. */
  series(): IngestSeries {
    return { intervalMs: this.#intervalMs, t: [...this.#t], streams: [...this.#streams], metrics: [...this.#metrics] };
  }
}
