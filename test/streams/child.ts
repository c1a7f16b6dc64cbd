// A child process running test/streams/fixtures/stream-child.mjs, driven over IPC.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./fixtures/stream-child.mjs', import.meta.url));

/** A reply of the child. */
export interface Reply {
  ok?: boolean;
  ready?: boolean;
  code?: string;
  message?: string;
  version?: number;
  versions?: number[];
}

/** One child process holding a provider on `backend` (an LMDB path or `nats:<json>`) for `stream`. */
export class Child {
  readonly proc: ChildProcess;
  readonly #replies: Reply[] = [];
  readonly #waiters: Array<(r: Reply) => void> = [];
  constructor(backend: string, stream: string, clockSkewMs = 0) {
    this.proc = fork(CHILD, [backend, stream, String(clockSkewMs)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.proc.on('message', (m: Reply) => {
      const w = this.#waiters.shift();
      if (w) w(m);
      else this.#replies.push(m);
    });
  }
  next(): Promise<Reply> {
    const r = this.#replies.shift();
    if (r) return Promise.resolve(r);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
  async ask(msg: Record<string, unknown>): Promise<Reply> {
    this.proc.send(msg);
    return this.next();
  }
  exited(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return Promise.resolve();
    return new Promise((r) => this.proc.once('exit', () => r()));
  }
  /** kill -9 and wait for the exit. */
  async kill(): Promise<void> {
    this.proc.kill('SIGKILL');
    await this.exited();
  }
}
