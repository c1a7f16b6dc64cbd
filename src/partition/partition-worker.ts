import type { MessagePort } from 'node:worker_threads';
import { ControlMemory, Ctl, PartitionMemory, type PartitionGeometry } from '../ring/layout.js';
import { Committer, type CommitterConfig } from './committer.js';
import { PartitionQueries, type WireQuery } from './partition-queries.js';
import { Comlink, guarded, nodeEndpoint } from './rpc.js';

/** What the coordinator hands a partition worker at start (structured-cloneable). */
export interface PartitionWorkerData {
  sab: SharedArrayBuffer;
  ctlSab: SharedArrayBuffer;
  geometry: PartitionGeometry;
  config: CommitterConfig;
  /** The comlink port (the parent port carries eviction and capacity events). */
  rpc: MessagePort;
}

/** Events a partition worker posts to the coordinator on its parent port. */
export type PartitionEvent =
  | { type: 'evicted'; events: import('./committer.js').EvictedEvent[] }
  | { type: 'full' }
  | { type: 'ready' };

const BATCH = 4096;
const IDLE_WAIT_MS = 100;
const SLEEPING = PartitionMemory.ctl(Ctl.SLEEPING);
const DOORBELL = PartitionMemory.ctl(Ctl.DOORBELL);
const STOP = PartitionMemory.ctl(Ctl.STOP);

/** The partition worker: commit loop plus the query API served over comlink. */
export class PartitionWorker {
  private readonly mem: PartitionMemory;
  private readonly committer: Committer;
  private readonly queries: PartitionQueries;
  private readonly parent: MessagePort;
  private stopped = false;
  private stopResolve: (() => void) | undefined;

  constructor(data: PartitionWorkerData, parent: MessagePort) {
    this.parent = parent;
    this.mem = new PartitionMemory(data.sab, data.geometry);
    const ctl = new ControlMemory(data.ctlSab, data.geometry.maxProducers);
    this.committer = new Committer(this.mem, ctl, data.config);
    this.queries = new PartitionQueries(this.committer);
    Atomics.add(this.mem.i32, PartitionMemory.ctl(Ctl.WORKER_EPOCH), 1);
    this.committer.recover();
    const q = this.queries;
    const c = this.committer;
    const api = {
      aggregate: guarded((v: number, query: WireQuery) => q.aggregate(v, query)),
      groupBy: guarded((v: number, query: WireQuery) => {
        const g = q.groupBy(v, query);
        return Comlink.transfer(g, [g.count.buffer, g.sum.buffer, g.min.buffer, g.max.buffer] as ArrayBuffer[]);
      }),
      snapshot: guarded((query: WireQuery) => {
        const packed = q.snapshot(query);
        return Comlink.transfer(packed, [packed.numbers.buffer, packed.lengths.buffer, packed.bytes.buffer] as ArrayBuffer[]);
      }),
      window: guarded((from: number, to: number) => q.window(from, to)),
      purge: guarded((cutoff: number) => {
        c.drain(Number.MAX_SAFE_INTEGER);
        return c.purge(cutoff);
      }),
      clear: guarded(() => {
        c.drain(Number.MAX_SAFE_INTEGER);
        return c.clear();
      }),
      /** Commits everything published so far; resolves when done. */
      flush: guarded(() => {
        let n = 0;
        while (c.hasWork()) n += c.drain(BATCH);
        this.flushEvents();
        return n;
      }),
      stop: () => this.stop(),
      /** Test and chaos hook: ends this thread abruptly, as a crash would. */
      crash: () => process.exit(1),
    };
    Comlink.expose(api, nodeEndpoint(data.rpc as never));
    parent.postMessage({ type: 'ready' } satisfies PartitionEvent);
  }

  private stop(): Promise<void> {
    Atomics.store(this.mem.i32, STOP, 1);
    Atomics.add(this.mem.i32, DOORBELL, 1);
    Atomics.notify(this.mem.i32, DOORBELL);
    return new Promise((resolve) => {
      if (this.stopped) resolve();
      else this.stopResolve = resolve;
    });
  }

  /** Sends evictions and capacity transitions gathered during a batch. */
  private flushEvents(): void {
    const c = this.committer;
    if (c.evicted.length > 0) {
      this.parent.postMessage({ type: 'evicted', events: c.evicted } satisfies PartitionEvent);
      c.evicted = [];
    }
    if (c.becameFull) {
      c.becameFull = false;
      this.parent.postMessage({ type: 'full' } satisfies PartitionEvent);
    }
  }

  /** The commit loop: drain, yield to serve queries, sleep on the doorbell when idle. */
  async run(): Promise<void> {
    const i32 = this.mem.i32;
    const c = this.committer;
    // The doorbell wait has no timeout: on Node 20 a timed Atomics.waitAsync posts a
    // delayed platform task (a libuv timer) per call, which measured ~10 µs per wake-up
    // on each side. This interval stands in for the timeout: every IDLE_WAIT_MS a
    // waiting worker is rung, re-publishes its gauges and picks up anything a producer
    // that died before ringing left behind. It keys on the loop's own `waiting`, not on
    // SLEEPING: a producer that died after clearing SLEEPING but before ringing must not
    // leave the worker asleep for good. Unref'd: the RPC port keeps the thread alive.
    let waiting = false;
    const tick = setInterval(() => {
      if (waiting) {
        Atomics.add(i32, DOORBELL, 1);
        Atomics.notify(i32, DOORBELL);
      }
    }, IDLE_WAIT_MS);
    tick.unref();
    for (;;) {
      const n = c.drain(BATCH);
      this.flushEvents();
      if (n > 0 && c.hasWork()) {
        // More is queued: let RPC calls in between batches. (With nothing queued, the
        // sleep below yields anyway: one event-loop turn per wake-up, not two.)
        await new Promise((r) => setImmediate(r));
        continue;
      }
      if (Atomics.load(i32, STOP) === 1) break;
      const bell = Atomics.load(i32, DOORBELL);
      Atomics.store(i32, SLEEPING, 1);
      if (c.hasWork() || Atomics.load(i32, STOP) === 1) {
        Atomics.store(i32, SLEEPING, 0);
        continue;
      }
      const r = Atomics.waitAsync(i32, DOORBELL, bell);
      if (r.async) {
        waiting = true;
        await r.value;
        waiting = false;
      } else {
        // Rung between the load of the bell and the wait: work is queued. Yield first, so a
        // steady stream of such races cannot keep queries waiting on the RPC port.
        await new Promise((resolve) => setImmediate(resolve));
      }
      Atomics.store(i32, SLEEPING, 0);
      c.publish();
    }
    clearInterval(tick);
    c.drain(Number.MAX_SAFE_INTEGER);
    this.flushEvents();
    this.stopped = true;
    this.stopResolve?.();
  }
}
