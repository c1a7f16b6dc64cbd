/**
 * Injected faults (tests and chaos drills: EventStore.crashPartition): the
 * worker ends itself at the armed point and counts where in shared memory
 * (Ctl.FAULTS), so the coordinator can tell which fault ended a worker, and
 * whether an armed one fired at all, after the thread is gone.
 */
import { Ctl, FAULT_KINDS, FaultFired, LINE_INTS, type PartitionMemory } from '../ring/layout.js';

const C_FAULTS = Ctl.FAULTS * LINE_INTS;

/**
 * How a partition worker ended, as `crashPartition` answers: at an injected fault (`mid-drain`: after the
 * armed count of records; `log-write`: once the drain was logged; `commit-point`: after the flip;
 * `evictions`: just after the drain handed evicted copies over; `no-evictions`: an `afterEvictions` kill in a
 * drain that evicted nothing, so it died before its commit point with nothing handed over; `rpc`: the worker's
 * crash call), or `terminated`: no injected fault (ended from outside, or died of a real error).
 */
export type CrashOutcome = 'mid-drain' | 'log-write' | 'commit-point' | 'evictions' | 'no-evictions' | 'rpc' | 'terminated';

/** Outcome names by FaultFired kind. */
const OUTCOMES: readonly CrashOutcome[] = (() => {
  const names: CrashOutcome[] = [];
  names[FaultFired.MID_DRAIN] = 'mid-drain';
  names[FaultFired.LOG_WRITE] = 'log-write';
  names[FaultFired.COMMIT_POINT] = 'commit-point';
  names[FaultFired.EVICTIONS] = 'evictions';
  names[FaultFired.NO_EVICTIONS] = 'no-evictions';
  names[FaultFired.RPC] = 'rpc';
  return names;
})();

/** Ends the worker thread now on an injected fault of kind `kind` (a FaultFired value), counting it first. */
export function dieOfFault(mem: PartitionMemory, kind: number): never {
  Atomics.add(mem.i32, C_FAULTS + kind, 1);
  process.exit(1);
}

/** The fault counters (FaultFired order): how often each injected fault ended a worker of the partition. */
export function faultCounts(mem: PartitionMemory): number[] {
  return Array.from({ length: FAULT_KINDS }, (_, k) => Atomics.load(mem.i32, C_FAULTS + k));
}

/**
 * How the worker that just exited ended: the fault whose counter grew since `seen` (which is brought up to
 * date), else `terminated`. A worker ends once, so at most one counter grew.
 */
export function outcomeSince(mem: PartitionMemory, seen: number[]): CrashOutcome {
  let outcome: CrashOutcome = 'terminated';
  const now = faultCounts(mem);
  for (let k = 0; k < FAULT_KINDS; k++) {
    if (now[k] !== seen[k]) outcome = OUTCOMES[k];
    seen[k] = now[k];
  }
  return outcome;
}
