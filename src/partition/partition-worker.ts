import type { MessagePort } from 'node:worker_threads';
import { threadId } from 'node:worker_threads';
import { RingstoreError, errorToWire, type WireError } from '../errors.js';
import { AckStatus, ringBell } from '../ring/ack-ring.js';
import { ControlMemory, Ctl, FaultFired, PartitionMemory, PartitionState, type PartitionGeometry } from '../ring/layout.js';
import { Committer, type CommitterConfig, type FullReason } from './committer.js';
import { sendEvictions } from './committer-evictions.js';
import { refuse } from './committer-log.js';
import { dieOfFault } from './fault-exit.js';
import { clear, purge } from './committer-purge.js';
import { recoverCommitter } from './committer-recovery.js';
import { syncReaders } from './commit-point.js';
import { imageParts, loadImage, PartitionLog, type PartitionDurability, type RestoreSummary } from './partition-log.js';
import { PartitionQueries, type WireQuery } from './partition-queries.js';
import { Comlink, guarded, nodeEndpoint } from './rpc.js';
import { nameThread } from './thread-name.js';
import { threadMemory } from './thread-memory.js';

/** What the coordinator hands a partition worker at start (structured-cloneable). */
export interface PartitionWorkerData {
  sab: SharedArrayBuffer;
  ctlSab: SharedArrayBuffer;
  geometry: PartitionGeometry;
  config: CommitterConfig;
  /** The comlink port (the parent port carries eviction and capacity events). */
  rpc: MessagePort;
  /** OS thread name (`top -H`, profiles), at most 15 characters. */
  threadName: string;
  /** The partition's durable log, when the store has one. */
  durability: PartitionDurability | null;
}

/** Events a partition worker posts to the coordinator on its parent port. */
export type PartitionEvent =
  /**
   * One hand-over of evicted copies, and of positions a crashed drain evicted (and overwrote) before their
   * copies left its thread (found by recovery): in one message, so the handle can drop, against the positions
   * already delivered, the ones a restarted worker hands over again (partition-handle.ts, fresh).
   */
  | { type: 'evictions'; events: import('./committer.js').EvictedEvent[]; lost: number[] }
  /** What the handle passes on to the store for an `evictions` message: its events, then its lost positions. */
  | { type: 'evicted'; events: import('./committer.js').EvictedEvent[] }
  | { type: 'evicted-lost'; positions: number[] }
  | { type: 'full'; reason: FullReason }
  | { type: 'ready'; threadId: number; tid: number | null; restored: RestoreSummary | null }
  /** The worker could not start, for a reason a restart will not change (a corrupt log): do not retry. */
  | { type: 'fatal'; error: WireError }
  /** The durable log refused a drain: its appends were rejected, the partition refuses writes for a while (or for good). */
  | { type: 'log-error'; error: WireError; permanent: boolean };

const IDLE_WAIT_MS = 100;
/**
 * Test hook (test/stress/wakeups.mjs): with this environment variable at 1, neither the
 * idle worker nor a waiting producer re-rings on its timer, so a lost wake-up hangs
 * instead of costing up to 100 ms. Never set in production.
 */
export const NO_WAKE_POLL = 'RINGSTORE_TEST_NO_WAKE_POLL';
const SLEEPING = PartitionMemory.ctl(Ctl.SLEEPING);
const DOORBELL = PartitionMemory.ctl(Ctl.DOORBELL);
const STOP = PartitionMemory.ctl(Ctl.STOP);
const LOG_FAILED = PartitionMemory.ctl(Ctl.LOG_FAILED);

/** The partition worker: commit loop plus the query API served over comlink. */
export class PartitionWorker {
  private readonly mem: PartitionMemory;
  private readonly config: CommitterConfig;
  private committer: Committer;
  private queries: PartitionQueries;
  private readonly log: PartitionLog | null = null;
  /** While the durable log refuses writes: the ack status appends get (0: none), and when to try again. */
  private refusing = 0;
  private retryAt = 0;
  private readonly parent: MessagePort;
  private readonly ctl: ControlMemory;
  private stopped = false;
  private stopResolve: (() => void) | undefined;

