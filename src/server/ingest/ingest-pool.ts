/**
 * The daemon's pool of ingest threads (piscina, `--ingest-threads`): each
 * attaches to both ring stores by descriptor and appends bulk bodies straight
 * into the partitions' input rings (ingest-thread.ts), so the main thread
 * only frames HTTP. A thread runs several tasks at once: while one batch waits
 * for its partition's commit, the next is parsed.
 */
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import type { Piscina } from 'piscina';
import type { Logger } from 'pino';
import { workerExecArgv } from '../../partition/worker-exec-argv.js';
import { releaseThreadProducers } from '../../store/descriptor.js';
import type { Stores } from '../stores.js';
import type { IngestAnswer, IngestTask, IngestThreadData } from './wire.js';

const WORKER = fileURLToPath(new URL('../../../workers/ingest.js', import.meta.url));
/** Tasks a thread takes at once: enough to parse while earlier batches wait for their commit. */
const TASKS_PER_THREAD = 32;

/** What the pool's tasks came to, since it started. */
export interface IngestOutcomes {
  /** Appended by an ingest thread. */
  stored: number;
  /** Given back to the main thread (not certainly valid). */
  fallback: number;
  /** Refused by the store (conflict, closed, disk full...). */
  failed: number;
}

export class IngestPool {
  readonly threads: number;
  /** Tasks per outcome. */
  readonly outcomes: IngestOutcomes = { stored: 0, fallback: 0, failed: 0 };
  /** Producer slots freed after an ingest thread exited without closing them (a crash, a kill). */
  slotsFreed = 0;
  readonly #pool: Piscina;
  #closing: Promise<void> | undefined;
  readonly #tracked = new WeakSet<Worker>();

  private constructor(pool: Piscina, threads: number, stores: Stores, log: Logger) {
    this.#pool = pool;
    this.threads = threads;
    // A thread piscina replaces (it crashed, or was terminated) never closed its producers: free
    // its slots in both stores once it exited, or every restart would leak two of them.
    const streams = stores.streams.descriptor();
    const metrics = stores.metrics.descriptor();
    const track = (): void => {
      for (const w of pool.threads) {
        if (this.#tracked.has(w)) continue;
        this.#tracked.add(w);
        const id = w.threadId; // -1 once the thread ended: read it now
        if (id < 0) continue;
        w.once('exit', () => {
          const freed = releaseThreadProducers(streams, id) + releaseThreadProducers(metrics, id);
          this.slotsFreed += freed;
          if (freed > 0 && this.#closing === undefined) log.warn({ threadId: id, slots: freed }, 'ingest thread exited; its producer slots were freed');
        });
      }
    };
    track();
    pool.on('workerCreate', track);
    pool.on('workerDestroy', track);
  }

  /** The thread ids of the pool's live threads. */
  get threadIds(): number[] {
    return this.#pool.threads.map((w) => w.threadId).filter((id) => id >= 0);
  }

  /** Test and chaos hook: ends ingest thread `index` abruptly, as a crash would; piscina starts another. */
  async terminateThread(index = 0): Promise<void> {
    const w = this.#pool.threads[index];
    if (w === undefined) throw new RangeError(`no ingest thread ${index}`);
    await w.terminate();
  }

  /** Starts `threads` ingest threads on the daemon's stores (piscina is imported here, only when a pool is wanted). */
  static async open(stores: Stores, threads: number, maxBatch: number, log: Logger): Promise<IngestPool> {
    const { Piscina } = await import('piscina');
    const workerData: IngestThreadData = { streams: stores.streams.descriptor(), metrics: stores.metrics.descriptor(), maxBatch };
    const pool = new Piscina({
      filename: WORKER,
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: Number.POSITIVE_INFINITY,
      concurrentTasksPerWorker: TASKS_PER_THREAD,
      // Not 'sync': a thread blocked in Atomics.wait between tasks would not see its appends' acks.
      atomics: 'disabled',
      execArgv: workerExecArgv(),
      workerData,
    });
    pool.on('error', (err: unknown) => log.error({ err }, 'ingest thread failed'));
    log.info({ threads }, 'ingest pool started');
    return new IngestPool(pool, threads, stores, log);
  }

  /**
   * Runs a task on a thread. The body's memory is transferred when the buffer
   * owns all of it (bodies over 4 KiB), copied otherwise (small bodies share
   * node's buffer slab).
   */
  async run(task: IngestTask): Promise<IngestAnswer> {
    const b = task.bytes;
    const owns = b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && !(b.buffer instanceof SharedArrayBuffer);
    const answer = (await (owns ? this.#pool.run(task, { transferList: [b.buffer as ArrayBuffer] }) : this.#pool.run(task))) as IngestAnswer;
    this.outcomes[answer.kind]++;
    return answer;
  }

  /** Finishes the queued tasks, then stops the threads. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#pool.close();
    return this.#closing;
  }
}
