// `npm start` (README's "npm ci && npm start"): it starts the built daemon
// without rebuilding, and a SIGTERM to the npm process (systemd, containers)
// stops the daemon instead of orphaning it on its port.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const started: number[] = [];

/** Every descendant of `pid` (from ps). */
function descendants(pid: number): number[] {
  const rows = execFileSync('ps', ['-A', '-o', 'pid=,ppid='], { encoding: 'utf8' }).trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number));
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const [child, parent] of rows) {
      if (parent === p) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function refused(url: string): Promise<boolean> {
  try {
    await fetch(`${url}/health`);
    return false;
  } catch {
    return true;
  }
}

afterAll(() => {
  // A daemon the fix failed to stop is ours: do not leave it running.
  for (const pid of started) if (alive(pid)) process.kill(pid, 'SIGKILL');
});

describe('npm start', () => {
  it('starts the built daemon without rebuilding, and stops it on SIGTERM to npm', async () => {
    const built = statSync(new URL('../../dist/src/index.js', import.meta.url)).mtimeMs;
    const npm = spawn('npm', ['start', '--', '--port', '0', '--log-level', 'info'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    npm.stdout.on('data', (c: Buffer) => (out += c.toString()));
    npm.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const npmExit = new Promise<number | null>((resolve) => npm.on('exit', (code) => resolve(code)));
    const t0 = Date.now();
    let url = '';
    while (url === '') {
      const line = out.split('\n').find((l) => l.includes('"msg":"listening"'));
      if (line !== undefined) url = (JSON.parse(line) as { url: string }).url;
      else if (npm.exitCode !== null || Date.now() - t0 > 30_000) throw new Error(`npm start did not listen:\n${out}`);
      else await new Promise((r) => setTimeout(r, 50));
    }
    const daemon = descendants(npm.pid!).filter((p) => {
      const [comm, ...args] = execFileSync('ps', ['-o', 'comm=,args=', '-p', String(p)], { encoding: 'utf8' }).trim().split(/\s+/);
      return comm === 'node' && args.join(' ').includes('main.js serve');
    });
    started.push(...daemon);
    expect(daemon).toHaveLength(1);
    expect((await fetch(`${url}/health`)).status).toBe(200);
    // started from dist as built: npm start ran no tsc
    expect(out).not.toMatch(/tsc|npm run build/);
    expect(statSync(new URL('../../dist/src/index.js', import.meta.url)).mtimeMs).toBe(built);

    process.kill(npm.pid!, 'SIGTERM');
    await npmExit;
    const deadline = Date.now() + 15_000;
    while (alive(daemon[0]) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(alive(daemon[0]), `daemon ${daemon[0]} still running after npm got SIGTERM`).toBe(false);
    expect(await refused(url)).toBe(true);
    // it shut down gracefully (stores closed), not killed
    expect(out).toContain('"msg":"stopped"');
  }, 60_000);

  it('a daemon detached on purpose (not under npm) outlives the shell that started it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rs-detached-'));
    const log = path.join(dir, 'daemon.log');
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('npm_')));
    try {
      // the shell backgrounds the daemon and exits at once: the daemon is reparented
      execFileSync('sh', ['-c', `"${process.execPath}" dist/src/cli/main.js serve --port 0 --log-level info > "${log}" 2>&1 & echo $!`], { cwd: ROOT, env, encoding: 'utf8' })
        .trim().split('\n').forEach((p) => started.push(Number(p)));
      const pid = started[started.length - 1];
      let url = '';
      const t0 = Date.now();
      while (url === '' && Date.now() - t0 < 30_000) {
        const line = readFileSync(log, 'utf8').split('\n').find((l) => l.includes('"msg":"listening"'));
        if (line !== undefined) url = (JSON.parse(line) as { url: string }).url;
        else await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise((r) => setTimeout(r, 1000)); // several polls of a parent watch, had there been one
      expect(alive(pid)).toBe(true);
      expect((await fetch(`${url}/health`)).status).toBe(200);
      process.kill(pid, 'SIGTERM');
      while (alive(pid) && Date.now() - t0 < 45_000) await new Promise((r) => setTimeout(r, 100));
      expect(readFileSync(log, 'utf8')).toContain('"msg":"stopped"');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
