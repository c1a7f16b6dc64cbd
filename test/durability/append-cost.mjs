// Measures SegmentLog.append + commit alone, per fsync mode, for the lead's drain frame: 4,096 events of
// ~150 bytes (614,400 payload bytes) passed as two views of a SharedArrayBuffer, like a ring that wraps.
// Not a test: run by hand (the figures go to docs/durability.md).
//
//   npm run build && node test/durability/append-cost.mjs [--frames 200] [--runs 3] [--dir /tmp] [--interval-ms 1000]
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FrameType, SegmentLog } from '../../dist/src/durability/index.js';

const { values } = parseArgs({
  options: {
    frames: { type: 'string', default: '200' },
    runs: { type: 'string', default: '3' },
    dir: { type: 'string', default: '/tmp' },
    'interval-ms': { type: 'string', default: '1000' },
    events: { type: 'string', default: '4096' },
    'event-bytes': { type: 'string', default: '150' },
  },
});
const FRAMES = Number(values.frames);
const RUNS = Number(values.runs);
const EVENTS = Number(values.events);
const PAYLOAD = EVENTS * Number(values['event-bytes']);

const ring = new Uint8Array(new SharedArrayBuffer(PAYLOAD * 2));
for (let i = 0; i < ring.length; i++) ring[i] = (i * 131) & 0xff;
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

function run(mode) {
  const dir = mkdtempSync(join(values.dir, 'rs-append-cost-'));
  try {
    const log = SegmentLog.open(dir, { fsync: mode, intervalMs: Number(values['interval-ms']) });
    const times = [];
    let seq = 1;
    const t0 = performance.now();
    for (let i = 0; i < FRAMES; i++) {
      const at = (i * 7919) % PAYLOAD; // a different wrap point each time
      const parts = [ring.subarray(PAYLOAD + at), ring.subarray(0, at)];
      const t = performance.now();
      log.append(FrameType.EVENTS, seq, EVENTS, parts);
      log.commit();
      times.push(performance.now() - t);
      seq += EVENTS;
    }
    const wall = performance.now() - t0;
    log.close();
    times.sort((a, b) => a - b);
    const mean = times.reduce((a, b) => a + b, 0) / times.length;
    return { mean, p50: pct(times, 0.5), p99: pct(times, 0.99), max: times.at(-1), eventsPerSec: (FRAMES * EVENTS) / (wall / 1000), mbPerSec: (FRAMES * PAYLOAD) / 1e6 / (wall / 1000) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const f = (n, d = 2) => n.toFixed(d);
console.log(`append+commit of one ${EVENTS}-event frame (${PAYLOAD} payload bytes), ${FRAMES} frames per run, node ${process.version}`);
for (const mode of ['always', 'interval', 'never']) {
  for (let r = 0; r < RUNS; r++) {
    const s = run(mode);
    console.log(`${mode.padEnd(8)} run ${r + 1}: mean ${f(s.mean)} ms  p50 ${f(s.p50)} ms  p99 ${f(s.p99)} ms  max ${f(s.max)} ms  ` +
      `${f(s.eventsPerSec / 1e6)} M events/s  ${f(s.mbPerSec, 0)} MB/s`);
  }
}
