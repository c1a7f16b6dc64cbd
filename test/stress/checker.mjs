// The stress checker: given every outcome the producer threads saw and every
// event the store holds or evicted, it lists what breaks the protocol
// invariants (docs/architecture.md, "Protocol invariants"):
// - every append settled within the bound (no 'hang' outcome);
// - a resolved append names the event stored at its position (same tag,
//   same checksum, same id, version); a duplicate names the first event of
//   its (id, key);
// - a rejected append (or a refused tryAppend) stored nothing, an accepted
//   tryAppend stored its event once;
// - the accounting is exact: appended = live + discarded + rejected + purged,
//   rejected = duplicates + conflicts, and each counter equals what was seen;
// - no event is torn (payload checksum, key, type and values agree);
// - every eviction is reported once: to onDiscarded (never twice, never a
//   live event), or, only after a worker restart, as a position to
//   onDiscardedLost (never both); the scenario also checks that no report
//   arrives after the check (a late second one);
// - positions are contiguous per partition, versions per key (or restart at
//   1 where the dormant-key bound forgot the key), the events in holes (a
//   crashed drain's unreported evictions) included: a resolved one by the
//   version it was told, a lost tryAppend as a gap the key may skip or
//   restart in.
import { eventSum } from './prng.mjs';

const MAX_PROBLEMS = 40;

