// Flags, environment, --help, and the error table kept in sync with docs/daemon.md.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULTS, HttpErrorCodes, parseConfig } from '../../dist/src/server/index.js';
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
    ];
    for (const [argv, env, msg] of bad) expect(() => parseConfig(argv, env)).toThrow(msg);
    expect(() => parseConfig(['--nope'], {})).toThrow(ConfigError);
    expect(parseConfig(['--help'], {})).toBe('help');
  });

  it('ringstore serve --help lists every flag and variable; bad flags exit 2', () => {
    const out = execFileSync(process.execPath, [MAIN, 'serve', '--help'], { encoding: 'utf8' });
    for (const s of ['--host', '--port', '--partitions', '--capacity', '--arena-bytes', '--log-level', '--data-dir', '--token', 'RINGSTORE_TOKEN', 'SIGTERM']) expect(out).toContain(s);
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
