/**
 * Request latency p50 and p99 over a sliding window, for `GET /stats`.
 *
 * The figures come from the daemon's own histogram (the one `GET /metrics`
 * exposes as `ringstore_http_request_duration_seconds`): a snapshot of its
 * cumulative bucket counts is kept every tick, and a window's counts are the
 * current counts minus those of the snapshot at the window's start. Quantiles
 * are estimated from the buckets the way Prometheus' `histogram_quantile`
 * does (linear within the bucket; the largest finite bound when the rank
 * falls in `+Inf`), so the dashboard and a Prometheus query agree.
 */
import type { RequestLatency } from '../request-latency.js';

/** Latency of one route (all status codes) or of every route, within the window. */
export interface LatencyFigure {
  /** Requests finished within the window. */
  count: number;
  /** Estimated median, ms; null when `count` is 0. */
  p50Ms: number | null;
  /** Estimated 99th percentile, ms; null when `count` is 0. */
  p99Ms: number | null;
}

/** {@link LatencyFigure} of one route pattern. */
export interface RouteLatency extends LatencyFigure {
  method: string;
  route: string;
}

/** What `GET /stats` answers under `latency`. */
export interface LatencySummary {
  /** Seconds the window covers (shorter than asked for right after start). */
  windowSeconds: number;
  all: LatencyFigure;
  /** Routes with requests in the window, most requests first (ties by route, then method). */
  routes: RouteLatency[];
}

/** Cumulative counts per `"<method> <route>"`, one slot per bucket bound and `+Inf` last. */
interface Snapshot {
  t: number;
  counts: Map<string, number[]>;
}

/**
 * The value below which a fraction `q` of the observations fall, estimated from
 * cumulative bucket counts (`cumulative[i]` observations ≤ `bounds[i]`, the last
 * slot being `+Inf`). Null when there is no observation.
 */
export function bucketQuantile(q: number, bounds: readonly number[], cumulative: readonly number[]): number | null {
  const total = cumulative[cumulative.length - 1] ?? 0;
  if (!(total > 0)) return null;
  const rank = q * total;
  let i = 0;
  while (i < cumulative.length - 1 && cumulative[i] < rank) i++;
  if (i >= bounds.length) return bounds.length > 0 ? bounds[bounds.length - 1] : null;
  const lower = i === 0 ? 0 : bounds[i - 1];
  const below = i === 0 ? 0 : cumulative[i - 1];
  const inBucket = cumulative[i] - below;
  if (inBucket <= 0) return bounds[i];
  return lower + (bounds[i] - lower) * ((rank - below) / inBucket);
}

/** Sliding-window latency figures over a {@link RequestLatency} histogram. */
export class LatencyWindow {
  readonly #latency: RequestLatency;
  readonly #windowMs: number;
  #bounds: number[] = [];
  /** Oldest first; the first is the newest snapshot at or before the window's start. */
  readonly #snapshots: Snapshot[] = [];

  constructor(latency: RequestLatency, windowMs: number) {
    this.#latency = latency;
    this.#windowMs = windowMs;
  }

  /** Keeps a snapshot of the histogram taken at `now` and drops the ones the window no longer needs. */
  tick(now: number): void {
    this.#snapshots.push({ t: now, counts: this.#read() });
    const start = now - this.#windowMs;
    while (this.#snapshots.length > 1 && this.#snapshots[1].t <= start) this.#snapshots.shift();
  }

  /** Figures between the window's start and `now` (the histogram as it is now). */
  summary(now: number): LatencySummary {
    const current = this.#read();
    const base = this.#snapshots[0];
    const routes: RouteLatency[] = [];
    const all = new Array<number>(this.#bounds.length + 1).fill(0);
    for (const [key, counts] of current) {
      const before = base?.counts.get(key);
      const window = counts.map((c, i) => c - (before?.[i] ?? 0));
      const count = window[window.length - 1];
      if (count <= 0) continue;
      window.forEach((c, i) => (all[i] += c));
      const space = key.indexOf(' ');
      routes.push({ method: key.slice(0, space), route: key.slice(space + 1), ...this.#figure(window) });
    }
    routes.sort((a, b) => b.count - a.count || (a.route < b.route ? -1 : a.route > b.route ? 1 : a.method < b.method ? -1 : a.method > b.method ? 1 : 0));
    const since = base === undefined ? now : Math.max(base.t, now - this.#windowMs);
    return { windowSeconds: Math.round((now - since) / 100) / 10, all: this.#figure(all), routes };
  }

  #figure(cumulative: number[]): LatencyFigure {
    const ms = (s: number | null): number | null => (s === null ? null : Math.round(s * 1e6) / 1e3);
    return {
      count: cumulative[cumulative.length - 1] ?? 0,
      p50Ms: ms(bucketQuantile(0.5, this.#bounds, cumulative)),
      p99Ms: ms(bucketQuantile(0.99, this.#bounds, cumulative)),
    };
  }

  /** The histogram's cumulative counts per method and route, status codes merged. */
  #read(): Map<string, number[]> {
    const bucket = `${this.#latency.name}_bucket`;
    const bySeries = new Map<string, Map<number, number>>();
    const bounds = new Set<number>();
    for (const v of this.#latency.get().values) {
      if (v.metricName !== bucket) continue;
      const le = v.labels.le === '+Inf' ? Infinity : Number(v.labels.le);
      if (Number.isFinite(le)) bounds.add(le);
      const key = `${v.labels.method} ${v.labels.route}`;
      let byLe = bySeries.get(key);
      if (byLe === undefined) bySeries.set(key, (byLe = new Map()));
      byLe.set(le, (byLe.get(le) ?? 0) + v.value);
    }
    if (bounds.size > 0) this.#bounds = [...bounds].sort((a, b) => a - b);
    const les = [...this.#bounds, Infinity];
    const out = new Map<string, number[]>();
    for (const [key, byLe] of bySeries) out.set(key, les.map((le) => byLe.get(le) ?? 0));
    return out;
  }
}
