// Shared by the durable-store model tests (durable-metric.model.test.ts, durable-events.model.test.ts):
// scratch directories, the log's bytes on disk, and damaging the newest checkpoint while the store is closed.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** MODEL_RUNS sequences (default `fallback`), MODEL_SEED replays one (fast-check prints it on failure). */
export const RUNS = (fallback: number): number => Number(process.env.MODEL_RUNS ?? fallback);
export const SEED = process.env.MODEL_SEED !== undefined ? Number(process.env.MODEL_SEED) : undefined;
/** MODEL_PROGRESS=1: a line per sequence, so a long hunt shows it is moving. */
export const progress = (what: string, n: number): void => {
  if (process.env.MODEL_PROGRESS !== undefined) process.stderr.write(`${what}: sequence ${n}\n`);
};

const made: string[] = [];
export const scratch = (prefix: string): string => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
};
export const removeScratch = (): void => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
};

function walk(dir: string, keep: (name: string) => boolean, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, keep, out);
    else if (e.isFile() && keep(e.name)) out.push(p);
  }
  return out;
}

/** Bytes of every segment file under `dir` (all partitions). */
export const segmentBytes = (dir: string): number => walk(dir, (n) => n.endsWith('.seg')).reduce((n, f) => n + statSync(f).size, 0);

/** Segment bytes per `<dir>/p<N>` partition directory (an EventStore's layout). */
export const segmentBytesPerPartition = (dir: string, partitions: number): number[] =>
  Array.from({ length: partitions }, (_, p) => segmentBytes(join(dir, `p${p}`)));

/**
 * Flips one byte in the middle of the newest `.ckpt` file of each `checkpoints` directory under `dir`, if the
 * two newest there are both undamaged (a restore must then fall back to the older one and replay the log after
 * it; damaging the older one too would leave nothing to fall back to). `damaged` remembers the files flipped.
 * Returns how many files it damaged.
 */
export function damageNewestCheckpoint(dir: string, damaged: Set<string>, salt: number): number {
  const byDir = new Map<string, string[]>();
  for (const f of walk(dir, (n) => n.endsWith('.ckpt'))) {
    const d = f.slice(0, f.lastIndexOf('/'));
    byDir.set(d, [...(byDir.get(d) ?? []), f]);
  }
  let n = 0;
  for (const files of byDir.values()) {
    files.sort(); // 20-digit generations: name order is generation order
    if (files.length < 2) continue;
    const [older, newest] = files.slice(-2);
    if (damaged.has(older) || damaged.has(newest)) continue;
    const bytes = readFileSync(newest);
    const at = Math.floor(bytes.length / 2) + (salt % Math.max(1, bytes.length >> 2));
    bytes[at] ^= 0x5a;
    writeFileSync(newest, bytes);
    damaged.add(newest);
    n++;
  }
  return n;
}

/**
 * The log bytes each session (open to close) wrote, per log, and the bound they give after a reopen. close()
 * checkpoints, and the log is cut before where it stood at the older kept checkpoint: the previous close. So
 * what is left is the last session's frames, the segment the cut lands in and the active one, and a sync
 * marker and segment header or two (under 512 bytes). After a reopen that fell back from a damaged newest
 * checkpoint, the older kept one is older still: the session before counts too, until a reopen that did not
 * fall back. A store whose sessions write only count-0 frames (purges, clears, a metric store's keyId) needs
 * this bound: the geometry's is far above what such short sessions write.
 */
export class SessionBytes {
  readonly #sessions: number[][] = [];
  #opened: number[];
  /** Sessions the log may still hold: 1, more after fallbacks. */
  #held = 1;

  constructor(atOpen: number[]) {
    this.#opened = atOpen;
  }

  /** Call just before close(), with each log's bytes then. */
  closing(now: number[]): void {
    this.#sessions.push(now.map((b, i) => b - this.#opened[i]));
  }

  /**
   * Call after the reopen, with each log's bytes and whether a newest checkpoint was damaged before it: each
   * log's bound, and what the sessions wrote (for messages).
   */
  reopened(now: number[], segment: number, fellBack: boolean): { bound: number; wrote: string }[] {
    this.#opened = now;
    const held = this.#held;
    this.#held = fellBack ? held + 1 : 1;
    return now.map((_, i) => ({
      bound: this.#sessions.slice(-held).reduce((n, x) => n + x[i], 0) + 2 * segment + 512,
      wrote: this.#sessions.map((x) => x[i]).join(', '),
    }));
  }
}

/**
 * Runs a model child (test/fixtures/durable-*-model.mjs: it prints `ack <i>` per command resolved, then `done`)
 * until it acked `acks` commands (or all), then SIGKILLs it: how many commands it acked.
 */
export function runThenKill(child: string, args: string[], acks: number): Promise<number> {
  const proc = spawn(process.execPath, [child, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let acked = 0;
    let buf = '';
    let killed = false;
    const timer = setTimeout(() => (proc.kill('SIGKILL'), reject(new Error(`the child (${args.join(' ')}) did not ack ${acks} commands within 30 s: ${acked} acked`))), 30_000);
    proc.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('ack ')) acked = Number(line.slice(4)) + 1;
        if ((line === 'done' || acked >= acks) && !killed) {
          killed = true;
          proc.kill('SIGKILL'); // the next command is likely in flight: written or not
        }
      }
    });
    proc.on('close', (code, signal) => { // after stdout is drained: every ack line written is in
      clearTimeout(timer);
      if (signal === 'SIGKILL') resolve(acked);
      else reject(new Error(`the child exited with ${signal ?? code}`));
    });
  });
}