  constructor(data: PartitionWorkerData, parent: MessagePort) {
    this.parent = parent;
    this.mem = new PartitionMemory(data.sab, data.geometry);
    const ctl = new ControlMemory(data.ctlSab, data.geometry.maxProducers);
    this.ctl = ctl;
    this.config = data.config;
    this.committer = this.newCommitter();
    this.queries = new PartitionQueries(this.committer);
    const epoch = Atomics.add(this.mem.i32, PartitionMemory.ctl(Ctl.WORKER_EPOCH), 1) + 1;
    let restored: RestoreSummary | null = null;
    const durable = data.durability !== null;
    if (data.durability !== null && Atomics.load(this.mem.i32, LOG_FAILED) === 1) {
      // An earlier worker's log failed: this one leaves the log alone (no reopen, no redrain of a frame whose
      // sync failed) and refuses writes as that worker did. The memory holds the last commit point.
      recoverCommitter(this.committer);
      this.refusing = AckStatus.IO_ERROR;
    } else if (data.durability !== null) {
      try {
        // The first worker of a process restores from disk; a restarted one finds the state in memory.
        if (epoch === 1) {
          const r = PartitionLog.restore(this.committer, data.durability);
          this.log = r.log;
          restored = r.summary;
        } else this.log = PartitionLog.reattach(this.committer, data.durability);
      } catch (err) {
        // A corrupt log (or a mismatched checkpoint) stays corrupt: tell the coordinator not to retry.
        parent.postMessage({ type: 'fatal', error: errorToWire(err) } satisfies PartitionEvent);
        process.exit(1);
      }
    } else recoverCommitter(this.committer);
    // A durable log's replay committed history, not appends of now: the rate starts from here.
    this.committer.rate.rebase(this.committer.appended);
    const api = {
      aggregate: guarded((v: number, query: WireQuery, extremes?: boolean) => this.queries.aggregate(v, query, extremes === true)),
      groupBy: guarded((v: number, query: WireQuery) => {
        const g = this.queries.groupBy(v, query);
        return Comlink.transfer(g, [g.count.buffer, g.sum.buffer, g.min.buffer, g.max.buffer] as ArrayBuffer[]);
      }),
      snapshot: guarded((query: WireQuery) => {
        const packed = this.queries.snapshot(query);
        return Comlink.transfer(packed, [packed.numbers.buffer, packed.lengths.buffer, packed.bytes.buffer] as ArrayBuffer[]);
      }),
      window: guarded((from: number, to: number) => this.queries.window(from, to)),
      purge: guarded((cutoff: number) => {
        this.drainAll();
        this.checkWritable();
        return this.guardLog(() => purge(this.committer, cutoff), true);
      }),
      clear: guarded(() => {
        this.drainAll();
        this.checkWritable();
        return this.guardLog(() => clear(this.committer), true);
      }),
      /** The committed state as one image (EventStore.exportImages): what a durable checkpoint holds. */
      image: guarded(() => {
        this.drainAll();
        const parts = imageParts(this.committer);
        const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
        let at = 0;
        for (const p of parts) {
          out.set(p, at);
          at += p.byteLength;
        }
        return Comlink.transfer(out, [out.buffer as ArrayBuffer]);
      }),
      /**
       * Replaces the state of a partition nothing was ever appended to with an
       * image (EventStore.importImages), the way a durable restore loads its
       * checkpoint: copy, then recover as a restarted worker does.
       */
      load: guarded((data: Uint8Array) => {
        this.drainAll();
        const c0 = this.committer;
        if (durable) throw new RingstoreError('RS_ERR_INVALID_OPTION', 'a durable partition restores from its own checkpoints');
        if (c0.appended !== 0 || c0.tailPos !== 1 || c0.purged !== 0 || c0.hasWork()) {
          throw new RingstoreError('RS_ERR_INVALID_ARGUMENT', 'an image loads only into a partition nothing was appended to');
        }
        loadImage(this.mem, data);
        const c = new Committer(this.mem, this.ctl, this.config);
        recoverCommitter(c);
        // The ring is empty: producers start claiming where the image's input cursor is (as after a restore).
        c.input.reset(c.input.head);
        this.committer = c;
        this.queries = new PartitionQueries(c);
        return c.live;
      }),
      /** Commits everything published so far; resolves when done. */
      flush: guarded(() => this.drainAll()),
      /** This thread's heap and buffers (monitoring: the main thread's metrics do not see them). */
      memory: () => threadMemory(),
      stop: () => this.stop(),
      /** Test and chaos hook: ends this thread abruptly, as a crash would. */
      crash: () => dieOfFault(this.mem, FaultFired.RPC),
    };
    Comlink.expose(api, nodeEndpoint(data.rpc as never));
    parent.postMessage({ type: 'ready', threadId, tid: nameThread(data.threadName), restored } satisfies PartitionEvent);
  }