export function check({ outcomes, live, discarded, lost, stats, capacityPerPartition }) {
  const problems = [];
  const say = (m) => {
    if (problems.length < MAX_PROBLEMS) problems.push(m);
    else if (problems.length === MAX_PROBLEMS) problems.push('... more problems left out');
  };
  // Each eviction reaches onDiscarded at most once in a store's life (a worker restart included): a second
  // report of a position is a defect even when both copies agree (the 'stored twice' below would name it
  // only as two stored events).
  const reported = new Map();
  for (const e of discarded) {
    const at = `${e.partition}:${e.position}`;
    const n = (reported.get(at) ?? 0) + 1;
    reported.set(at, n);
    if (n === 2) say(`onDiscarded reported ${at} twice (${e.payload?.t ?? '?'})`);
  }
  for (const e of live) if (reported.has(`${e.partition}:${e.position}`)) say(`onDiscarded reported ${e.partition}:${e.position}, which is still live`);
  const stored = [...live, ...discarded];
  const byTag = new Map();
  const byPos = new Map();
  const perPartition = new Map();
  for (const e of stored) {
    const x = e.payload;
    if (x === null || typeof x !== 'object' || eventSum(x) !== x.c || e.key !== (x.key ?? '') || e.type !== (x.type ?? '') || e.values.amount !== x.amount) {
      say(`torn event at partition ${e.partition} position ${e.position}: ${JSON.stringify(e).slice(0, 300)}`);
      continue;
    }
    if (byTag.has(x.t)) say(`event ${x.t} stored twice: positions ${byTag.get(x.t).partition}:${byTag.get(x.t).position} and ${e.partition}:${e.position}`);
    byTag.set(x.t, e);
    const at = `${e.partition}:${e.position}`;
    if (byPos.has(at)) say(`two events at ${at}`);
    byPos.set(at, e);
    perPartition.set(e.partition, (perPartition.get(e.partition) ?? []).concat(e.position));
  }
  // Events a drain evicted before its worker died whose bytes it overwrote reach onDiscardedLost as positions
  // only (docs/architecture.md, Failures): they are the only holes allowed in the positions, only below the
  // live ones, each reported exactly once, and their number is exactly the difference of the counters.
  const unreported = stats.discarded - discarded.length;
  if (unreported < 0 || (unreported > 0 && stats.restarts === 0)) say(`accounting: ${stats.discarded} discarded, ${discarded.length} given to onDiscarded, ${stats.restarts} restarts`);
  let holes = 0;
  const hole = new Set();
  for (const [p, positions] of perPartition) {
    positions.sort((a, b) => a - b);
    const have = new Set(positions);
    const minLive = Math.min(...live.filter((e) => e.partition === p).map((e) => e.position));
    for (let pos = 1; pos <= positions[positions.length - 1]; pos++) {
      if (have.has(pos)) continue;
      holes++;
      hole.add(`${p}:${pos}`);
      if (pos > minLive) say(`partition ${p}: position ${pos} is missing above the oldest live event ${minLive}`);
    }
  }
  if (holes !== Math.max(0, unreported)) say(`accounting: ${holes} positions missing, ${unreported} evictions unreported`);
  if (lost !== undefined) {
    // `lost`: the "partition:position"s given to onDiscardedLost (undefined: the store had no such callback).
    const lostSet = new Set(lost);
    if (lostSet.size !== lost.length) say(`onDiscardedLost named a position twice: ${lost.join(' ')}`.slice(0, 300));
    for (const at of lostSet) if (!hole.has(at)) say(`onDiscardedLost named ${at}, which is not missing`);
    for (const at of hole) if (!lostSet.has(at)) say(`position ${at} is missing and was given to neither onDiscarded nor onDiscardedLost`);
  }

  const told = new Set();
  const count = { ok: 0, dup: 0, true: 0, conflict: 0, rejected: 0, hang: 0, unreported: 0, lostTry: 0, codes: {} };
  const condCalls = new Map();
  for (const o of outcomes) {
    const e = byTag.get(o.t);
    switch (o.st) {
      case 'ok':
        count.ok++;
        told.add(o.t);
        if (e === undefined) {
          if (!hole.has(`${o.p}:${o.pos}`)) say(`append ${o.t} resolved at ${o.p}:${o.pos} but is not stored`);
          else count.unreported++;
        }
        else if (e.partition !== o.p || e.position !== o.pos || e.version !== o.v || e.id !== o.id) {
          say(`append ${o.t} resolved as ${o.p}:${o.pos} v${o.v} id ${o.id}; stored as ${e.partition}:${e.position} v${e.version} id ${e.id}`);
        } else if (o.sid !== undefined && e.id !== o.sid) say(`append ${o.t} with id ${o.sid} stored with id ${e.id}`);
        if (o.op === 'cond') {
          if (o.v !== o.exp + 1 + o.i) say(`conditional batch event ${o.t} (${o.i} of ${o.n}, expected ${o.exp}) got version ${o.v}`);
          const callId = `${o.t.split('.')[0]}:${o.call}`;
          const c = condCalls.get(callId) ?? [];
          c.push(o);
          condCalls.set(callId, c);
        }
        break;
      case 'dup': {
        count.dup++;
        if (e !== undefined) say(`append ${o.t} answered duplicate but is stored at ${e.partition}:${e.position}`);
        const first = byPos.get(`${o.p}:${o.pos}`);
        if (first === undefined) say(`duplicate ${o.t} names ${o.p}:${o.pos}, where nothing was stored`);
        else if (first.id !== o.sid || first.key !== o.key || first.version !== o.v) {
          say(`duplicate ${o.t} (id ${o.sid}, key ${o.key}) names ${o.p}:${o.pos} v${o.v}, which holds id ${first.id} key ${first.key} v${first.version}`);
        }
        break;
      }
      case 'true':
        count.true++;
        told.add(o.t);
        if (e === undefined) count.lostTry++;
        break;
      case 'hang':
        count.hang++;
        say(`append ${o.t} did not settle within the bound`);
        break;
      default:
        // rej, false, throw: nothing stored
        count.rejected++;
        count.codes[o.code ?? o.st] = (count.codes[o.code ?? o.st] ?? 0) + 1;
        if (o.code === 'RS_ERR_CONFLICT') count.conflict++;
        if (e !== undefined) say(`append ${o.t} (${o.op}) was rejected (${o.code ?? o.st}) but is stored at ${e.partition}:${e.position}`);
        if (o.code !== undefined && !String(o.code).startsWith('RS_ERR_')) say(`append ${o.t} rejected without a code: ${o.code}`);
    }
  }
  for (const list of condCalls.values()) {
    list.sort((a, b) => a.i - b.i);
    if (list.length !== list[0].n) say(`conditional batch call ${list[0].call}: ${list.length} of ${list[0].n} events resolved`);
    for (let i = 1; i < list.length; i++) {
      if (list[i].p !== list[0].p || list[i].pos !== list[i - 1].pos + 1) say(`conditional batch call ${list[0].call} is not contiguous`);
    }
  }
  for (const t of byTag.keys()) if (!told.has(t)) say(`event ${t} is stored but no append of it resolved`);

  // Versions per key, in position order: +1 each, or back to 1 when the key was forgotten. The holes count
  // too: a resolved append in a hole says its version; an accepted tryAppend in one does not (its key is known).
  const byKey = new Map();
  const add = (key, e) => byKey.set(key, (byKey.get(key) ?? []).concat(e));
  for (const e of byTag.values()) if (e.key !== '') add(e.key, e);
  const knownHole = new Set();
  const lostTries = new Map();
  for (const o of outcomes) {
    if (byTag.has(o.t) || o.key === '') continue;
    if (o.st === 'ok' && hole.has(`${o.p}:${o.pos}`)) {
      knownHole.add(`${o.p}:${o.pos}`);
      add(o.key, { partition: o.p, position: o.pos, version: o.v });
    } else if (o.st === 'true') lostTries.set(o.key, (lostTries.get(o.key) ?? 0) + 1);
  }
  for (const [key, list] of byKey) {
    list.sort((a, b) => a.position - b.position);
    for (let i = 1; i < list.length; i++) {
      const v = list[i].version;
      // Holes no resolved append explains may hide as many events of this key as it has lost tryAppends:
      // the version may skip that many, or start again at 1 (forgotten) in one of them and go on from there.
      let unknown = 0;
      for (let pos = list[i - 1].position + 1; pos < list[i].position; pos++) {
        const at = `${list[i].partition}:${pos}`;
        if (hole.has(at) && !knownHole.has(at)) unknown++;
      }
      const hidden = Math.min(unknown, lostTries.get(key) ?? 0);
      const step = v - list[i - 1].version;
      if (v !== 1 && (step < 1 || step > 1 + hidden) && v > 1 + hidden) say(`key ${key}: version ${list[i - 1].version} at ${list[i - 1].position} then ${v} at ${list[i].position}`);
    }
    if (list[0].version < 1) say(`key ${key}: version ${list[0].version}`);
  }

  // Accounting.
  const s = stats;
  const eq = (what, a, b) => a !== b && say(`accounting: ${what}: ${a} != ${b}`);
  eq('appended vs live + discarded + rejected + purged', s.appended, s.live + s.discarded + s.rejected + s.purged);
  eq('rejected vs duplicates + conflicts', s.rejected, s.duplicates + s.conflicts);
  eq('live vs events in the snapshot', s.live, live.length);
  eq('stored + unreported evictions vs resolved + accepted tryAppends', stored.length + holes, count.ok + count.true);
  // A tryAppend has no position to check: the ones not stored must be among the unreported evictions.
  if (count.unreported + count.lostTry > holes) say(`${count.lostTry} accepted tryAppends and ${count.unreported} resolved appends are not stored, but only ${holes} evictions went unreported`);
  eq('duplicates vs duplicate answers', s.duplicates, count.dup);
  eq('conflicts vs conflict rejections', s.conflicts, count.conflict);
  for (const p of s.partitions) if (p.live > capacityPerPartition) say(`partition ${p.partition} holds ${p.live} > capacity ${capacityPerPartition}`);
  return { problems, count };
}
