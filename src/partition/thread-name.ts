import { readlinkSync, writeFileSync } from 'node:fs';

/**
 * Names this OS thread (Linux: /proc/thread-self/comm, written synchronously
 * on the calling thread) so `top -H`, profilers and per-thread CPU figures
 * tell partition workers and ingest threads apart. Names are cut at 15
 * characters (the kernel's limit). Returns the OS thread id, or null where
 * there is no /proc.
 */
export function nameThread(name: string): number | null {
  try {
    writeFileSync('/proc/thread-self/comm', name.slice(0, 15));
    const m = /task\/(\d+)$/.exec(readlinkSync('/proc/thread-self'));
    return m === null ? null : Number(m[1]);
  } catch {
    return null;
  }
}
