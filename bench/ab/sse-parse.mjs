// Client SSE parser A/B (docs/benchmarks/daemon.md, "Client SSE parser (2026-12-05)"): parseSse (src/client/sse.ts) against
// the parser it replaced (before maxSseMessageBytes, copied below as OLD: split on '\n' after decoding, no bound).
// The stream is what `ringstore serve` sends a subscriber (src/server/routes/subscribe.ts): a comment and
// `retry:` first, then `id: <version>\nevent: event\ndata: <json>\n\n` per event, a `: ping` now and then,
// ~15 MB in all, cut into chunks of 16 KiB and 64 KiB (what fetch bodies hand over), fed one per pull.
// Two streams: `ascii` (the daemon benchmark's events) and `utf8` (the same with a non-ASCII field in every event).
// Each round parses each stream and chunk size with every parser, the order alternating between rounds; prints per
// case the median wall ms, MB/s and CPU ms of the process (process.cpuUsage: GC threads included; steadier than
// wall time when other processes compete for the cores), each with the median per-round ratio parser/OLD (< 1 is
// faster than OLD).
// First, correctness only: every parser must give OLD's messages on each case, and the same messages on a small
// sample cut into 1..7-byte chunks as in one chunk.
//   npm run build && node --expose-gc bench/ab/sse-parse.mjs [rounds=9] [megabytes=15]
// DIST: one or more builds' dist directories, comma-separated (default: this checkout's); all run in ONE process.
import { loadavg } from 'node:os';

const ROUNDS = Number(process.argv[2] ?? 9);
const MB = Number(process.argv[3] ?? 15);
const dists = (process.env.DIST ?? new URL('../../dist', import.meta.url).pathname).split(',');

/** The parser before the bound (git show 8ef380c~1:src/client/sse.ts), verbatim but for the types. */
async function* OLD(body) {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let buffer = '';
  let id;
  let event = 'message';
  let data = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        let line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.endsWith('\r')) line = line.slice(0, -1);
        if (line === '') {
          if (data.length > 0) yield { id, event, data: data.join('\n') };
          event = 'message';
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'data') data.push(value);
        else if (field === 'event') event = value;
        else if (field === 'id') id = value;
      }
    }
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => undefined);
  }
}

/** The daemon's SSE output for events of ~MB megabytes in all (`utf8`: every event has a non-ASCII field). */
function daemonStream(utf8) {
  let s = ': subscribed to "bench" from version 1\nretry: 1000\n\n';
  const parts = [s];
  let bytes = Buffer.byteLength(s);
  for (let v = 1; bytes < MB * 1e6; v++) {
    const d = { valor: (v * 7919) % 5000, gatewayId: `gw-${v % 3}`, note: 'order created by the benchmark', timestamp: new Date(1_780_000_000_000 + v * 10).toISOString() };
    if (utf8) d.place = ['São Paulo', 'Zürich — Genève', 'Kraków ✓', '東京 😀'][v % 4];
    s = `id: ${v}\nevent: event\ndata: ${JSON.stringify({ ...d, id: `e${v}`, version: v })}\n\n`;
    if (v % 500 === 0) s += ': ping\n\n';
    parts.push(s);
    bytes += Buffer.byteLength(s);
  }
  return new TextEncoder().encode(parts.join(''));
}

/** `bytes` cut into chunks of `size` (or of random sizes 1..7 when size is 0: for correctness only). */
function cut(bytes, size) {
  const out = [];
  let seed = 12345;
  for (let at = 0; at < bytes.length;) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const n = size > 0 ? size : 1 + (seed >>> 16) % 7;
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}

/** A fetch-like body handing over one chunk per pull. */
function body(chunks) {
  let i = 0;
  return new ReadableStream({
    pull(c) {
      if (i < chunks.length) c.enqueue(chunks[i++]);
      else c.close();
    },
  }, { highWaterMark: 0 });
}

/** Parses, keeping a digest (count, bytes of data, last id) rather than every message. */
async function digest(parse, chunks) {
  let n = 0;
  let chars = 0;
  let last;
  for await (const m of parse(body(chunks))) {
    n++;
    chars += m.data.length + m.event.length;
    last = m.id;
  }
  return `${n}/${chars}/${last}`;
}
async function all(parse, chunks) {
  const out = [];
  for await (const m of parse(body(chunks))) out.push(m);
  return JSON.stringify(out);
}

const parsers = { OLD };
for (const d of dists) {
  const { parseSse } = await import(`${d}/src/client/sse.js`);
  parsers[dists.length === 1 ? 'parseSse' : `parseSse(${d})`] = parseSse;
}
const streams = { ascii: daemonStream(false), utf8: daemonStream(true) };
const SIZES = [16 * 1024, 64 * 1024];
const cases = [];
for (const [name, bytes] of Object.entries(streams)) for (const size of SIZES) cases.push({ name: `${name} ${size / 1024} KiB`, bytes, chunks: cut(bytes, size) });

// Correctness first.
for (const c of cases) {
  const want = await digest(OLD, c.chunks);
  for (const [p, f] of Object.entries(parsers)) {
    const got = await digest(f, c.chunks);
    if (got !== want) throw new Error(`${p} on ${c.name}: ${got}, OLD: ${want}`);
  }
}
for (const [name, bytes] of Object.entries(streams)) {
  const sample = bytes.subarray(0, 64 * 1024 + 333);
  for (const [p, f] of Object.entries(parsers)) {
    if (p === 'OLD') continue;
    if ((await all(f, cut(sample, 0))) !== (await all(f, [sample]))) throw new Error(`${p}: 1..7-byte chunks of ${name} differ from one chunk`);
  }
}

const names = Object.keys(parsers);
const ms = Object.fromEntries(cases.map((c) => [c.name, Object.fromEntries(names.map((p) => [p, []]))]));
const cpu = Object.fromEntries(cases.map((c) => [c.name, Object.fromEntries(names.map((p) => [p, []]))]));
for (let r = -1; r < ROUNDS; r++) { // round -1 warms up
  for (const c of cases) {
    const order = r % 2 === 0 ? names : [...names].reverse();
    for (const p of order) {
      globalThis.gc?.();
      const t = performance.now();
      const u = process.cpuUsage();
      await digest(parsers[p], c.chunks);
      const used = process.cpuUsage(u);
      if (r >= 0) ms[c.name][p].push(performance.now() - t);
      if (r >= 0) cpu[c.name][p].push((used.user + used.system) / 1000);
    }
  }
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
console.log(`node ${process.version}, ${ROUNDS} rounds, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}${globalThis.gc ? '' : ' (no --expose-gc)'}`);
for (const [name, bytes] of Object.entries(streams)) console.log(`${name}: ${(bytes.length / 1e6).toFixed(1)} MB`);
console.log('case           parser                 wall ms   MB/s  x OLD    cpu ms  x OLD   (medians; x OLD: median of the per-round ratios)');
for (const c of cases) {
  for (const p of names) {
    const m = median(ms[c.name][p]);
    const ratio = (of) => median(of[c.name][p].map((x, i) => x / of[c.name].OLD[i])).toFixed(2);
    console.log(`${c.name.padEnd(14)} ${p.padEnd(22)} ${m.toFixed(1).padStart(7)} ${(c.bytes.length / 1e3 / m).toFixed(0).padStart(6)}  ${ratio(ms)}x  ${median(cpu[c.name][p]).toFixed(1).padStart(7)}  ${ratio(cpu)}x`);
  }
}
console.log(`load average at the end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
