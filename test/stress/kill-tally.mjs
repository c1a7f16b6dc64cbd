// Armed kills against the kills that fired, so the stress scenario cannot
// silently stop testing what it claims. A kill armed with afterRecords fires
// only in a drain that reaches its count; one with afterEvictions tests the
// hand-over only in a drain that evicted something (else it dies as
// 'no-evictions'); a later arm overwrites an earlier one that has not fired.
// Workers count each injected fault that ended them in shared memory
// (Ctl.FAULTS, never reset), read here through the store's descriptor.
import { Ctl, FaultFired, LINE_INTS } from '../../dist/src/ring/layout.js';

/** Below this share of armed kills of a kind firing at all, the run fails (healthy runs: all or nearly all fire). */
export const MIN_FIRED = 0.5;
/** ... judged over at least this many armed kills of the kind. */
export const MIN_ARMED_FIRED = 4;
/** Below this share of afterEvictions kills firing after a hand-over, the run fails (healthy runs: 69 to 100%). */
export const MIN_HANDED_OVER = 0.5;
/** ... judged over at least this many (early drains of a large store evict nothing, so fewer kills vary more). */
export const MIN_ARMED_HANDED_OVER = 12;

/** The injected faults that ended the workers of a store, summed over its partitions. */
export function firedKills(descriptor) {
  const fired = { records: 0, evictions: 0, noEvictions: 0, commitPoint: 0, rpc: 0 };
  for (const sab of descriptor.partitions) {
    const i32 = new Int32Array(sab);
    const at = (k) => Atomics.load(i32, Ctl.FAULTS * LINE_INTS + k);
    fired.records += at(FaultFired.MID_DRAIN);
    fired.evictions += at(FaultFired.EVICTIONS);
    fired.noEvictions += at(FaultFired.NO_EVICTIONS);
    fired.commitPoint += at(FaultFired.COMMIT_POINT);
    fired.rpc += at(FaultFired.RPC);
  }
  return fired;
}

/**
 * Sums the rounds' armed and fired kills and judges them: problems (a share below its minimum, over enough
 * armed kills to tell) and a one-line report.
 */
export function killTally(summaries) {
  const armed = { records: 0, evictions: 0 };
  const fired = { records: 0, evictions: 0, noEvictions: 0 };
  for (const s of summaries) {
    if (s?.killKinds === undefined || s.fired === undefined) continue;
    armed.records += s.killKinds.records;
    armed.evictions += s.killKinds.evictions;
    fired.records += s.fired.records;
    fired.evictions += s.fired.evictions;
    fired.noEvictions += s.fired.noEvictions;
  }
  const pct = (a, b) => (b === 0 ? '-' : `${Math.round((100 * a) / b)}%`);
  const line =
    `kills armed/fired: afterRecords ${armed.records}/${fired.records} (${pct(fired.records, armed.records)}); ` +
    `afterEvictions ${armed.evictions}, fired after a hand-over ${fired.evictions} (${pct(fired.evictions, armed.evictions)}), ` +
    `with nothing to hand over ${fired.noEvictions}, never fired ${armed.evictions - fired.evictions - fired.noEvictions}`;
  const problems = [];
  const judge = (what, got, of, share, min) => {
    if (of >= min && got < share * of) problems.push(`only ${got} of ${of} ${what} (minimum ${share * 100}%): ${line}`);
  };
  judge('afterRecords kills fired', fired.records, armed.records, MIN_FIRED, MIN_ARMED_FIRED);
  judge('afterEvictions kills fired', fired.evictions + fired.noEvictions, armed.evictions, MIN_FIRED, MIN_ARMED_FIRED);
  judge('afterEvictions kills fired after a hand-over', fired.evictions, armed.evictions, MIN_HANDED_OVER, MIN_ARMED_HANDED_OVER);
  return { armed, fired, problems, line };
}
