import { MessageChannel, Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { ClosedError, RingstoreError } from '../errors.js';
import { ringBell } from '../ring/ack-ring.js';
import { Ctl, PartitionMemory, PartitionState, TableCursor, type ControlMemory } from '../ring/layout.js';
import type { CommitterConfig, EvictedEvent } from './committer.js';
import type { PartitionEvent, PartitionWorkerData } from './partition-worker.js';
import { Comlink, nodeEndpoint, unwrap } from './rpc.js';
import { workerExecArgv } from './worker-exec-argv.js';
import { faultCounts, outcomeSince, type CrashOutcome } from './fault-exit.js';
import type { PartitionDurability, RestoreSummary } from './partition-log.js';
import type { ThreadMemory } from './thread-memory.js';
import { errorFromWire } from '../errors.js';

const WORKER_URL = new URL('../../workers/partition.js', import.meta.url);
const BOOT_FAILURES_TO_GIVE_UP = 3;
const MAX_RESTARTS_PER_MINUTE = 20;
const C_STATE = PartitionMemory.ctl(Ctl.STATE);
const C_CRASH_AT = PartitionMemory.ctl(Ctl.CRASH_AT);
const C_CRASH_AFTER_FLIP = PartitionMemory.ctl(Ctl.CRASH_AFTER_FLIP);
const C_DOORBELL = PartitionMemory.ctl(Ctl.DOORBELL);

type Api = Record<string, (...args: unknown[]) => unknown>;

/** Names the handle gives its worker (thread name, logs), and its durable log. */
export interface PartitionNames {
  /** The store's name, e.g. `streams` (default `store`). */
  store: string;
  /** The partition's durable log, if the store has one. */
  durability?: PartitionDurability | null;
}

/**
 * The coordinator's handle on one partition worker: starts it, restarts it
 * when it dies (the new thread re-attaches to the same shared memory, so no
 * committed event is lost), and sends it control-plane calls over comlink.
 * A call in flight when the worker dies is retried once on the new worker
 * (every call is idempotent or a read). A worker that cannot start, or keeps
 * dying, fails the partition for good: its state says so in shared memory,
 * so every producer rejects what it waits for, and every call rejects.
 */
export class PartitionHandle {
  readonly index: number;
  restarts = 0;
  /** Calls (queries, flush, purge...) sent to the worker so far. */
  calls = 0;
  private readonly mem: PartitionMemory;
  private readonly ctl: ControlMemory;
  private readonly config: CommitterConfig;
  private readonly onEvent: (e: PartitionEvent) => void;
  private readonly logger: Logger | undefined;
  private readonly threadName: string;
  private readonly durability: PartitionDurability | null;
  /** What the durable log's restore did when the current worker started (null: not durable). */
  restored: RestoreSummary | null = null;
  private worker!: Worker;
  private api!: Comlink.Remote<Api>;
  private booted = false;
  private closing = false;
  private recentRestarts: number[] = [];
  private bootFailures = 0;
  private failed: RingstoreError | undefined;
  private port!: import('node:worker_threads').MessagePort;
  private inflight = 0;
  /**
   * Rejecters of what waits on the current worker (calls in flight, and
   * waits for it to be ready): rejected when it exits. A set, not a race
   * against a "died" promise: a promise that never settles, raced again and
   * again, keeps every reaction (and every result) alive.
   */
  private waiters = new Set<(err: Error) => void>();
  private readyWaiters: (() => void)[] = [];
  /** Holds the event loop while someone waits for the worker to boot (see whenReady). */
  private bootHold: ReturnType<typeof setInterval> | undefined;

  constructor(
    index: number, mem: PartitionMemory, ctl: ControlMemory, config: CommitterConfig, onEvent: (e: PartitionEvent) => void,
    names: PartitionNames, logger?: Logger,
  ) {
    this.index = index;
    this.mem = mem;
    this.ctl = ctl;
    this.config = config;
    this.onEvent = onEvent;
    this.logger = logger;
    this.threadName = `rs-${names.store.slice(0, 8)}-p${index}`.slice(0, 15);
    this.durability = names.durability ?? null;
    this.faultsSeen = faultCounts(mem);
    this.spawn();
  }

  private spawn(): void {
    const { port1, port2 } = new MessageChannel();
    const data: PartitionWorkerData = {
      sab: this.mem.sab,
      ctlSab: this.ctl.sab,
      geometry: this.mem.geometry,
      config: this.config,
      rpc: port2,
      threadName: this.threadName,
      durability: this.durability,
    };
    const worker = new Worker(WORKER_URL, { workerData: data, transferList: [port2], execArgv: workerExecArgv(), name: this.threadName });
    this.worker = worker;
    this.port = port1;
    this.api = Comlink.wrap<Api>(nodeEndpoint(port1 as never));
    this.booted = false;
    let lastError: Error | undefined;
    let fatal: RingstoreError | undefined;
    worker.on('message', (e: PartitionEvent) => {
      if (e.type === 'fatal') {
        fatal = errorFromWire(e.error) as RingstoreError;
        return;
      }
      if (e.type === 'log-error') {
        const err = errorFromWire(e.error);
        this.logger?.error({ partition: this.index, err, permanent: e.permanent }, e.permanent ? 'durable log failed: the partition refuses writes until the store is reopened' : 'durable log refused a drain (disk full): its appends were rejected; retrying in a second');
        return;
      }
      if (e.type === 'ready') {
        this.booted = true;
        this.bootFailures = 0;
        this.restored = e.restored;
        this.logger?.info({ partition: this.index, thread: this.threadName, threadId: e.threadId, tid: e.tid }, 'partition worker started');
        if (e.restored !== null) {
          this.logger?.info({ partition: this.index, ...e.restored }, `restored ${e.restored.events} events in ${Math.round(e.restored.ms)} ms`);
          if (e.restored.bytesTruncated > 0) this.logger?.warn({ partition: this.index, bytes: e.restored.bytesTruncated }, `cut a torn tail of ${e.restored.bytesTruncated} bytes from the log`);
        }
        this.releaseReadyWaiters();
      } else if (e.type === 'evictions') {
        this.deliver(e.events, e.lost);
      } else {
        this.onEvent(e);
      }
    });
    worker.on('error', (err) => {
      lastError = err;
      this.logger?.error({ err, partition: this.index }, 'partition worker error');
    });
    worker.on('exit', (code) => {
      port1.close();
      const how = outcomeSince(this.mem, this.faultsSeen);
      const exitWaiters = this.exitWaiters;
      this.exitWaiters = [];
      for (const w of exitWaiters) w(how);
      const why = `partition ${this.index} worker exited (code ${code})${lastError ? `: ${lastError.message}` : ''}`;
      const waiters = this.waiters;
      this.waiters = new Set();
      for (const w of waiters) w(new RingstoreError('RS_ERR_WORKER', why));
      if (this.closing) {
        this.releaseReadyWaiters(); // no worker comes after this one
        return;
      }
      if (fatal !== undefined) {
        this.fail(fatal);
        return;
      }
      if (!this.booted && ++this.bootFailures >= BOOT_FAILURES_TO_GIVE_UP) {
        // A worker that cannot even start will not start next time either: fail loudly instead of looping.
        this.fail(new RingstoreError('RS_ERR_WORKER', `${why}; it failed to start ${this.bootFailures} times, giving up`, { partition: this.index }, { cause: lastError }));
        return;
      }
      const now = Date.now();
      this.recentRestarts = this.recentRestarts.filter((t) => now - t < 60_000);
      if (this.recentRestarts.length >= MAX_RESTARTS_PER_MINUTE) {
        this.fail(new RingstoreError('RS_ERR_WORKER', `${why}; it died ${MAX_RESTARTS_PER_MINUTE} times within a minute, giving up`, { partition: this.index }));
        return;
      }
      this.logger?.warn({ partition: this.index, code }, 'partition worker died; restarting on the same shared memory');
      this.recentRestarts.push(now);
      this.restarts++;
      this.spawn();
    });
    // Idle workers and ports do not keep the process alive (a call in flight refs the port, see call()).
    // Last: adding a 'message' listener (ours above, comlink's in wrap) refs the worker or port again.
    worker.unref();
    if (this.inflight > 0) port1.ref();
    else port1.unref();
  }

  /**
   * Hands one batch of evictions to the store's callbacks, minus the positions delivered before, then records
   * how far delivery got (EVICTIONS_DELIVERED: a durable worker may checkpoint past them).
   *
   * A worker can hand the same positions over twice, when it dies after handing a drain's copies over and
   * before that drain's commit point: recovery delivers again the committed evictions it finds at or after
   * EVICTIONS_SENT (not yet recorded when the worker died right after the hand-over), and the drain's re-run
   * evicts again the events it had both written and evicted (its own writes were rolled back, so the re-run
   * makes them again at the same positions). Evictions reach the coordinator in position order (one worker at
   * a time, and a dead worker's messages are all delivered before its 'exit', so before the next one starts),
   * so anything below EVICTIONS_DELIVERED was delivered already. Of such a re-made event, the first copy is
   * the only one anyone sees, and its id is the one the event keeps:
   * - an `append()` id, the caller's or the ULID the producer made (the id `append()` resolved with), is in the
   *   input record, so the re-run copies the same id;
   * - a `tryAppend()` event without an id gets its id from the worker (id prefix drawn at the worker's start,
   *   drain time, position: event-ids.ts), so the re-run of a non-durable partition writes a different id
   *   into the re-made copy (a durable one replays the logged prefix and time). That copy is never seen: it
   *   was not committed when the first copy was reported (readers and acks see committed events only), the
   *   re-run evicts it again before its own commit point, and this drops its report.
   * test/stress/rerun-ids.test.ts checks both: every event once, under one id, the one its producer or a
   * reader was given.
   */
  private deliver(events: EvictedEvent[], lost: number[]): void {
    const t = this.mem.tables;
    const from = t[TableCursor.EVICTIONS_DELIVERED];
    const fresh = events[0] !== undefined && events[0].position < from ? events.filter((x) => x.position >= from) : events;
    const freshLost = lost[0] !== undefined && lost[0] < from ? lost.filter((p) => p >= from) : lost;
    if (fresh.length > 0) this.onEvent({ type: 'evicted', events: fresh });
    if (freshLost.length > 0) this.onEvent({ type: 'evicted-lost', positions: freshLost });
    const last = Math.max(fresh.length > 0 ? fresh[fresh.length - 1].position : 0, freshLost.length > 0 ? freshLost[freshLost.length - 1] : 0);
    if (last + 1 > t[TableCursor.EVICTIONS_DELIVERED]) t[TableCursor.EVICTIONS_DELIVERED] = last + 1;
  }

  /** Fails the partition for good: calls reject, producers reject what they wait for and refuse new appends. */
  private fail(err: RingstoreError): void {
    this.failed = err;
    this.logger?.error({ partition: this.index, err }, 'partition worker failed for good');
    Atomics.store(this.mem.i32, C_STATE, PartitionState.FAILED);
    for (let p = 0; p < this.ctl.maxProducers; p++) ringBell(this.ctl, p);
    this.releaseReadyWaiters();
  }

  private releaseReadyWaiters(): void {
    clearInterval(this.bootHold);
    this.bootHold = undefined;
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const w of waiters) w();
  }

  /** The error that failed this partition for good, if it did. */
  get failure(): RingstoreError | undefined {
    return this.failed;
  }

  /** Resolves once the current worker recovered its state and serves calls (or the partition failed). */
  whenReady(): Promise<void> {
    if (this.booted || this.failed || this.closing) return Promise.resolve();
    // The worker and its port are unref'd: without this, a close() or crash() awaiting a booting
    // worker let Node exit mid-await (code 13) and the rest of the caller's script never ran.
    this.bootHold ??= setInterval(() => undefined, 1000);
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /** Calls a worker method; typed errors are rethrown; a worker death mid-call retries once. */
  async call<R>(method: string, ...args: unknown[]): Promise<R> {
    this.calls++;
    return this.invoke<R>(method, args);
  }

  /** The worker thread's memory; a monitoring read, not counted in `calls`. */
  memory(): Promise<ThreadMemory> {
    return this.invoke<ThreadMemory>('memory', []);
  }

  private async invoke<R>(method: string, args: unknown[]): Promise<R> {
    // Idle workers do not keep the process alive; a call in flight does.
    if (this.inflight++ === 0) this.port.ref();
    try {
      return await this.callOnce<R>(method, args);
    } finally {
      if (--this.inflight === 0) this.port.unref();
    }
  }

  private async callOnce<R>(method: string, args: unknown[]): Promise<R> {
    for (let attempt = 0; ; attempt++) {
      if (this.closing && method !== 'stop') throw new ClosedError();
      await this.whenReady();
      if (this.failed) throw this.failed;
      try {
        return unwrap(await this.onWorker<R>(() => this.api[method](...args) as Promise<R>));
      } catch (err) {
        if (attempt === 0 && err instanceof RingstoreError && err.code === 'RS_ERR_WORKER' && !this.closing && !this.failed) {
          await new Promise((r) => setTimeout(r, 10));
          continue;
        }
        throw err;
      }
    }
  }

  /** Runs `start` against the current worker; rejects with RS_ERR_WORKER if that worker exits first. */
  private onWorker<R>(start: () => Promise<R>): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const waiters = this.waiters;
      const fail = (err: Error): void => reject(err);
      waiters.add(fail);
      start().then(
        (r) => {
          waiters.delete(fail);
          resolve(r);
        },
        (err: unknown) => {
          waiters.delete(fail);
          reject(err);
        },
      );
    });
  }

  /**
   * Abruptly ends the worker thread, as a crash would (for tests and chaos
   * drills). With `afterRecords`, the worker dies in the drain in which the
   * records it committed since the call reach that many, before the drain's
   * commit point (`at` 'flip': inside it, just after its flip; 'evictions':
   * just after the drain handed its evicted copies over, before it recorded
   * that it did). With 0, the thread is terminated from outside, wherever it is.
   * Resolves when the worker exits next, with how it ended: an armed kill may
   * not fire (no drain reaches the count; an afterEvictions drain with nothing
   * to hand over dies as `no-evictions`), or another kill may end it first.
   */
  crash(afterRecords?: number, at: 'flip' | 'evictions' | null = null): Promise<CrashOutcome> {
    if (this.failed) return Promise.reject(this.failed);
    // After close no worker exits any more: waiting for one would never settle.
    if (this.closing) return Promise.reject(new ClosedError());
    if (afterRecords === 0) {
      // From outside, at whatever instruction the worker is running (mid-record included).
      return (async () => {
        await this.whenReady();
        if (this.failed) throw this.failed;
        const exited = this.nextExit();
        void this.worker.terminate();
        return exited;
      })();
    }
    if (afterRecords !== undefined) {
      // Armed before returning, so appends made right after the call are in the drain that dies.
      Atomics.store(this.mem.i32, C_CRASH_AFTER_FLIP, at === 'flip' ? 1 : at === 'evictions' ? 2 : 0);
      Atomics.store(this.mem.i32, C_CRASH_AT, afterRecords);
      Atomics.add(this.mem.i32, C_DOORBELL, 1);
      Atomics.notify(this.mem.i32, C_DOORBELL);
      return this.nextExit();
    }
    return (async () => {
      await this.whenReady();
      if (this.failed) throw this.failed;
      const exited = this.nextExit();
      void (this.api.crash() as Promise<unknown>).catch(() => undefined);
      return exited;
    })();
  }

  /** Resolves when the current worker (or the next one, if none runs) exits, with how it ended. */
  private nextExit(): Promise<CrashOutcome> {
    return new Promise<CrashOutcome>((resolve) => {
      const keepAlive = setInterval(() => undefined, 1000); // the worker is unref'd
      this.exitWaiters.push((how) => {
        clearInterval(keepAlive);
        resolve(how);
      });
    });
  }

  private exitWaiters: ((how: CrashOutcome) => void)[] = [];
  /** The partition's fault counters (Ctl.FAULTS) as of the last exit: the one that grew names the next. */
  private readonly faultsSeen: number[];

  /** Drains, stops and terminates the worker. */
  async close(): Promise<void> {
    if (this.closing) return;
    if (!this.failed) {
      try {
        await this.whenReady();
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timeout = new Promise<void>((r) => (timer = setTimeout(r, 2000)));
        try {
          await Promise.race([this.onWorker(() => this.api.stop() as Promise<unknown>), timeout]);
        } finally {
          clearTimeout(timer); // a pending timer would keep the process alive after close
        }
      } catch {
        // the worker is gone already
      }
    }
    this.closing = true;
    // A worker that did not stop cleanly still ends with a state producers understand.
    Atomics.compareExchange(this.mem.i32, C_STATE, PartitionState.RUNNING, PartitionState.STOPPED);
    for (let p = 0; p < this.ctl.maxProducers; p++) ringBell(this.ctl, p);
    await this.worker.terminate();
  }
}
