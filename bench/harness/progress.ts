/**
 * Progress of a run, on stderr: a redrawn bar on a terminal, one plain line
 * per step otherwise (CI logs, pipes), nothing with `--quiet`.
 */
export interface ProgressSink {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** `[#####.....]` for done/total in `width` cells. */
export function bar(done: number, total: number, width: number): string {
  const frac = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const full = Math.round(frac * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}]`;
}

export class Progress {
  #done = 0;
  #total = 0;
  #drawn = false;
  readonly #sink: ProgressSink;
  readonly #quiet: boolean;
  readonly #started = Date.now();

  constructor(sink: ProgressSink, quiet = false) {
    this.#sink = sink;
    this.#quiet = quiet;
  }

  /** Adds steps to the expected total (each scenario adds its own when it knows its cases). */
  expect(steps: number): void {
    this.#total += steps;
  }

  /** One step is about to run. */
  step(label: string): void {
    this.#done++;
    if (this.#quiet) return;
    const secs = ((Date.now() - this.#started) / 1000).toFixed(0);
    if (this.#sink.isTTY) {
      const width = Math.max(20, (this.#sink.columns ?? 80) - 1);
      const head = `${bar(this.#done, this.#total, 20)} ${this.#done}/${this.#total} ${secs}s `;
      const line = (head + label).slice(0, width);
      this.#sink.write(`\r\x1b[2K${line}`);
      this.#drawn = true;
    } else {
      this.#sink.write(`[bench ${this.#done}/${this.#total} ${secs}s] ${label}\n`);
    }
  }

  /** A message line that must stay on screen (clears the bar first). */
  line(msg: string): void {
    if (this.#quiet) return;
    this.clear();
    this.#sink.write(`${msg}\n`);
  }

  clear(): void {
    if (this.#drawn) {
      this.#sink.write('\r\x1b[2K');
      this.#drawn = false;
    }
  }
}
