/**
 * CPU time of this process per thread, from /proc (Linux): the main thread,
 * the partition workers (named `rs-<store>-p<N>` by partition-worker.ts), the
 * other JS threads (piscina producers, named by their worker name or `node`)
 * and the rest (V8's GC and compiler helpers, libuv). On a loaded 2-core
 * machine, wall time measures the scheduler as much as the code; CPU time per
 * event per thread is what the scaling argument (docs/scaling.md) is built on.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { CpuPerOp } from './types.js';

/** CPU ms per thread group at one instant. */
export interface ThreadCpu {
  main: number;
  workers: number;
  other: number;
  process: number;
}

const TICK_MS = 10; // utime and stime are in clock ticks of 1/100 s (USER_HZ)

/** A thread's CPU ms: schedstat's run time (ns) where the kernel keeps it, else stat's ticks (10 ms steps). */
function threadMs(dir: string): number {
  try {
    return Number(readFileSync(`${dir}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    const f = readFileSync(`${dir}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(') ') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) * TICK_MS;
  }
}

/** Per-group CPU ms so far, or undefined where /proc is not there. */
export function threadCpu(): ThreadCpu | undefined {
  try {
    const pid = process.pid;
    let main = 0;
    let workers = 0;
    let other = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      let ms: number;
      let comm: string;
      try {
        ms = threadMs(`/proc/${pid}/task/${tid}`);
        comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      } catch {
        continue; // the thread ended between the listing and the read
      }
      if (Number(tid) === pid) main += ms;
      else if (/^rs-.*-p\d+$/.test(comm)) workers += ms;
      else other += ms;
    }
    // The whole process, including threads that already ended.
    const u = process.cpuUsage();
    return { main, workers, other, process: (u.user + u.system) / 1000 };
  } catch {
    return undefined;
  }
}

/** CPU µs per operation between two readings (undefined when either is missing). */
export function cpuPerOp(a: ThreadCpu | undefined, b: ThreadCpu | undefined, ops: number): CpuPerOp | undefined {
  if (a === undefined || b === undefined || ops <= 0) return undefined;
  const per = (x: number, y: number): number => ((y - x) * 1000) / ops;
  return { main: per(a.main, b.main), process: per(a.process, b.process), workers: per(a.workers, b.workers), other: per(a.other, b.other) };
}
