// A nats-server for the measuring scripts in this folder (not the test suite, which uses server.ts): free
// port, temporary store, under guard.sh so that it dies with the script; stop() kills it and removes the store.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Starts nats-server with JetStream on 127.0.0.1; resolves with its URL once it is ready. */
export async function startScriptServer(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const guard = spawn('sh', [fileURLToPath(new URL('./guard.sh', import.meta.url)), '-a', '127.0.0.1', '-p', '-1', '-js', '-sd', dir], { stdio: ['pipe', 'ignore', 'pipe'] });
  const url = await new Promise((resolve, reject) => {
    let log = '';
    guard.stderr.on('data', (d) => {
      log += d;
      const m = /Listening for client connections on [^:\s]+:(\d+)/.exec(log);
      if (m && log.includes('Server is ready')) resolve(`nats://127.0.0.1:${m[1]}`);
    });
    guard.once('exit', () => reject(new Error(`nats-server exited:\n${log}`)));
  });
  return {
    url,
    async stop() {
      guard.stdin.destroy();
      await new Promise((r) => guard.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
