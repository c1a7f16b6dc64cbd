// Runs `ringstore serve` as a real child process and finds its URL in the "listening" log line.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

export const MAIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

export interface Daemon {
  child: ChildProcess;
  url: string;
  lines: string[];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnDaemon(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Daemon> {
  const child = spawn(process.execPath, [MAIN, 'serve', '--port', '0', '--partitions', '1', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    let buf = '';
    let err = '';
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        lines.push(line);
        try {
          const j = JSON.parse(line) as { msg?: string; url?: string };
          if (j.msg === 'listening' && j.url) resolve({ child, url: j.url, lines, exit });
        } catch { /* not JSON */ }
      }
    });
    void exit.then(({ code }) => reject(new Error(`daemon exited (${code}) before listening: ${err}`)));
  });
}

/** A free loopback port (bound, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Like {@link spawnDaemon}, for any log level: binds a free port and waits until /health answers. */
export async function spawnQuietDaemon(args: string[]): Promise<Daemon & { port: number }> {
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN, 'serve', '--partitions', '1', ...args, '--port', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`daemon exited (${child.exitCode}) before listening: ${err}`);
    try {
      if ((await fetch(`${url}/health`)).ok) return { child, url, port, lines: [], exit };
    } catch { /* not yet listening */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`daemon did not answer /health within 10 s: ${err}`);
}
