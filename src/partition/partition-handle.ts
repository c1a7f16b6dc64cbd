import { MessageChannel, Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { ClosedError, RingstoreError } from '../errors.js';
import type { ControlMemory, PartitionMemory } from '../ring/layout.js';
import type { CommitterConfig } from './committer.js';
import type { PartitionEvent, PartitionWorkerData } from './partition-worker.js';
import { Comlink, nodeEndpoint, unwrap } from './rpc.js';
import { workerExecArgv } from './worker-exec-argv.js';

const WORKER_URL = new URL('../../workers/partition.js', import.meta.url);
const BOOT_FAILURES_TO_GIVE_UP = 3;

const MAX_RESTARTS_PER_MINUTE = 20;

type Api = Record<string, (...args: unknown[]) => unknown>;

/**
 * The coordinator's handle on one partition worker: starts it, restarts it
 * when it dies (the new thread re-attaches to the same shared memory, so no
 * committed event is lost), and sends it control-plane calls over comlink.
 * A call in flight when the worker dies is retried once on the new worker
 * (every call is idempotent or a read).
 */
export class PartitionHandle {
  readonly index: number;
  restarts = 0;
  private readonly mem: PartitionMemory;
  private readonly ctl: ControlMemory;
  private readonly config: CommitterConfig;
  private readonly onEvent: (e: PartitionEvent) => void;
  private readonly logger: Logger | undefined;
  private worker!: Worker;
  private api!: Comlink.Remote<Api>;
  private ready!: Promise<void>;
  private died!: Promise<never>;
  private closing = false;
  private recentRestarts: number[] = [];
  private bootFailures = 0;
  private failed: RingstoreError | undefined;
  private readonly onFatal: (err: RingstoreError) => void;
  private port!: import('node:worker_threads').MessagePort;
  private inflight = 0;

  constructor(
    index: number, mem: PartitionMemory, ctl: ControlMemory, config: CommitterConfig, onEvent: (e: PartitionEvent) => void,
    onFatal: (err: RingstoreError) => void, logger?: Logger,
  ) {
    this.onFatal = onFatal;
    this.index = index;
    this.mem = mem;
    this.ctl = ctl;
    this.config = config;
    this.onEvent = onEvent;
    this.logger = logger;
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
    };
    const worker = new Worker(WORKER_URL, { workerData: data, transferList: [port2], execArgv: workerExecArgv() });
    worker.unref();
    port1.unref();
    this.worker = worker;
    this.port = port1;
    if (this.inflight > 0) port1.ref();
    this.api = Comlink.wrap<Api>(nodeEndpoint(port1 as never));
    let markReady!: () => void;
    this.ready = new Promise((resolve) => (markReady = resolve));
    let markDead!: (err: Error) => void;
    this.died = new Promise<never>((_, reject) => (markDead = reject));
    this.died.catch(() => undefined);
    let booted = false;
    let lastError: Error | undefined;
    worker.on('message', (e: PartitionEvent) => {
      if (e.type === 'ready') {
        booted = true;
        this.bootFailures = 0;
        markReady();
      } else this.onEvent(e);
    });
    worker.on('error', (err) => {
      lastError = err;
      this.logger?.error({ err, partition: this.index }, 'partition worker error');
    });
    worker.on('exit', (code) => {
      port1.close();
      const why = `partition ${this.index} worker exited (code ${code})${lastError ? `: ${lastError.message}` : ''}`;
      markDead(new RingstoreError('RS_ERR_WORKER', why));
      if (this.closing) return;
      if (!booted && ++this.bootFailures >= BOOT_FAILURES_TO_GIVE_UP) {
        // A worker that cannot even start will not start next time either: fail loudly instead of looping.
        this.failed = new RingstoreError('RS_ERR_WORKER', `${why}; it failed to start ${this.bootFailures} times, giving up`, undefined, { cause: lastError });
        this.logger?.error({ partition: this.index, err: lastError }, 'partition worker cannot start');
        this.onFatal(this.failed);
        return;
      }
      this.logger?.warn({ partition: this.index, code }, 'partition worker died; restarting on the same shared memory');
      const now = Date.now();
      this.recentRestarts = this.recentRestarts.filter((t) => now - t < 60_000);
      if (this.recentRestarts.length >= MAX_RESTARTS_PER_MINUTE) {
        this.logger?.error({ partition: this.index }, 'partition worker keeps dying; giving up');
        return;
      }
      this.recentRestarts.push(now);
      this.restarts++;
      this.spawn();
    });
  }

  /** Resolves once the current worker recovered its state and serves calls. */
  whenReady(): Promise<void> {
    return this.ready;
  }

  /** Calls a worker method; typed errors are rethrown; a worker death mid-call retries once. */
  async call<R>(method: string, ...args: unknown[]): Promise<R> {
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
      if (this.failed) throw this.failed;
      const died = this.died;
      try {
        await Promise.race([this.ready, died]);
        const result = await Promise.race([this.api[method](...args) as Promise<unknown>, died]);
        return unwrap(result as R);
      } catch (err) {
        if (attempt === 0 && err instanceof RingstoreError && err.code === 'RS_ERR_WORKER' && !this.closing && !this.failed) {
          await new Promise((r) => setTimeout(r, 10));
          continue;
        }
        throw err;
      }
    }
  }

  /** Abruptly ends the worker thread, as a crash would (for tests and chaos drills). */
  async crash(): Promise<void> {
    await this.ready;
    const died = this.died.catch(() => undefined);
    void (this.api.crash() as Promise<unknown>).catch(() => undefined);
    await died;
  }

  /** Drains, stops and terminates the worker. */
  async close(): Promise<void> {
    if (this.closing) return;
    try {
      await Promise.race([this.ready, this.died]);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise((r) => (timer = setTimeout(r, 2000)));
      try {
        await Promise.race([this.api.stop() as Promise<unknown>, this.died, timeout]);
      } finally {
        clearTimeout(timer); // a pending timer would keep the process alive after close
      }
    } catch {
      // the worker is gone already
    }
    this.closing = true;
    await this.worker.terminate();
  }
}