  /** A committer whose evicted copies go to the coordinator as soon as a drain is done evicting. */
  private newCommitter(): Committer {
    const c = new Committer(this.mem, this.ctl, this.config);
    c.onEvicted = (events, positions) => {
      this.parent.postMessage({ type: 'evictions', events, lost: positions } satisfies PartitionEvent);
    };
    return c;
  }

  /** Commits everything published so far (a drain at a time; stops early if a producer must read acks first). */
  private drainAll(): number {
    let n = 0;
    while (this.committer.hasWork()) {
      const k = this.step();
      this.flushEvents();
      n += k;
      if (k === 0) break;
    }
    return n;
  }

  /** One drain; or, while the durable log refuses writes, one refusal of what waits. */
  private step(): number {
    if (this.refusing !== 0) {
      if (this.refusing === AckStatus.DISK_FULL && performance.now() >= this.retryAt) this.refusing = 0;
      else return refuse(this.committer, Number.MAX_SAFE_INTEGER, this.refusing);
    }
    return this.guardLog(() => this.committer.drain(Number.MAX_SAFE_INTEGER), false);
  }

  /** A purge or clear while the log refuses writes is refused too. */
  private checkWritable(): void {
    if (this.refusing === AckStatus.IO_ERROR) throw new RingstoreError('RS_ERR_IO', 'the durable log failed; the partition takes no writes until the store is reopened');
    if (this.refusing === AckStatus.DISK_FULL) throw new RingstoreError('RS_ERR_DISK_FULL', 'the durable log is out of space; retry later');
  }

  /**
   * Runs a commit; if the durable log refused it (disk full, I/O error), the
   * commit is rolled back in place (the committer is rebuilt from the last
   * commit point, as after a crash), the acks it wrote are turned into
   * refusals, and the partition refuses writes: for a second on a full disk
   * (then it tries again), for good on an I/O error. Reads go on.
   */
  private guardLog(commit: () => number, rethrow: boolean): number {
    try {
      return commit();
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (this.log === null || (code !== 'RS_ERR_DISK_FULL' && code !== 'RS_ERR_IO' && code !== 'RS_ERR_IO_UNKNOWN')) throw err;
      const permanent = code !== 'RS_ERR_DISK_FULL';
      if (permanent) this.logFailed();
      else this.refusing = AckStatus.DISK_FULL;
      this.retryAt = performance.now() + 1000;
      const c = this.newCommitter();
      recoverCommitter(c);
      c.journal = this.log;
      this.log.attach(c);
      // This drain's appends: not stored, or (the log could not cut its frame off) perhaps stored.
      c.acks.invalidateFrom(c.tailPos, code === 'RS_ERR_IO_UNKNOWN' ? AckStatus.IO_UNKNOWN : this.refusing);
      c.acks.notifyAll();
      this.committer = c;
      this.queries = new PartitionQueries(c);
      this.parent.postMessage({ type: 'log-error', error: errorToWire(err), permanent } satisfies PartitionEvent);
      if (rethrow) throw err;
      return 0;
    }
  }

