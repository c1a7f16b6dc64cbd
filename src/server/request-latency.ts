/**
 * The request latency histogram, kept out of prom-client's observe path.
 *
 * `Histogram.observe(labels, v)` validates and hashes its label object on every
 * call; profiled on single-event POSTs that cost more than the route handler.
 * Here a request adds to plain counters found by one string key, and the
 * Prometheus series (cumulative `_bucket`s, `_sum`, `_count`) are built only
 * when `/metrics` is scraped. The object is registered in the daemon's
 * prom-client registry like any metric (`get()`, `reset()`).
 */
import type { Metric } from 'prom-client';

type LabelName = 'method' | 'route' | 'status_code';
type Labels = Record<LabelName, string>;

/** One exposition line's worth, as prom-client's registry reads it from `get()`. */
interface SeriesValue {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

interface Series {
  readonly labels: Labels;
  /** Non-cumulative counts per bucket; the last slot is +Inf. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/** A histogram of request durations in seconds, by method, route pattern and status code. */
export class RequestLatency {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #bounds: readonly number[];
  readonly #series = new Map<string, Series>();

  constructor(name: string, help: string, buckets: readonly number[]) {
    if (buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= buckets[i - 1]))) throw new RangeError('buckets must be finite and increasing');
    this.name = name;
    this.help = help;
    this.#bounds = [...buckets];
  }

  /** Records one request. */
  observe(method: string, route: string, status: number, seconds: number): void {
    const key = `${status} ${method} ${route}`;
    let s = this.#series.get(key);
    if (s === undefined) {
      s = { labels: { method, route, status_code: String(status) }, counts: new Float64Array(this.#bounds.length + 1), sum: 0, count: 0 };
      this.#series.set(key, s);
    }
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]) i++;
    s.counts[i]++;
    s.sum += seconds;
    s.count++;
  }

  /** The Prometheus series, as prom-client's registry expects from a metric. */
  get(): { name: string; help: string; type: string; aggregator: string; values: SeriesValue[] } {
    const values: SeriesValue[] = [];
    for (const s of this.#series.values()) {
      let cumulative = 0;
      for (let i = 0; i <= this.#bounds.length; i++) {
        cumulative += s.counts[i];
        const le = i < this.#bounds.length ? this.#bounds[i] : '+Inf';
        values.push({ metricName: `${this.name}_bucket`, labels: { le, ...s.labels }, value: cumulative });
      }
      values.push({ metricName: `${this.name}_sum`, labels: { ...s.labels }, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels: { ...s.labels }, value: s.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** Forgets every observation (prom-client's `registry.resetMetrics()`). */
  reset(): void {
    this.#series.clear();
  }

  /** This histogram as the registry's metric type (it duck-types `get` and `reset`). */
  asMetric(): Metric {
    return this as unknown as Metric;
  }
}
