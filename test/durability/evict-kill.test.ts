// onDiscarded across kill -9 of a durable store (docs/durability.md, "Durable ring stores"): every event the
// ring evicted is reported at least once (before the kill, or by the restore's replay after it), and no event
// is reported that the restored store did not evict.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { EventStore, type EventStoreOptions } from '../../dist/src/index.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/durable-evict.mjs', import.meta.url));
/** Reports to wait for before the kill: the ring (64 slots in all) has wrapped several times by then. */
const MIN_REPORTS = 300;

interface Ev {
  k: string;
  n: number;
}
/** One report: partition, position, id, n. */
type Report = [number, number, string, number];
interface Ack {
  n: number;
  id: string;
  p: number;
  pos: number;
}

const roots: string[] = [];
afterAll(() => {
  for (const d of roots) rmSync(d, { recursive: true, force: true });
});

/** Runs the fixture until it has reported MIN_REPORTS evictions and `ms` have passed since it was ready, then SIGKILLs it. */
function runThenKill(dir: string, fsync: string, round: number, ms: number): Promise<{ acks: Ack[]; reports: Report[]; lost: number }> {
  const child = spawn(process.execPath, [FIXTURE, dir, fsync, String(round)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const acks: Ack[] = [];
  const reports: Report[] = [];
  let lost = 0;
  let buf = '';
  let err = '';
  let due = false;
  let killed = false;
  const kill = (): void => {
    if (killed || !due || reports.length < MIN_REPORTS) return;
    killed = true;
    child.kill('SIGKILL');
  };
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  child.stdout.on('data', (c: Buffer) => {
    buf += c.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = JSON.parse(buf.slice(0, nl)) as { ready?: true; d?: Report; lost?: [number, number[]] } & Partial<Ack>;
      buf = buf.slice(nl + 1);
      if (line.ready) setTimeout(() => ((due = true), kill()), ms);
      else if (line.d) reports.push(line.d);
      else if (line.lost) lost += line.lost[1].length;
      else acks.push(line as Ack);
    }
    kill();
  });
  // 'close' comes after stdout is drained: every line the child wrote before the kill is in.
  return new Promise((resolve, reject) => {
    child.on('close', (code, signal) => {
      if (signal === 'SIGKILL' && killed) resolve({ acks, reports, lost });
      else reject(new Error(`the fixture exited with ${signal ?? code} before it was killed: ${err}`));
    });
  });
}

/**
 * Reopens the store (its restore replays the log after its checkpoint: what those drains evicted is reported
 * again) and checks the reports against it: in each partition the restored store holds positions
 * [head, tail), so [1, head) were evicted, each must have been reported, and nothing else.
 */
async function checkReports(dir: string, fsync: 'always' | 'interval', acks: Map<number, Ack>, reports: Report[], lostBefore: number): Promise<number> {
  let lost = lostBefore;
  const options: EventStoreOptions<Ev> = {
    capacity: 64, partitions: 2, key: 'k', values: { n: 'n' }, durability: { dir, fsync },
    onDiscarded: (events) => reports.push(...events.map((e): Report => [e.partition, e.position, e.id, e.payload.n])),
    onDiscardedLost: ({ positions }) => (lost += positions.length),
  };
  const s = await EventStore.open<Ev>(options);
  await s.flush();
  const live = await s.snapshot();
  await s.close();
  expect(lost).toBe(0); // no worker died mid-drain: every eviction is reported whole

  const head = [0, 1].map((p) => Math.min(...live.filter((e) => e.partition === p).map((e) => e.position)));
  expect(live.length).toBe(64); // both partitions full (32 slots each): the ring wrapped
  const byPosition = new Map<string, string>();
  const byN = new Map<number, string>();
  for (const [p, pos, id, n] of reports) {
    const where = `${p}:${pos}`;
    const what = `${id} n=${n}`;
    // Reported, so evicted: below the restored head (an event a lost drain evicted would not be).
    expect(pos, `reported ${what} at ${where}, which the restored store did not evict`).toBeLessThan(head[p]);
    // One event per position, one position per event, and the one that was acknowledged there.
    expect(byPosition.get(where) ?? what, `two events reported at ${where}`).toBe(what);
    expect(byN.get(n) ?? where, `event n=${n} reported at two positions`).toBe(where);
    byPosition.set(where, what);
    byN.set(n, where);
    const a = acks.get(n);
    if (a !== undefined) expect([a.p, a.pos, a.id], `event n=${n}`).toEqual([p, pos, id]);
  }
  for (const p of [0, 1]) {
    const missing: number[] = [];
    for (let pos = 1; pos < head[p]; pos++) if (!byPosition.has(`${p}:${pos}`)) missing.push(pos);
    expect(missing, `partition ${p}: evicted positions never reported`).toEqual([]);
  }
  // Every acknowledged event is reported or still live.
  const liveN = new Set(live.map((e) => e.payload.n));
  for (const n of acks.keys()) expect(byN.has(n) || liveN.has(n), `acknowledged event n=${n} is neither live nor reported`).toBe(true);
  return head[0] + head[1] - 2; // evicted events
}

describe('onDiscarded is at-least-once across kill -9', () => {
  for (const fsync of ['always', 'interval'] as const) {
    it(`fsync ${fsync}: each evicted event is reported at least once, none that was not evicted`, async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'rs-evict-'));
      roots.push(dir);
      const acks = new Map<number, Ack>();
      const reports: Report[] = [];
      let lost = 0;
      // Two killed processes on the same directory: the second restores (and replays) what the first left.
      for (const round of [0, 1]) {
        const r = await runThenKill(dir, fsync, round, 150 + Math.floor(Math.random() * 450));
        for (const a of r.acks) acks.set(a.n, a);
        reports.push(...r.reports);
        lost += r.lost;
      }
      expect(await checkReports(dir, fsync, acks, reports, lost)).toBeGreaterThan(MIN_REPORTS);
    }, 120_000);
  }

  it('a checkpoint does not cover evictions whose onDiscarded call is still pending: a process killed with its event loop blocked', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rs-evict-'));
    roots.push(dir);
    const r = spawnSync(process.execPath, [FIXTURE, dir, 'always', '0', 'block'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.signal, r.stderr).toBe('SIGKILL');
    const reports = r.stdout.split('\n').filter((l) => l.startsWith('{"d"')).map((l) => (JSON.parse(l) as { d: Report }).d);
    expect(await checkReports(dir, 'always', new Map(), reports, 0)).toBe(400 - 64);
  }, 60_000);
});
