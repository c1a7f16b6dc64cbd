// A stand-in JetStream log for the replication tests (applier, replica): `push` delivers messages to the
// consumer opened on it, from the start sequence asked for; `taken(seq)` resolves once the consumer asked
// for the message after `seq` (it took `seq` in); `stall()` makes the consumers open now deliver nothing
// more without ending (as an ordered consumer did after its stream leader was killed); `hangGets(n)` makes
// the next n consumer creations never answer (placed on a killed node); `deleted` counts consumers deleted.
export interface FakeMsg { seq: number; subject: string; data: Uint8Array; headers: { get(k: string): string } }

export class FakeLog {
  readonly msgs: FakeMsg[] = [];
  /** Consumers waiting for a message (or their stop). */
  readonly #wakes = new Set<() => void>();
  #asked = 0;
  #askWaiters: { seq: number; resolve: () => void }[] = [];
  /** Consumers opened so far; those numbered below `#stalledBelow` deliver nothing more. */
  opened = 0;
  #stalledBelow = 0;
  #hang = 0;
  deleted = 0;
  hangGets(n: number): void {
    this.#hang = n;
  }
  push(...m: FakeMsg[]): void {
    this.msgs.push(...m);
    this.#wakeAll();
  }
  #wakeAll(): void {
    const all = [...this.#wakes];
    this.#wakes.clear();
    for (const w of all) w();
  }
  stall(): void {
    this.#stalledBelow = this.opened;
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
      get: async (_stream: string, o: { opt_start_seq: number }) => {
        if (this.#hang > 0) {
          this.#hang--;
          await new Promise(() => undefined);
        }
        return this.#consumer(o.opt_start_seq);
      },
    };
  }

  #consumer(start: number): unknown {
    return {
      delete: async () => {
        this.deleted++;
        return true;
      },
      consume: async () => {
        const n = this.opened++;
        let stopped = false;
        let next = start;
        const self = this;
        return {
          stop: () => {
            stopped = true;
            self.#wakeAll();
          },
          // No notifications (heartbeats, resets) from the stand-in.
          status: () => ({ [Symbol.asyncIterator]: async function* () {} }),
          async *[Symbol.asyncIterator]() {
            for (;;) {
              self.#asked = Math.max(self.#asked, next);
              for (const w of self.#askWaiters.filter((x) => x.seq < next)) w.resolve();
              self.#askWaiters = self.#askWaiters.filter((x) => x.seq >= next);
              while (!stopped && (n < self.#stalledBelow || !self.msgs.some((m) => m.seq >= next))) await new Promise<void>((r) => self.#wakes.add(r));
              if (stopped) return;
              const m = self.msgs.find((x) => x.seq >= next)!;
              next = m.seq + 1;
              yield m;
            }
          },
        };
      },
    };
  }
}
