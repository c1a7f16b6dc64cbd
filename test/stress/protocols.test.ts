// The short pass of the stress suite that `npm test` runs. The seed is printed;
// replay a failure with `npm run test:stress -- --minutes 1 --seed S`, or
// `STRESS_SEED=S npx vitest run test/stress`.
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM module without types
import { runStress } from './scenario.mjs';
// @ts-expect-error plain ESM module without types
import { runWrapAround } from './wraparound.mjs';

const seed = process.env.STRESS_SEED !== undefined ? Number(process.env.STRESS_SEED) >>> 0 : Math.floor(Math.random() * 2 ** 32);
const STRESS_MS = Number(process.env.STRESS_MS ?? 8_000);

describe('ring protocols under seeded stress', () => {
  it(`producer threads attaching and closing, bursts past every bound, worker kills (seed ${seed})`, async () => {
    console.log(`stress seed ${seed} (replay: npm run test:stress -- --minutes 1 --seed ${seed})`);
    const res = await runStress({ seed, ms: STRESS_MS, roundMs: [2500, 4000], log: (m: string) => console.log(m) });
    expect(res.problems, `seed ${seed}, round ${res.round} (replay: STRESS_SEED=${seed} npx vitest run test/stress/protocols.test.ts)`).toEqual([]);
  }, 120_000);

  it('4 producer threads + 2 RPC readers + 2 shared-memory reader threads during wrap-around: 0 torn, 0 duplicated, 0 lost, exact accounting', async () => {
    const res = await runWrapAround({ producers: 4, perProducer: 15_000, capacity: 128 });
    expect(res.problems).toEqual([]);
  }, 120_000);
});
