// kill -9 of a process appending to a log (durability-notes §9 item 3, at the log's level): every frame
// whose commit returned before the kill is there after a restart, in order, with its payload, no gap.
// This proves the ordering (write before ack), not the fsync: the page cache survives a killed process.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SegmentLog } from '../../dist/src/durability/index.js';
import { openCollect, prefixOf, put, tmpDir, type Written } from './helpers.js';

const CHILD = fileURLToPath(new URL('./fixtures/append-child.mjs', import.meta.url));

/** Runs the appender until it has acked `acks` frames (and a little more), then SIGKILLs it. */
function appendThenKill(dir: string, mode: string, acks: number): Promise<Written[]> {
  const proc = spawn(process.execPath, [CHILD, dir, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    const acked: Written[] = [];
    let buf = '';
    let killed = false;
    const timer = setTimeout(() => (proc.kill('SIGKILL'), reject(new Error('the appender did not ack in time'))), 20_000);
    proc.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const [, s, c, b] = buf.slice(0, nl).split(' ');
        buf = buf.slice(nl + 1);
        acked.push({ type: 16, firstSeq: Number(s), count: Number(c), bytes: Number(b) });
      }
      if (!killed && acked.length >= acks) {
        killed = true;
        setTimeout(() => proc.kill('SIGKILL'), Math.random() * 30); // mid-append, at a random point
      }
    });
    proc.on('close', (_code, signal) => { // after stdout is drained: every ack line written is in
      clearTimeout(timer);
      if (signal === 'SIGKILL') resolve(acked);
      else reject(new Error(`the appender exited with ${signal ?? _code}`));
    });
  });
}

describe('kill -9 while appending', () => {
  for (const mode of ['always', 'interval', 'never'] as const) {
    it(`[${mode}] every acked frame survives, in order, with its payload, twice over`, async () => {
      const dir = tmpDir();
      let before = 0;
      for (const acks of [80, 40]) {
        const acked = await appendThenKill(dir, mode, acks);
        const { log, frames } = openCollect(dir, { fsync: mode });
        // Every acked frame is there; at most one more (written, killed before its ack line).
        expect(frames.length - before).toBeGreaterThanOrEqual(acked.length);
        expect(frames.length - before).toBeLessThanOrEqual(acked.length + 1);
        expect(prefixOf(frames.slice(before, before + acked.length), acked)).toBe(acked.length);
        if (before > 0) expect(acked[0].firstSeq).toBe(frames[before - 1].firstSeq + frames[before - 1].count);
        before = frames.length;
        log.close();
      }
      const r = openCollect(dir, { fsync: mode });
      const w = put(r.log, 1, 10); // and the log goes on after the last frame
      expect(w.firstSeq).toBe(r.frames.at(-1)!.firstSeq + r.frames.at(-1)!.count);
      r.log.close();
      expect(SegmentLog.verify(dir).cut).toBeNull();
    });
  }
});
