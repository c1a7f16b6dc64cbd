// Regressions found by the streams model test (test/model/streams.model.test.ts),
// each reduced to a deterministic case.
import { expect, it } from 'vitest';
import { ManualClock, StreamStoreProvider, type KeyValueBackend } from '../../dist/src/streams/index.js';
import { code, describeBackends, rejection } from './helpers.js';

/** Session `a` of `provider` (lease 100 ms) and `b` of a second provider whose clock is 200 ms ahead, which took the stream over. */
async function takenOver(m: { backend: KeyValueBackend; provider: StreamStoreProvider }, stream: string) {
  const laterClock = new ManualClock();
  const other = new StreamStoreProvider({ clock: laterClock, backend: m.backend });
  const a = await m.provider.open(stream, { sessionTimeoutMs: 100 });
  laterClock.advance(200);
  const b = await other.open(stream, { sessionTimeoutMs: 100, openTimeoutMs: 0 });
  return { a, b, other };
}

describeBackends('model finding: an empty append by a session whose lease was taken over', ({ manual }) => {
  // Shrunk by the model: skew(provider 1 +100 ms), open(slot 1, provider 0, 100 ms),
  // open(slot 0, provider 1) (a takeover), append(slot 1, [], expected right).
  // A session whose (lagging) clock says its lease is live, but which another session took
  // over, answered an empty append, conditional or not, with its stale head: a conditional
  // empty append "the stream is at 0" succeeded while the stream was at 1. docs/streams.md:
  // such a session gets InvalidStoreSessionError, and a version is reported only once the
  // stored lease proves the session's view current.
  // Both layouts of the memory backend: native logs, and key-value records (other kinds ignore the option).
  for (const nativeStreams of [true, false]) {
    it(`rejects with RS_ERR_STORE_INVALID_SESSION (nativeStreams: ${nativeStreams})`, async () => {
      const { a, b, other } = await takenOver(manual({}, { nativeStreams }), 'Empty/1');
      try {
        await b.append([{ type: 'T', data: 'b' }]);
        expect(await code(a.append([], { expectedVersion: 0 }))).toBe('RS_ERR_STORE_INVALID_SESSION');
        expect(await code(a.append([]))).toBe('RS_ERR_STORE_INVALID_SESSION');
        // The owner's empty append answers the head.
        expect(await b.append([], { expectedVersion: 1 })).toBe(1);
        await b.close();
      } finally {
        await other.close();
      }
    });
  }
}, ['memory', 'lmdb', 'nats']);

describeBackends('model finding: snapshot writes that find nothing to do, by a session whose lease was taken over', ({ manual }) => {
  // Shrunk by the model: open(slot 2, provider 0, 100 ms), takeover(slot 2 by provider 1),
  // snapshotEvery(slot 2, 1) resolved [] (from the session's stale head), and
  // clearSnapshot(slot 1, 1) of a version with no snapshot rejected with
  // RS_ERR_STREAM_SNAPSHOT_VERSION_NOT_FOUND: both writes answered for a session that had lost
  // the stream. docs/streams.md: such a session gets InvalidStoreSessionError.
  it('rejects with RS_ERR_STORE_INVALID_SESSION', async () => {
    const m = manual();
    const { a, b, other } = await takenOver(m, 'Snap/1');
    try {
      await b.append([{ type: 'T', data: 1 }]);
      expect(await code(a.snapshotEvery(1, (_s, evs) => evs.length))).toBe('RS_ERR_STORE_INVALID_SESSION');
      expect(await code(a.clearSnapshot(1))).toBe('RS_ERR_STORE_INVALID_SESSION');
      // The owner gets the answers.
      expect(await code(b.clearSnapshot(1))).toBe('RS_ERR_STREAM_SNAPSHOT_VERSION_NOT_FOUND');
      expect(await b.snapshotEvery(1, (_s, evs) => evs.length)).toEqual([1]);
      expect(await b.snapshotEvery(1, (_s, evs) => evs.length)).toEqual([]);
      await b.close();
    } finally {
      await other.close();
    }
  });
}, ['memory', 'lmdb', 'nats']);

describeBackends('model finding: a write by a session whose lease was taken over and then released', ({ manual }) => {
  // Shrunk by the model: open(slot 2, provider 0, 100 ms), takeover(slot 2 by provider 1 into
  // slot 0), close(slot 0), append(slot 2, [a]) rejected with RS_ERR_STORE_NOT_OPEN, which
  // docs/streams.md gives for "any session operation after close()": this session was never
  // closed; another session took its lease over (and has released it since).
  it('rejects with RS_ERR_STORE_INVALID_SESSION, no session holding the stream now', async () => {
    const m = manual();
    const { a, b, other } = await takenOver(m, 'Released/1');
    try {
      await b.close();
      const err = await rejection<{ activeSessionId?: string }>(a.append([{ id: 'a', type: 'T', data: 1 }]));
      expect(err.code).toBe('RS_ERR_STORE_INVALID_SESSION');
      expect(err.activeSessionId).toBeUndefined();
      expect(await code(a.renew())).toBe('RS_ERR_STORE_INVALID_SESSION');
      expect(await code(a.snapshot(1, {}))).toBe('RS_ERR_STORE_INVALID_SESSION');
      expect(await code(a.clearSnapshots())).toBe('RS_ERR_STORE_INVALID_SESSION');
      expect(await a.close()).toBeUndefined();
      expect(await code(a.version())).toBe('RS_ERR_STORE_NOT_OPEN');
    } finally {
      await other.close();
    }
  });
}, ['memory', 'lmdb', 'nats']);

describeBackends('model finding: an append of an id the store generated, by a session whose lease was taken over', ({ manual }) => {
  // On the key-value layout (lmdb, nats, memory with nativeStreams: false) an id given by the
  // caller that has the shape of a ULID is looked up in the generated-id index before the
  // batch, and a hit was reported as DuplicateIdempotencyIdError before the batch's lease fence
  // could refuse the write: a session that had lost the stream got an answer about it.
  // (The native log checks its fence first.)
  it('rejects with RS_ERR_STORE_INVALID_SESSION', async () => {
    const m = manual({}, { nativeStreams: false });
    const { a, b, other } = await takenOver(m, 'Gen/1');
    try {
      await b.append([{ type: 'T', data: 1 }, { type: 'T', data: 2 }]);
      const generated = (await a.read()).events[1]!.id; // reads are not fenced
      expect(await code(a.append([{ id: generated, type: 'T', data: 3 }]))).toBe('RS_ERR_STORE_INVALID_SESSION');
      // The owner gets the duplicate.
      expect(await code(b.append([{ id: generated, type: 'T', data: 3 }]))).toBe('RS_ERR_STREAM_DUPLICATE_IDEMPOTENCY_ID');
      await b.close();
    } finally {
      await other.close();
    }
  });
}, ['memory', 'lmdb', 'nats']);
