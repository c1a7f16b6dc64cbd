// A stand-in JetStream log for the replication tests (applier, replica): `push` delivers messages to the
// consumer opened on it, from the start sequence asked for; `taken(seq)` resolves once the consumer asked
// for the message after `seq` (it took `seq` in).
export interface FakeMsg { seq: number; subject: string; data: Uint8Array; headers: { get(k: string): string } }

export class FakeLog {
  readonly msgs: FakeMsg[] = [];
  #wake: (() => void) | undefined;
  #asked = 0;
  #askWaiters: { seq: number; resolve: () => void }[] = [];
  push(...m: FakeMsg[]): void {
    this.msgs.push(...m);
    this.#wake?.();
  }
  taken(seq: number): Promise<void> {
    if (this.#asked > seq) return Promise.resolve();
    return new Promise((resolve) => this.#askWaiters.push({ seq, resolve }));
  }
  /** A `js` (JetStream client) with only the consumers. */
  js(): unknown {
    return { consumers: this.consumers() };
  }
  /** `js.consumers`: `get(stream, { opt_start_seq })` then `consume()`. */
  consumers(): unknown {
    return {
      get: async (_stream: string, o: { opt_start_seq: number }) => ({
        consume: async () => {
          let stopped = false;
          let next = o.opt_start_seq;
          const self = this;
          return {
            stop: () => {
              stopped = true;
              self.#wake?.();
            },
            async *[Symbol.asyncIterator]() {
              for (;;) {
                self.#asked = Math.max(self.#asked, next);
                for (const w of self.#askWaiters.filter((x) => x.seq < next)) w.resolve();
                self.#askWaiters = self.#askWaiters.filter((x) => x.seq >= next);
                while (!stopped && !self.msgs.some((m) => m.seq >= next)) await new Promise<void>((r) => (self.#wake = r));
                if (stopped) return;
                const m = self.msgs.find((x) => x.seq >= next)!;
                next = m.seq + 1;
                yield m;
              }
            },
          };
        },
      }),
    };
  }
}
