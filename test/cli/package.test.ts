// The package as a user gets it: `npm pack` from a clean checkout (the
// `prepare` build ships the code), installed into a new project with only the
// embedded store's dependencies, then with the daemon's optional peers.
import { execFileSync, spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const VERSION = (JSON.parse(execFileSync('npm', ['pkg', 'get', 'version'], { cwd: ROOT, encoding: 'utf8' })) as string);
const DAEMON_PEERS = ['fastify', '@fastify/swagger', 'prom-client', 'lmdb', 'piscina'];
const tmp = mkdtempSync(path.join(tmpdir(), 'rs-package-'));
const checkout = path.join(tmp, 'checkout');
const app = path.join(tmp, 'app');
let tarball = '';
let packed: string[] = [];

// Installs from the npm cache when it can (the repository's `npm ci` filled it).
const NPM_INSTALL = ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'];

function run(cmd: string, args: string[], cwd = app): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 180_000, env: { ...process.env, npm_config_update_notifier: 'false' } });
}
/** The installed bin (`npx ringstore` runs the same file; npx itself costs a second or two per call). */
const ringstore = (...args: string[]): SpawnSyncReturns<string> => run(path.join(app, 'node_modules/.bin/ringstore'), args);
const installed = (name: string): boolean => existsSync(path.join(app, 'node_modules', name, 'package.json'));

beforeAll(() => {
  // A clean checkout: the tracked and new files of this working tree, no dist/; node_modules shared for the build.
  mkdirSync(checkout);
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter((f) => f !== '' && existsSync(path.join(ROOT, f)));
  for (const f of files) cpSync(path.join(ROOT, f), path.join(checkout, f), { recursive: true });
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(checkout, 'node_modules'));
  expect(existsSync(path.join(checkout, 'dist'))).toBe(false);
  const pack = run('npm', ['pack', '--json', '--pack-destination', tmp], checkout);
  expect(pack.status, pack.stderr).toBe(0);
  const [info] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as [{ filename: string; files: { path: string }[] }];
  tarball = path.join(tmp, info.filename);
  packed = info.files.map((f) => f.path);
  mkdirSync(app);
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'embedder', version: '1.0.0', type: 'module', private: true }));
  const install = run('npm', [...NPM_INSTALL, tarball]);
  expect(install.status, install.stderr).toBe(0);
}, 240_000);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('npm pack from a clean checkout', () => {
  it('ships the built code (prepare builds it), the CLI and the docs, not the tests or sources', () => {
    for (const f of ['dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/main.js', 'dist/workers/partition.js', 'dist/src/client/index.js', 'dist/bench/harness/bench-cli.js', 'README.md', 'docs/daemon.md']) {
      expect(packed, f).toContain(f);
    }
    // The dashboard's static files are the only sources shipped: the daemon serves them as they are.
    expect(packed.filter((f) => f.startsWith('test/') || (f.startsWith('src/') && !f.startsWith('src/server/dashboard/public/')) || f.endsWith('.test.js'))).toEqual([]);
  });
});

