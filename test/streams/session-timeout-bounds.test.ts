// A session's lease length is at most MAX_SESSION_TIMEOUT_MS (one day), wherever it is given:
// open()'s sessionTimeoutMs, the provider's defaults.sessionTimeoutMs and renew(timeoutMs).
// A bad value throws InvalidStreamOptionError (RS_ERR_INVALID_OPTION). Before the bound, max + 1
// (and any larger safe integer) was accepted everywhere, and renew(0) threw RS_ERR_INVALID_ARGUMENT.
import { describe, expect, it } from 'vitest';
import { InvalidStreamOptionError, MAX_SESSION_TIMEOUT_MS, StreamStoreProvider } from '../../dist/src/streams/index.js';
import { manual } from './helpers.js';

/** One day in ms; the export must say the same. */
const MAX = 86_400_000;

const BAD: [string, unknown][] = [
  ['max + 1', MAX + 1],
  ['0', 0],
  ['-1', -1],
  ['1.5', 1.5],
  ['max - 0.5', MAX - 0.5],
  ['NaN', Number.NaN],
  ['Infinity', Infinity],
  ['-Infinity', -Infinity],
  ['a string', '1000'],
  ['2^53', 2 ** 53],
];

/** The error `fn` throws or rejects with (undefined when it succeeds). */
async function failure(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

async function expectInvalidOption(fn: () => unknown): Promise<void> {
  const err = await failure(fn);
  expect(err).toBeInstanceOf(InvalidStreamOptionError);
  expect((err as InvalidStreamOptionError).code).toBe('RS_ERR_INVALID_OPTION');
}

describe('session timeout bound', () => {
  it('is one day, exported as MAX_SESSION_TIMEOUT_MS', () => {
    expect(MAX_SESSION_TIMEOUT_MS).toBe(MAX);
  });

  describe('open({ sessionTimeoutMs })', () => {
    it.each([
      ['max - 1', MAX - 1],
      ['max', MAX],
      ['1', 1],
    ])('accepts %s: the lease lasts that long', async (_name, ms) => {
      const { clock, provider } = manual();
      const s = await provider.open('Bound/1', { sessionTimeoutMs: ms });
      expect(s.expiresAt).toBe(clock.now() + ms);
      await provider.close();
    });

    it.each(BAD)('rejects %s with RS_ERR_INVALID_OPTION and takes no lease', async (_name, ms) => {
      const { provider } = manual();
      await expectInvalidOption(() => provider.open('Bound/1', { sessionTimeoutMs: ms as number }));
      // The stream is free: nothing was held by the refused open.
      const s = await provider.open('Bound/1', { openTimeoutMs: 0 });
      await s.close();
      await provider.close();
    });
  });

  describe('defaults.sessionTimeoutMs', () => {
    it.each([
      ['max - 1', MAX - 1],
      ['max', MAX],
    ])('accepts %s, and open() uses it', async (_name, ms) => {
      const { clock, provider } = manual({ defaults: { sessionTimeoutMs: ms } });
      expect(provider.defaults.sessionTimeoutMs).toBe(ms);
      const s = await provider.open('Bound/2');
      expect(s.expiresAt).toBe(clock.now() + ms);
      await provider.close();
    });

    it.each(BAD)('rejects %s with RS_ERR_INVALID_OPTION', async (_name, ms) => {
      await expectInvalidOption(() => new StreamStoreProvider({ defaults: { sessionTimeoutMs: ms as number } }));
    });
  });

  describe('renew(timeoutMs)', () => {
    it.each([
      ['max - 1', MAX - 1],
      ['max', MAX],
    ])('accepts %s: the lease is extended to now + %s', async (_name, ms) => {
      const { clock, provider } = manual();
      const s = await provider.open('Bound/3');
      clock.advance(5);
      expect(await s.renew(ms)).toBe(clock.now() + ms);
      expect(s.expiresAt).toBe(clock.now() + ms);
      await provider.close();
    });

    it.each(BAD)('rejects %s with RS_ERR_INVALID_OPTION and leaves the lease as it was', async (_name, ms) => {
      const { provider } = manual();
      const s = await provider.open('Bound/3');
      const before = s.expiresAt;
      await expectInvalidOption(() => s.renew(ms as number));
      expect(s.expiresAt).toBe(before);
      expect(await s.append([{ type: 'E', data: {} }])).toBe(1); // the session is still usable
      await provider.close();
    });
  });
});
