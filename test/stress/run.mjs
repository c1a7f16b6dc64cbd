// npm run test:stress -- --minutes N [--seed S]: the stress suite for as long
// as asked. Prints the seed first; a failing seed replays with --seed.
import { runStress } from './scenario.mjs';
import { runWrapAround } from './wraparound.mjs';

const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const minutes = arg('minutes', 1);
const seed = arg('seed', Math.floor(Math.random() * 2 ** 32)) >>> 0;
const wrap = !args.includes('--no-wraparound');
console.log(`stress seed ${seed} (replay: npm run test:stress -- --minutes ${minutes} --seed ${seed})`);
const res = await runStress({ seed, ms: minutes * 60_000, log: (m) => console.log(m) });
let failed = !res.ok;
if (!res.ok) {
  const where = res.round === 'all' ? 'the kill count (every round passed)' : `round ${res.round}`;
  console.log(`FAILED in ${where} (seed ${seed}; replay: npm run test:stress -- --minutes ${minutes} --seed ${seed}):`);
  for (const p of res.problems) console.log(`  ${p}`);
} else console.log(`${res.results.length} rounds passed (seed ${seed}); ${res.kills.line}`);
if (wrap && !failed) {
  const w = await runWrapAround({ producers: 4, perProducer: 500_000, capacity: 4096 });
  console.log(`wrap-around: ${JSON.stringify(w.summary)}`);
  if (w.problems.length > 0) {
    failed = true;
    for (const p of w.problems) console.log(`  ${p}`);
  }
}
process.exit(failed ? 1 : 0);
