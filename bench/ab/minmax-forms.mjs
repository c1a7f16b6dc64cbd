// Running min/max loop forms (src/partition/extremes.ts): why the hot loops write the -0-aware step out.
// A min+max pass over a 1M-value Float64Array (values -500..499, ties frequent), each form in its OWN node
// process (forms in one process change each other's JIT: bimodal timings), processes interleaved by round.
// Prints per form the best and the median process (ms per 5 passes) and their ratios to the bare `<` / `>` loop
// (which keeps the first zero it meets, the bug extremes.ts fixes). The best is the figure to compare: a process
// lands in a fast (~8 ms) or a slow (~17-20 ms) mode of the same loop at random, which moves medians by 2x.
//   node bench/ab/minmax-forms.mjs [rounds=5]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const N = 1 << 20;
const LO = (x, m) => x <= m && (x < m || Object.is(x, -0));
const HI = (x, m) => x >= m && (x > m || Object.is(m, -0));
const ZLO = (x, m) => x < m || (x === 0 && m === 0 && 1 / x < 0);
const ZHI = (x, m) => x > m || (x === 0 && m === 0 && 1 / m < 0);
const FORMS = {
  bare(a) { let mn = Infinity, mx = -Infinity; for (let i = 0; i < a.length; i++) { const x = a[i]; if (x < mn) mn = x; if (x > mx) mx = x; } return mn + mx; },
  inline(a) { let mn = Infinity, mx = -Infinity; for (let i = 0; i < a.length; i++) { const x = a[i]; if (x <= mn && (x < mn || Object.is(x, -0))) mn = x; if (x >= mx && (x > mx || Object.is(mx, -0))) mx = x; } return mn + mx; },
  called(a) { let mn = Infinity, mx = -Infinity; for (let i = 0; i < a.length; i++) { const x = a[i]; if (LO(x, mn)) mn = x; if (HI(x, mx)) mx = x; } return mn + mx; },
  mathMinMax(a) { let mn = Infinity, mx = -Infinity; for (let i = 0; i < a.length; i++) { const x = a[i]; mn = Math.min(mn, x); mx = Math.max(mx, x); } return mn + mx; },
  zeroTestCalled(a) { let mn = Infinity, mx = -Infinity; for (let i = 0; i < a.length; i++) { const x = a[i]; if (ZLO(x, mn)) mn = x; if (ZHI(x, mx)) mx = x; } return mn + mx; },
};

if (process.argv[2] === '--form') {
  const f = FORMS[process.argv[3]];
  const v = new Float64Array(N);
  for (let i = 0; i < N; i++) v[i] = ((i * 7919) % 1000) - 500;
  for (let w = 0; w < 30; w++) f(v);
  const t = [];
  for (let r = 0; r < 31; r++) {
    const s = performance.now();
    for (let q = 0; q < 5; q++) f(v);
    t.push(performance.now() - s);
  }
  process.stdout.write(String(t.sort((a, b) => a - b)[15]));
} else {
  const rounds = Number(process.argv[2] ?? 5);
  const self = fileURLToPath(import.meta.url);
  const ms = Object.fromEntries(Object.keys(FORMS).map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) for (const k of Object.keys(FORMS)) ms[k].push(Number(execFileSync(process.execPath, [self, '--form', k])));
  const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const best = (xs) => Math.min(...xs);
  console.log('form            best ms  x bare   median ms  x bare   (every process)');
  for (const k of Object.keys(FORMS)) {
    const b = best(ms[k]);
    const m = med(ms[k]);
    console.log(`${k.padEnd(15)} ${b.toFixed(2).padStart(7)}  ${(b / best(ms.bare)).toFixed(2).padStart(5)}x  ${m.toFixed(2).padStart(9)}  ${(m / med(ms.bare)).toFixed(2).padStart(5)}x   (${ms[k].map((x) => x.toFixed(1)).join(' ')})`);
  }
}
