// Regressions found by the streams model test (test/model/streams.model.test.ts),
// each reduced to a deterministic case.
import { describe, expect, it } from 'vitest';
import { ManualClock, StreamStoreProvider } from '../../dist/src/streams/index.js';
import { code, describeBackends, manual as memoryManual } from './helpers.js';

describeBackends('model finding: an empty append by a session whose lease was taken over', ({ manual }) => {
  // Shrunk by the model: skew(provider 1 +100 ms), open(slot 1, provider 0, 100 ms),
  // open(slot 0, provider 1) (a takeover), append(slot 1, [], expected right).
  // A session whose (lagging) clock says its lease is live, but which another session took
  // over, answered an empty append, conditional or not, with its stale head: a conditional
  // empty append "the stream is at 0" succeeded while the stream was at 1. docs/streams.md:
  // such a session gets InvalidStoreSessionError, and a version is reported only once the
  // stored lease proves the session's view current.
  it('rejects with RS_ERR_STORE_INVALID_SESSION', async () => {
    const { backend, provider } = manual();
    const laterClock = new ManualClock();
    const other = new StreamStoreProvider({ clock: laterClock, backend });
    try {
      const a = await provider.open('Empty/1', { sessionTimeoutMs: 100 });
      laterClock.advance(200); // another process, whose clock is ahead: A's lease has expired there
      const b = await other.open('Empty/1', { sessionTimeoutMs: 100, openTimeoutMs: 0 });
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
}, ['memory', 'lmdb', 'nats']);

describe('model finding: an empty append by a taken-over session, key-value layout of the memory backend', () => {
  it('rejects with RS_ERR_STORE_INVALID_SESSION', async () => {
    const { backend, provider } = memoryManual({}, { nativeStreams: false });
    const laterClock = new ManualClock();
    const other = new StreamStoreProvider({ clock: laterClock, backend });
    try {
      const a = await provider.open('Empty/2', { sessionTimeoutMs: 100 });
      laterClock.advance(200);
      const b = await other.open('Empty/2', { sessionTimeoutMs: 100, openTimeoutMs: 0 });
      await b.append([{ type: 'T', data: 'b' }]);
      expect(await code(a.append([], { expectedVersion: 0 }))).toBe('RS_ERR_STORE_INVALID_SESSION');
      await b.close();
    } finally {
      await other.close();
      await provider.close();
    }
  });
});
