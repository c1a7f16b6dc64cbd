// The ringstore command line: --version, help, and the demo's output.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string; ms: number } {
  const t = performance.now();
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: performance.now() - t };
}

const isJson = (line: string): boolean => {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
};

describe('ringstore --version and help', () => {
  it('prints the package version', () => {
    for (const flag of ['--version', '-v', 'version']) {
      const r = cli(flag);
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(`${VERSION}\n`);
    }
  });
  it('lists the commands and --version; an unknown command exits 2', () => {
    const r = cli('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: ringstore <command>/);
    for (const c of ['serve', 'demo', 'bench', 'profile', '--version']) expect(r.stdout).toContain(c);
    const bad = cli('nope');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('unknown command "nope"');
  });
});

describe('ringstore demo', () => {
  it('--help prints the usage and runs nothing', () => {
    for (const flag of ['--help', '-h']) {
      const r = cli('demo', flag);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^usage: ringstore demo/);
      expect(r.stdout).toContain('--log-level');
      expect(r.stdout).not.toMatch(/s of appends to an embedded store/);
      expect(r.stderr).toBe('');
    }
  });

  it('prints a summary for a person, not log lines', () => {
    const r = cli('demo', '--seconds', '0.3');
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ringstore demo: [\d.]+ s of appends to an embedded store \(\d+ partitions on \d+ cores, capacity [\d,]+ events\)$/);
    expect(lines.some(isJson)).toBe(false);
    const row = (label: string): string => lines.find((l) => l.trimStart().startsWith(label)) ?? '';
    const appended = Number(row('appended').match(/appended\s+([\d,]+) events/)?.[1].replaceAll(',', ''));
    expect(appended).toBeGreaterThan(0);
    expect(row('kept')).toMatch(/kept\s+[\d,]+ \(the ring keeps the newest; [\d,]+ discarded\)/);
    expect(row('count()')).toMatch(/count\(\)\s+[\d,]+$/);
    expect(row("top(3, 'amount') by user")).toMatch(/user-\d+ [\d,]+, user-\d+ [\d,]+, user-\d+ [\d,]+$/);
    expect(row('last minute of amount')).toMatch(/count [\d,]+, sum [\d,]+, min 0, max 499, avg [\d.]+$/);
  });

  it('--log-level writes the store log as JSON lines on stderr, the summary stays on stdout', () => {
    const r = cli('demo', '--seconds', '0.2', '--log-level', 'info');
    expect(r.status).toBe(0);
    const logs = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; level: number });
    expect(logs.map((l) => l.msg)).toEqual(expect.arrayContaining(['store created', 'appended', 'aggregates']));
    expect(r.stdout).toMatch(/^ringstore demo: /);
    expect(r.stdout.split('\n').some(isJson)).toBe(false);
  });

  it('rejects bad options with exit 2 and the usage', () => {
    for (const args of [['--seconds', '0'], ['--seconds', 'x'], ['--seconds'], ['--log-level', 'loud'], ['--nope']]) {
      const r = cli('demo', ...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^ringstore demo: /);
      expect(r.stderr).toContain('usage: ringstore demo');
      expect(r.stdout).toBe('');
    }
  });
});

describe('ringstore serve: flags the stores refuse', () => {
  // Each flag was in its own range, but together they asked for more shared memory a partition than a ring
  // store takes: the daemon exited 1 ("cannot start") with the store's option names, where docs/daemon.md
  // says a bad flag exits 2 with a message naming it.
  it('--arena-bytes too large for the partitions exits 2 naming the flags, before it listens', () => {
    const r = cli('serve', '--port', '0', '--partitions', '1', '--arena-bytes', '999999999999', '--log-level', 'silent');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--capacity, --arena-bytes and --partitions/);
    expect(r.stderr).toContain('RS_ERR_INVALID_OPTION');
  });
});
