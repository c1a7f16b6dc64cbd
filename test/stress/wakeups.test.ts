// Lost wake-ups: test/stress/wakeups.mjs in a child process with the re-ring timers off
// (RINGSTORE_TEST_NO_WAKE_POLL=1, set only there), so a wake-up the sleeping/doorbell protocol
// loses is an append that never settles. The seed is printed; replay with
// `RINGSTORE_TEST_NO_WAKE_POLL=1 node test/stress/wakeups.mjs --seed S --ms 6000`.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const seed = process.env.STRESS_SEED !== undefined ? Number(process.env.STRESS_SEED) >>> 0 : Math.floor(Math.random() * 2 ** 32);
const script = fileURLToPath(new URL('./wakeups.mjs', import.meta.url));

describe('sleeping workers and producers, without the re-ring timers', () => {
  it(`bursts with idle gaps from 3 producer threads, worker kills: every append settles (seed ${seed})`, async () => {
    console.log(`wake-up stress seed ${seed} (replay: RINGSTORE_TEST_NO_WAKE_POLL=1 node test/stress/wakeups.mjs --seed ${seed} --ms 6000)`);
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [script, '--seed', String(seed), '--ms', '6000'], { env: { ...process.env, RINGSTORE_TEST_NO_WAKE_POLL: '1' }, timeout: 100_000 }, (err, stdout, stderr) => {
        if (err !== null) reject(new Error(`${err.message}\n${stderr}`));
        else resolve(stdout);
      });
    });
    const res = JSON.parse(out.trim().split('\n').pop()!) as { problems: string[]; appends: number; rings: number };
    expect(res.problems, `seed ${seed}`).toEqual([]);
    // The run slept and woke the workers (the doorbell was rung), and appended.
    expect(res.rings).toBeGreaterThan(0);
    expect(res.appends).toBeGreaterThan(0);
  }, 120_000);
});
