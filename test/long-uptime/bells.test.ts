// Wake-up bells across 2^31 with real threads and no safety-net timers (bells.mjs says how).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

describe('DOORBELL and the producers\' bells across 2^31 (no wake-up poll)', () => {
  it('600 sequential appends from two threads, each a sleep and a wake-up, all settle', async () => {
    const script = fileURLToPath(new URL('./bells.mjs', import.meta.url));
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [script], { env: { ...process.env, RINGSTORE_TEST_NO_WAKE_POLL: '1' }, timeout: 50_000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${err.message}\n${stderr}`));
        else resolve(stdout);
      });
    });
    const r = JSON.parse(out.trim().split('\n').pop()!) as { settled: number; thread: number; live: number; doorbells: number[]; bells: number[] };
    expect(r.settled).toBe(300);
    expect(r.thread).toBe(300);
    expect(r.live).toBe(600);
    // Both kinds of bell did cross the bound (Int32: 2^31 reads as -2^31).
    expect(r.doorbells.some((b) => b < 0), String(r.doorbells)).toBe(true);
    expect(r.bells.filter((b) => b < 0).length, String(r.bells)).toBeGreaterThanOrEqual(2);
  }, 60_000);
});