  /** The log failed for good: refuse writes, in this worker and (through Ctl.LOG_FAILED) in any that restarts. */
  private logFailed(): void {
    this.refusing = AckStatus.IO_ERROR;
    Atomics.store(this.mem.i32, LOG_FAILED, 1);
  }

  /** Between drains (the idle tick): the durable log syncs what `interval` left and checkpoints when due. */
  private idleLog(): void {
    if (this.log === null || this.refusing === AckStatus.IO_ERROR) return;
    try {
      this.log.tick();
    } catch (err) {
      const permanent = (err as { code?: string }).code !== 'RS_ERR_DISK_FULL';
      if (permanent) this.logFailed();
      this.parent.postMessage({ type: 'log-error', error: errorToWire(err), permanent } satisfies PartitionEvent);
    }
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
    sendEvictions(c);
    if (c.becameFull !== null) {
      this.parent.postMessage({ type: 'full', reason: c.becameFull } satisfies PartitionEvent);
      c.becameFull = null;
    }
  }

  /** The commit loop: drain, yield to serve queries, sleep on the doorbell when idle. */
  async run(): Promise<void> {
    const i32 = this.mem.i32;
    // The doorbell wait has no timeout: on Node 20 a timed Atomics.waitAsync posts a
    // delayed platform task (a libuv timer) per call, which measured ~10 µs per wake-up
    // on each side. This interval stands in for the timeout: every IDLE_WAIT_MS a
    // waiting worker is rung, re-publishes its gauges and picks up anything a producer
    // that died before ringing left behind. It keys on the loop's own `waiting`, not on
    // SLEEPING: a producer that died after clearing SLEEPING but before ringing must not
    // leave the worker asleep for good. Unref'd: the RPC port keeps the thread alive.
    let waiting = false;
    const rePoll = process.env[NO_WAKE_POLL] !== '1';
    const tick = setInterval(() => {
      this.idleLog();
      if (waiting && rePoll) {
        Atomics.add(i32, DOORBELL, 1);
        Atomics.notify(i32, DOORBELL);
      }
    }, IDLE_WAIT_MS);
    tick.unref();
    for (;;) {
      syncReaders(this.committer);
      const n = this.step();
      this.flushEvents();
      // A log an image long is cut now, not at the next idle tick: under a flood 100 ms is many images.
      if (this.log?.checkpointDue === true) this.idleLog();
      const c = this.committer;
      if (n > 0 && c.hasWork() && !c.stalled) {
        // More is queued: let RPC calls in between batches. (With nothing queued, the
        // sleep below yields anyway: one event-loop turn per wake-up, not two.)
        await new Promise((r) => setImmediate(r));
        continue;
      }
      if (Atomics.load(i32, STOP) === 1) break;
      // Under the lost-wake-up test, a millisecond between the last look at the ring and SLEEPING
      // widens the window in which a producer publishes and finds nobody asleep.
      if (!rePoll) await new Promise((r) => setTimeout(r, 1));
      const bell = Atomics.load(i32, DOORBELL);
      Atomics.store(i32, SLEEPING, 1);
      // Re-checked after SLEEPING is set (the Atomics order rules out a lost wake-up, see
      // docs/architecture.md): a record published meanwhile, or acks a stalled producer read
      // meanwhile (it rang nobody: SLEEPING was still 0). Still stalled: that producer rings.
      if ((c.hasWork() && !c.stillStalled()) || Atomics.load(i32, STOP) === 1) {
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
      this.committer.rate.publish(this.committer.appended);
    }
    clearInterval(tick);
    this.drainAll();
    if (this.log !== null) {
      try {
        this.log.close(); // a last checkpoint: the next start replays nothing
      } catch (err) {
        this.parent.postMessage({ type: 'log-error', error: errorToWire(err), permanent: true } satisfies PartitionEvent);
      }
    }
    // Producers still waiting learn that nothing more will be committed (ack-pump.ts).
    Atomics.store(i32, PartitionMemory.ctl(Ctl.STATE), PartitionState.STOPPED);
    for (let p = 0; p < this.ctl.maxProducers; p++) ringBell(this.ctl, p);
    this.stopped = true;
    this.stopResolve?.();
  }
}
