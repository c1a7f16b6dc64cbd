// The ring-store applier (src/server/replication/applier.ts) must never stop applying while messages it
// received wait, nor stop following while its log holds more: a daemon that does answers every write it
// takes with 503 RS_ERR_REPLICATION ("JetStream stored the append but this daemon has not applied it")
// until it is restarted. Stand-in log, store and stream info.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Applier } from '../../dist/src/server/replication/applier.js';
import { FakeLog, type FakeMsg } from './fake-jetstream-log.js';

const enc = new TextEncoder();
const msg = (seq: number, id: string): FakeMsg => ({
  seq, subject: 'ringstore.ring.streams', data: enc.encode(JSON.stringify({ k: 'append', r: [{ seq }] })), headers: { get: (k: string) => (k === 'Nats-Msg-Id' ? id : '') },
});
const logger = pino({ level: 'silent' });
const result = (i: number): { id: string; partition: number; position: number; version: number; duplicate: boolean } => ({ id: `e${i}`, partition: 0, position: i, version: i, duplicate: false });
const ticks = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await Promise.resolve();
};
/** Whether `p` settles within `ms` (a liveness bound, not a timing claim). */
const within = async (p: Promise<unknown>, ms: number): Promise<boolean> => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const ok = await Promise.race([p.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)))]);
  clearTimeout(timer);
  return ok;
};

describe('applier liveness (stand-in log and store)', () => {
  it('a message received just as the drain finishes is applied (no lost wake-up), whatever the interleaving', async () => {
    const stuck: string[] = [];
    // The store answers the call for message 1 and message 2 arrives `k` microtasks from now, each first
    // for a tie: some of these land message 2 between the drain's last look at its queue and the drain
    // being marked finished (before the fix: k = 0..12, both orders).
    for (let k = 0; k <= 12; k++) {
      for (const answerFirst of [true, false]) {
        const log = new FakeLog();
        let answer!: () => void;
        const calls: number[] = [];
        const store = {
          append: (records: { seq: number }[]) => {
            calls.push(records[0]!.seq);
            if (calls.length > 1) return Promise.resolve(records.map((_, i) => result(i)));
            return new Promise((r) => (answer = () => r(records.map((_, i) => result(i)))));
          },
        };
        const jsm = { streams: { info: async () => ({ state: { last_seq: log.msgs.length, messages: log.msgs.length } }) } };
        const applier = new Applier({ js: log.js(), jsm, stream: 'S', store, logger, onApplied: () => undefined, onGap: () => undefined } as never);
        applier.start();
        log.push(msg(1, 'm1'));
        await log.taken(1);
        while (calls.length === 0) await ticks(1);
        const doAnswer = async (): Promise<void> => {
          await ticks(k);
          answer();
        };
        const doPush = async (): Promise<void> => {
          await ticks(k);
          log.push(msg(2, 'm2'));
        };
        await (answerFirst ? Promise.all([doAnswer(), doPush()]) : Promise.all([doPush(), doAnswer()]));
        // Well under the stall watchdog's period (3 s): applied by the drain, not rescued later.
        if (!(await within(applier.reached(2), 300))) stuck.push(`k=${k} ${answerFirst ? 'answer' : 'message'} first`);
        await applier.close();
      }
    }
    expect(stuck).toEqual([]);
  });

  // A consumer that stops delivering without ending, while its log takes more messages: the watchdog must
  // start a new one, whatever the stream's info requests do meanwhile (an election, a reconnect).
  const stalledConsumer = async (info: (call: number) => Promise<unknown>): Promise<{ applied: boolean; opened: number }> => {
    const log = new FakeLog();
    let calls = 0;
    const jsm = { streams: { info: () => info(++calls).then(() => ({ state: { last_seq: log.msgs.length, messages: log.msgs.length } })) } };
    const store = { append: async (records: unknown[]) => records.map((_, i) => result(i)) };
    const applier = new Applier({ js: log.js(), jsm, stream: 'S', store, logger, stallMs: 200, onApplied: () => undefined, onGap: () => undefined } as never);
    applier.start();
    log.push(msg(1, 'm1'));
    await applier.reached(1);
    log.stall();
    log.push(msg(2, 'm2'));
    // 50 stall periods of the fixed applier; the applier before it (3 s periods) had more than 3.
    const applied = await within(applier.reached(2), 10_000);
    await applier.close();
    return { applied, opened: log.opened };
  };

  it('a stalled consumer is replaced although one stream info request never settled', async () => {
    // The first request hangs for good (before the fix the watchdog awaited it forever and never looked again).
    const r = await stalledConsumer((call) => (call === 1 ? new Promise(() => undefined) : Promise.resolve()));
    expect(r).toEqual({ applied: true, opened: 2 });
  });

  it('a stalled consumer is replaced although the stream\'s info cannot be had at all', async () => {
    // Every request fails (before the fix the watchdog only ever re-followed on an answer showing more messages).
    const r = await stalledConsumer(() => Promise.reject(new Error('timeout')));
    expect(r.applied).toBe(true);
    expect(r.opened).toBeGreaterThanOrEqual(2);
  });

  it('a consumer creation that never answers (placed on a killed node) does not keep the daemon from following', async () => {
    const log = new FakeLog();
    const jsm = { streams: { info: async () => ({ state: { last_seq: log.msgs.length, messages: log.msgs.length } }) } };
    const store = { append: async (records: unknown[]) => records.map((_, i) => result(i)) };
    const applier = new Applier({ js: log.js(), jsm, stream: 'S', store, logger, stallMs: 200, onApplied: () => undefined, onGap: () => undefined } as never);
    // The client times such a creation out after 5 s; before the fix the daemon waited for it, then tried again.
    log.hangGets(1);
    log.push(msg(1, 'm1'));
    applier.start();
    const applied = await within(applier.reached(1), 2_000);
    await applier.close();
    expect(applied).toBe(true);
    expect(log.opened).toBe(1);
  });
});
