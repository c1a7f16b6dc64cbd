// Flags, environment, --help, and the error table kept in sync with docs/daemon.md.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULTS, HttpErrorCodes, defaultMaxConnections, parseConfig, resolveConfig } from '../../dist/src/server/index.js';
import { MAIN } from './process.js';

describe('configuration', () => {
  it('embedded defaults: loopback 7070, partitions = cores, in memory, no token', () => {
    const c = parseConfig([], {});
    expect(c).toMatchObject({ host: '127.0.0.1', port: 7070, partitions: os.availableParallelism(), dataDir: undefined, token: undefined, logLevel: 'info', bodyLimit: DEFAULTS.bodyLimit });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('flags override environment variables', () => {
    const env = { RINGSTORE_PORT: '8080', RINGSTORE_HOST: '0.0.0.0', RINGSTORE_TOKEN: 'from-env-token', RINGSTORE_PARTITIONS: '3', RINGSTORE_CAPACITY: '300', RINGSTORE_ARENA_BYTES: '1048576', RINGSTORE_LOG_LEVEL: 'warn', RINGSTORE_DATA_DIR: '/tmp/x' };
    expect(parseConfig([], env)).toMatchObject({ port: 8080, host: '0.0.0.0', token: 'from-env-token', partitions: 3, capacity: 300, arenaBytes: 1048576, logLevel: 'warn', dataDir: '/tmp/x' });
    expect(parseConfig(['--port', '9090', '--log-level=error'], env)).toMatchObject({ port: 9090, logLevel: 'error' });
  });

  it('rejects bad values with the flag or variable name', () => {
    const bad: [string[], Record<string, string>, RegExp][] = [
      [['--port', '70000'], {}, /--port/],
      [['--port'], {}, /needs a value/],
      [['--partitions', '0'], {}, /--partitions/],
      [['--nope'], {}, /unknown option/],
      [[], { RINGSTORE_PORT: 'abc' }, /RINGSTORE_PORT/],
      [['--log-level', 'loud'], {}, /log level/],
      [['--token', 'short'], {}, /at least 8/],
      [['--capacity', '1', '--partitions', '2'], {}, /capacity/],
      // The range, not "must be an integer", for an integer out of it.
      [['--port', '-1'], {}, /^--port must be an integer between 0 and 65535, got "-1"$/],
      [['--port', '1.5'], {}, /^--port must be an integer between 0 and 65535, got "1.5"$/],
    ];
    for (const [argv, env, msg] of bad) expect(() => parseConfig(argv, env)).toThrow(msg);
    expect(() => parseConfig(['--nope'], {})).toThrow(ConfigError);
    expect(parseConfig(['--help'], {})).toBe('help');
  });

  it('resolveConfig (the programmatic config) refuses a misspelt key: { tokn } would have served with no token', () => {
    expect(() => resolveConfig({ tokn: 'secret-token' } as never)).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_OPTION', message: expect.stringMatching(/"tokn" is not a config option/) }));
    expect(() => resolveConfig(null as never)).toThrow(ConfigError);
    expect(resolveConfig({ token: 'secret-token', port: 0 }).token).toBe('secret-token');
    expect(() => resolveConfig({ ...resolveConfig({ port: 0 }) })).not.toThrow(); // a full config goes round again
  });

  it('resolveConfig takes the bounds of the flags: startServer({ port: -1 }) threw from listen, { maxBatch: 0 } refused every batch', () => {
    const bad: Record<string, unknown>[] = [
      { port: -1 }, { port: 65_536 }, { port: 1.5 }, { port: '7070' }, { partitions: 0 }, { capacity: 2 ** 28 + 1 }, { arenaBytes: 63 },
      { bodyLimit: 1e12 }, { maxBatch: 0 }, { shutdownTimeoutMs: -1 }, { subscribePollMs: 0 }, { idleTimeoutMs: Number.NaN },
      { maxConnections: 0 }, { lingerMs: 60_001 }, { host: '' }, { host: 7 }, { token: 12_345_678 },
    ];
    for (const partial of bad) {
      expect(() => resolveConfig({ port: 0, ...partial } as never), JSON.stringify(partial)).toThrow(expect.objectContaining({ code: 'RS_ERR_INVALID_OPTION' }));
    }
    expect(resolveConfig({ port: 65_535, maxBatch: 1, lingerMs: 0, host: '::1' })).toMatchObject({ port: 65_535, maxBatch: 1, lingerMs: 0, host: '::1' });
  });

  it('timeouts, the connection cap and the read token: flags, variables, defaults and cross-checks', () => {
    const env = { RINGSTORE_HEADERS_TIMEOUT_MS: '2000', RINGSTORE_BODY_TIMEOUT_MS: '5000', RINGSTORE_IDLE_TIMEOUT_MS: '9000', RINGSTORE_MAX_CONNECTIONS: '300', RINGSTORE_LINGER_TIMEOUT_MS: '0', RINGSTORE_TOKEN: 'write-token-1', RINGSTORE_READ_TOKEN: 'read-token-1' };
    expect(parseConfig([], env)).toMatchObject({ headersTimeoutMs: 2000, bodyTimeoutMs: 5000, idleTimeoutMs: 9000, maxConnections: 300, lingerMs: 0, readToken: 'read-token-1' });
    expect(parseConfig(['--body-timeout', '20000', '--max-connections=50'], env)).toMatchObject({ bodyTimeoutMs: 20000, maxConnections: 50 });
    expect(parseConfig([], {})).toMatchObject({ headersTimeoutMs: 10_000, bodyTimeoutMs: 30_000, idleTimeoutMs: 72_000, lingerMs: 5_000, readToken: undefined });
    // a headers timeout above the default body timeout raises the body timeout with it
    expect(parseConfig(['--headers-timeout', '45000'], {})).toMatchObject({ headersTimeoutMs: 45_000, bodyTimeoutMs: 45_000 });
    const bad: [string[], RegExp][] = [
      [['--headers-timeout', '5000', '--body-timeout', '1000'], /must not exceed the body timeout/],
      [['--headers-timeout', '99'], /--headers-timeout/],
      [['--body-timeout', '0'], /--body-timeout/],
      [['--max-connections', '0'], /--max-connections/],
      [['--read-token', 'reader-token'], /needs --token/],
    ];
    for (const [argv, msg] of bad) expect(() => parseConfig(argv, {})).toThrow(msg);
  });

  it('shared checkpoints under --nats: every (below the capacity, 0 = none) and min ms', () => {
    expect(parseConfig([], {})).toMatchObject({ natsCheckpointEvery: undefined, natsCheckpointMinMs: 5_000 });
    expect(parseConfig(['--capacity', '100', '--partitions', '2', '--nats-checkpoint-every', '99'], { RINGSTORE_NATS_CHECKPOINT_MIN_MS: '0' })).toMatchObject({ natsCheckpointEvery: 99, natsCheckpointMinMs: 0 });
    expect(parseConfig(['--nats-checkpoint-every', '0'], {})).toMatchObject({ natsCheckpointEvery: 0 });
    expect(() => parseConfig(['--capacity', '100', '--partitions', '2', '--nats-checkpoint-every', '100'], {})).toThrow(/^--nats-checkpoint-every \(100\) must be below the capacity \(100\)/);
    expect(() => parseConfig(['--nats-checkpoint-every', '-1'], {})).toThrow(/--nats-checkpoint-every/);
    expect(() => parseConfig(['--nats-checkpoint-min-ms', 'x'], {})).toThrow(/--nats-checkpoint-min-ms/);
  });

  it('the default connection cap stays below the open-files limit', () => {
    const dir = mkdtempSync(join(os.tmpdir(), 'rs-limits-'));
    const limits = (soft: number): string => {
      const f = join(dir, `limits-${soft}`);
      writeFileSync(f, `Limit                     Soft Limit           Hard Limit           Units\nMax open files            ${soft}                 1048576              files\n`);
      return f;
    };
    try {
      expect(defaultMaxConnections(limits(1024))).toBe(1024 - 256);
      expect(defaultMaxConnections(limits(1_048_576))).toBe(DEFAULTS.maxConnections);
      expect(defaultMaxConnections(limits(100))).toBe(16);
      expect(defaultMaxConnections(join(dir, 'absent'))).toBe(DEFAULTS.maxConnections);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ringstore serve --help lists every flag and variable; bad flags exit 2', () => {
    const out = execFileSync(process.execPath, [MAIN, 'serve', '--help'], { encoding: 'utf8' });
    for (const s of ['--host', '--port', '--partitions', '--capacity', '--arena-bytes', '--log-level', '--data-dir', '--token', 'RINGSTORE_TOKEN', 'SIGTERM',
      '--read-token', 'RINGSTORE_READ_TOKEN', '--headers-timeout', 'RINGSTORE_HEADERS_TIMEOUT_MS', '--body-timeout', 'RINGSTORE_BODY_TIMEOUT_MS',
      '--idle-timeout', 'RINGSTORE_IDLE_TIMEOUT_MS', '--max-connections', 'RINGSTORE_MAX_CONNECTIONS', '--linger-timeout', 'RINGSTORE_LINGER_TIMEOUT_MS']) expect(out).toContain(s);
    const r = spawnSync(process.execPath, [MAIN, 'serve', '--port', 'x'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--port must be an integer/);
  });
});

describe('docs/daemon.md', () => {
  const doc = readFileSync(new URL('../../docs/daemon.md', import.meta.url), 'utf8');
  it('lists every error code with its status, and nothing else', () => {
    const rows = [...doc.matchAll(/^\| `(RS_ERR_[A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]);
    const table = Object.entries(HttpErrorCodes).map(([code, v]) => [code, v.status]);
    expect(rows.sort()).toEqual(table.sort());
  });
});
