// fastify's per-request logger, made lazily: it must log exactly what a pino child with the request id logs.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { requestLoggerFactory } from '../../dist/src/server/request-logger.js';

function capture(level: string) {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({ write(chunk, _enc, cb) { for (const l of String(chunk).trim().split('\n')) lines.push(JSON.parse(l)); cb(); } });
  return { lines, logger: pino({ level, base: { name: 'rs' } }, stream) };
}
const flush = () => new Promise((r) => setImmediate(r));

describe('requestLoggerFactory', () => {
  it('logs what pino.child({ reqId }) logs, at enabled levels only', async () => {
    const lazy = capture('info');
    const eager = capture('info');
    const a = requestLoggerFactory(lazy.logger as never, { reqId: 'r-1' }, {});
    const b = eager.logger.child({ reqId: 'r-1' });
    for (const l of [a, b]) {
      l.debug('hidden');
      l.info({ k: 1 }, 'shown');
      l.error(new Error('boom'));
      l.child({ sub: true }).warn('from a child');
    }
    await flush();
    const strip = (ls: Record<string, unknown>[]) => ls.map(({ time: _t, pid: _p, hostname: _h, err, ...rest }) => ({ ...rest, err: (err as { message?: string } | undefined)?.message }));
    expect(strip(lazy.lines)).toEqual(strip(eager.lines));
    expect(lazy.lines.map((l) => l.reqId)).toEqual(['r-1', 'r-1', 'r-1']);
  });

  it('reports and changes the level, and gives its bindings', async () => {
    const { lines, logger } = capture('warn');
    const l = requestLoggerFactory(logger as never, { reqId: 'r-2' }, {});
    expect(l.level).toBe('warn');
    expect(l.isLevelEnabled('info')).toBe(false);
    l.info('not yet');
    l.level = 'debug';
    expect(l.level).toBe('debug');
    l.debug('now');
    await flush();
    expect(lines.map((x) => [x.msg, x.reqId])).toEqual([['now', 'r-2']]);
    expect(logger.level).toBe('warn'); // the parent is untouched
    expect((l as unknown as { bindings(): object }).bindings()).toMatchObject({ name: 'rs', reqId: 'r-2' });
  });

  it('a route with its own level gets a real child at once', () => {
    const { logger } = capture('warn');
    const l = requestLoggerFactory(logger as never, { reqId: 'r-3' }, { level: 'trace' });
    expect(l.level).toBe('trace');
  });
});
