/**
 * A two-label Prometheus counter for hot paths: increments are summed in plain
 * numbers and handed to prom-client when `/metrics` is scraped (the counter's
 * `collect`). `Counter.inc(labels, n)` validates and hashes its label object on
 * every call, which showed in the profile of single-event POSTs.
 */
import { Counter, type Registry } from 'prom-client';

export class DeferredCounter<L extends string> {
  readonly #counter: Counter<L>;
  readonly #names: readonly [L, L];
  readonly #pending = new Map<string, { labels: Record<L, string>; n: number }>();

  constructor(registry: Registry, name: string, help: string, labelNames: readonly [L, L]) {
    this.#names = labelNames;
    this.#counter = new Counter({ name, help, labelNames, registers: [registry], collect: () => this.flush() });
    // registry.resetMetrics() resets the counter: drop what was not handed over yet with it.
    const reset = this.#counter.reset.bind(this.#counter);
    this.#counter.reset = () => {
      this.#pending.clear();
      reset();
    };
  }

  /** Adds `n` to the series whose label values are `a` and `b` (in `labelNames` order). */
  add(a: string, b: string, n: number): void {
    const key = `${a}\u0000${b}`;
    const p = this.#pending.get(key);
    if (p !== undefined) p.n += n;
    else this.#pending.set(key, { labels: { [this.#names[0]]: a, [this.#names[1]]: b } as Record<L, string>, n });
  }

  /** Moves the pending sums into the prom-client counter. */
  flush(): void {
    for (const p of this.#pending.values()) {
      if (p.n > 0) this.#counter.inc(p.labels as never, p.n);
      p.n = 0;
    }
  }
}