describe('installed without the optional peers (embedding the store)', () => {
  it('installs none of the daemon\'s or the bench\'s packages', () => {
    for (const p of [...DAEMON_PEERS, '@event-driven-io/emmett', 'ioredis', 'autocannon', 'clinic']) expect(installed(p), p).toBe(false);
    expect(installed('ringstore') && installed('pino') && installed('comlink')).toBe(true);
  });

  it("import { EventStore } from 'ringstore' works and the script exits", () => {
    writeFileSync(path.join(app, 'embed.mjs'), `
      import { EventStore, MetricStore } from 'ringstore';
      import { RingstoreClient } from 'ringstore/client';
      const store = EventStore.create({ partitions: 2, capacity: 1024, key: 'k', values: { n: 'n' } });
      for (let i = 0; i < 10; i++) await store.append({ k: 'k' + (i % 3), n: i });
      console.log(await store.count(), await store.sum('n'), typeof MetricStore.create, typeof RingstoreClient);
      await store.close();
    `);
    const r = run(process.execPath, ['embed.mjs']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('10 45 function function');
  });

  it('the CLI answers --version, help, demo, and bench and profile --help', () => {
    expect(run('npx', ['--no', '--', 'ringstore', '--version']).stdout).toBe(`${VERSION}\n`);
    expect(ringstore('-v').stdout).toBe(`${VERSION}\n`);
    for (const [args, usage] of [[['bench', '--help'], 'usage: ringstore bench'], [['profile', '--help'], 'usage: ringstore profile'], [['serve', '--help'], 'usage: ringstore serve'], [['demo', '--help'], 'usage: ringstore demo']] as const) {
      const r = ringstore(...args);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toContain(usage);
    }
    const demo = ringstore('demo', '--seconds', '0.2');
    expect(demo.status, demo.stderr).toBe(0);
    expect(demo.stdout).toMatch(/^ringstore demo: /);
  });

  it('ringstore bench runs, with the cases whose packages are missing skipped and named', () => {
    const r = ringstore('bench', 'append', '--rounds', '1', '--warmup', '0', '--events', '1000', '--capacity', '4096', '--no-write', '--quiet');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\| subject \| ringstore tryAppend, main thread, 1 partition \| [\d.]+k? events\/s/);
    expect(r.stdout).toContain('skipped: not installed: piscina (npm install -D piscina)');
    expect(r.stdout).toContain('skipped: not installed: @event-driven-io/emmett');
  });

  it('ringstore serve names the packages to install; ringstore/server fails naming one', () => {
    const r = ringstore('serve', '--port', '0');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('the daemon needs packages that are not installed: fastify, @fastify/swagger, prom-client, lmdb, piscina');
    expect(r.stderr).toMatch(/npm install fastify@\^[\d.]+ @fastify\/swagger@\^[\d.]+ prom-client@\^[\d.]+ lmdb@\^[\d.]+ piscina@\^[\d.]+/);
    const server = run(process.execPath, ['--input-type=module', '-e', "await import('ringstore/server')"]);
    expect(server.status).not.toBe(0);
    expect(server.stderr).toMatch(/Cannot find package '(@fastify\/swagger|fastify|prom-client|lmdb)'/);
  });
});

describe('installed with the daemon\'s packages', () => {
  beforeAll(() => {
    const hint = ringstore('serve').stderr.match(/npm install (.+)$/m)![1].split(' ');
    const r = run('npm', [...NPM_INSTALL, ...hint, 'typescript']);
    expect(r.status, r.stderr).toBe(0);
  }, 240_000);

  it('ringstore serve starts and stops on SIGTERM', async () => {
    const child = spawn(path.join(app, 'node_modules/.bin/ringstore'), ['serve', '--port', '0', '--log-level', 'info'], { cwd: app, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const t0 = Date.now();
    let url = '';
    while (url === '' && Date.now() - t0 < 30_000 && child.exitCode === null) {
      const line = out.split('\n').find((l) => l.includes('"msg":"listening"'));
      if (line !== undefined) url = (JSON.parse(line) as { url: string }).url;
      else await new Promise((r) => setTimeout(r, 50));
    }
    expect(url, out).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await (await fetch(`${url}/health`)).json()).toBe('OK');
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 60_000);

  it('type-checks a consumer only with @types/node installed, as README says', () => {
    writeFileSync(path.join(app, 'consumer.ts'), `
      import { EventStore, RingstoreError } from 'ringstore';
      import { StreamStoreProvider } from 'ringstore/streams';
      import { RingstoreClient } from 'ringstore/client';
      const store = EventStore.create<{ k: string; n: number }>({ key: 'k', values: { n: 'n' } });
      const total: Promise<number> = store.sum('n');
      export { total, RingstoreError, StreamStoreProvider, RingstoreClient };
    `);
    const compilerOptions = { noEmit: true, strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022' };
    writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['consumer.ts'] }));
    const tsc = (): SpawnSyncReturns<string> => run('npx', ['--no', '--', 'tsc', '-p', 'tsconfig.json']);
    // ringstore's declarations (AsyncDisposable) and pino's (events, worker_threads) use Node's types
    const without = tsc();
    expect(without.status).not.toBe(0);
    expect(without.stdout).toMatch(/node_modules\/ringstore\/dist\/src\/store\/event-store\.d\.ts.*AsyncDisposable/);
    expect(without.stdout).toMatch(/node_modules\/pino\/pino\.d\.ts.*install type definitions for node/);
    expect(run('npm', [...NPM_INSTALL, '@types/node@20']).status).toBe(0);
    const ok = tsc();
    expect(ok.stdout + ok.stderr).toBe('');
    expect(ok.status).toBe(0);
  }, 120_000);
});

describe('the package test itself', () => {
  it('left no daemon running', () => {
    const mine = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        return readlinkSync(`/proc/${p}/cwd`) === app;
      } catch {
        return false;
      }
    });
    expect(mine).toEqual([]);
  });
});
