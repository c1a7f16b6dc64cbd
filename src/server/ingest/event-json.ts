/**
 * The stored JSON of posted `/streams` events, taken from the request's own
 * text instead of a second `JSON.stringify` of what was just parsed (profiled:
 * the stringify was the largest single cost of the main thread on bulk
 * bodies). Only text that is exactly what `JSON.stringify(JSON.parse(text))`
 * gives is taken ("canonical"): no whitespace between tokens, no `\u` or `\/`
 * escape, numbers as JavaScript prints them, no duplicate keys, no key that
 * starts with a digit (array-index keys come first in an object's key order),
 * nesting at most {@link MAX_DEPTH} deep. Any other event is stringified as
 * before, so the stored bytes are the same either way.
 *
 * The scan runs only on text the daemon's body parser has parsed: it finds
 * value boundaries and never has to reject malformed JSON.
 */
import type { StreamRecord } from '../stores.js';

/** Deeper events are stringified (the scan recurses). */
const MAX_DEPTH = 32;
/** Objects with more keys are stringified (the duplicate check is quadratic). */
const MAX_KEYS = 32;

// Scan state (module-level: no allocation per event).
let canonical = true;
/** The top-level `timestamp` value of the last object scanned, as [tsStart, tsEnd), or tsStart -1. */
let tsStart = -1;
let tsEnd = -1;
/** Key ranges of the objects being scanned (a stack; each object owns its slice). */
const keyStart = new Int32Array(MAX_DEPTH * MAX_KEYS);
const keyEnd = new Int32Array(MAX_DEPTH * MAX_KEYS);

const isWs = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** Skips whitespace at `i` (which makes the text not canonical). */
function ws(t: string, i: number): number {
  while (i < t.length && isWs(t.charCodeAt(i))) {
    canonical = false;
    i++;
  }
  return i;
}

/** The end of the string whose opening quote is at `i`. */
function str(t: string, i: number): number {
  i++;
  for (;;) {
    const c = t.charCodeAt(i++);
    if (c === 0x22) return i;
    if (c === 0x5c) {
      const e = t.charCodeAt(i++);
      // JSON.stringify writes `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t` and `\u00XX` for other control characters
      // (and for lone surrogates, which UTF-8 text cannot hold): a `\u` or `\/` in the text may be written otherwise.
      if (e === 0x75 || e === 0x2f) canonical = false;
    } else if (c !== c) return t.length; // NaN: past the end (not reached on parsed text)
  }
}

/** The end of the number at `i`; not canonical unless JavaScript prints it the same. */
function num(t: string, i: number): number {
  const start = i;
  let plain = true;
  for (; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) continue;
    if (c === 0x2d && i === start) continue;
    if (c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d) {
      plain = false;
      continue;
    }
    break;
  }
  const digits = t.charCodeAt(start) === 0x2d ? i - start - 1 : i - start;
  // An integer of up to 15 digits prints as written (JSON has no leading zeros); -0 prints as 0.
  if (plain && digits <= 15 && !(digits === 1 && t.charCodeAt(start) === 0x2d && t.charCodeAt(start + 1) === 0x30)) return i;
  const text = t.slice(start, i);
  if (String(Number(text)) !== text) canonical = false;
  return i;
}

/** The end of the value at `i` (`i` past any whitespace); `depth` of its containing object or array. */
function value(t: string, i: number, depth: number): number {
  const c = t.charCodeAt(i);
  if (c === 0x22) return str(t, i);
  if (c === 0x7b) return obj(t, i, depth + 1);
  if (c === 0x5b) return arr(t, i, depth + 1);
  if (c === 0x74 || c === 0x6e) return i + 4; // true, null
  if (c === 0x66) return i + 5; // false
  return num(t, i);
}

/** The end of the object at `i`; at depth 1 (the event), notes its `timestamp` value. */
function obj(t: string, i: number, depth: number): number {
  if (depth > MAX_DEPTH) return skip(t, i);
  const base = (depth - 1) * MAX_KEYS;
  let keys = 0;
  i = ws(t, i + 1);
  if (t.charCodeAt(i) === 0x7d) return i + 1;
  for (;;) {
    const ks = i + 1;
    i = str(t, i);
    const ke = i - 1;
    const len = ke - ks;
    const first = t.charCodeAt(ks);
    if (first >= 0x30 && first <= 0x39) canonical = false;
    if (keys === MAX_KEYS) canonical = false;
    else {
      for (let k = base; k < base + keys; k++) if (keyEnd[k] - keyStart[k] === len && same(t, keyStart[k], ks, len)) canonical = false;
      keyStart[base + keys] = ks;
      keyEnd[base + keys] = ke;
      keys++;
    }
    i = ws(t, i);
    i = ws(t, i + 1); // the colon
    const vs = i;
    i = value(t, i, depth);
    if (depth === 1 && len === 9 && t.startsWith('timestamp', ks)) {
      tsStart = vs;
      tsEnd = i;
    }
    i = ws(t, i);
    const c = t.charCodeAt(i);
    if (c === 0x7d) return i + 1;
    i = ws(t, i + 1); // the comma
  }
}

/** Whether the `len` characters at `a` and at `b` are the same (keys: canonical text compares as its value). */
function same(t: string, a: number, b: number, len: number): boolean {
  for (let j = 0; j < len; j++) if (t.charCodeAt(a + j) !== t.charCodeAt(b + j)) return false;
  return true;
}

/** The end of the array at `i`. */
function arr(t: string, i: number, depth: number): number {
  if (depth > MAX_DEPTH) return skip(t, i);
  i = ws(t, i + 1);
  if (t.charCodeAt(i) === 0x5d) return i + 1;
  for (;;) {
    i = ws(t, value(t, i, depth));
    if (t.charCodeAt(i) === 0x5d) return i + 1;
    i = ws(t, i + 1);
  }
}

/** The end of the object or array at `i`, without recursion (too deep: not canonical). */
function skip(t: string, i: number): number {
  canonical = false;
  let depth = 0;
  for (; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c === 0x22) i = str(t, i) - 1;
    else if (c === 0x7b || c === 0x5b) depth++;
    else if ((c === 0x7d || c === 0x5d) && --depth === 0) return i + 1;
  }
  return i;
}

/** Where the last {@link eventJson} scan ended. */
let scanEnd = 0;

/**
 * The stored record JSON of the event whose text starts at `start` (its end
 * goes to {@link scanEnd}), or undefined when that text is not a canonical
 * object: the producer stringifies it then.
 */
function eventJson(prefix: string, t: string, start: number, d: Record<string, unknown>, nowJson: string): string | undefined {
  if (t.charCodeAt(start) !== 0x7b) {
    scanEnd = value(t, start, 0);
    return undefined;
  }
  canonical = true;
  tsStart = -1;
  const end = obj(t, start, 1);
  scanEnd = end;
  if (!canonical) return undefined;
  if (tsStart < 0) {
    // The route added `timestamp` (the receive time): the last key.
    return `${prefix}${t.slice(start, end - 1)}${end - start === 2 ? '' : ','}"timestamp":${nowJson}}}`;
  }
  // The route normalised the event's own `timestamp` in place (same key order).
  return `${prefix}${t.slice(start, tsStart)}${JSON.stringify(d.timestamp)}${t.slice(tsEnd, end)}}`;
}

/** Where the events of a bulk body came from: a JSON array's text, or NDJSON's lines. */
export type EventSource = { kind: 'array'; text: string } | { kind: 'lines'; lines: (string | undefined)[] };

/**
 * The stored JSON of each record of `records` (built by streamRecords from the
 * events `source` parsed into, with `timestamp` normalised): exactly
 * `JSON.stringify(records[i])`, or undefined where the event's text is not
 * canonical. Undefined when the source does not line up with the records.
 */
export function streamRecordJsons(records: readonly StreamRecord[], source: EventSource, nowIso: string): (string | undefined)[] | undefined {
  const n = records.length;
  if (n === 0) return undefined;
  const r0 = records[0];
  const prefix = `{"s":${JSON.stringify(r0.s)},"t":${r0.t},"d":`;
  const nowJson = JSON.stringify(nowIso);
  const out: (string | undefined)[] = new Array(n);
  if (source.kind === 'lines') {
    if (source.lines.length !== n) return undefined;
    for (let i = 0; i < n; i++) {
      const line = source.lines[i];
      const json = line === undefined ? undefined : eventJson(prefix, line, 0, records[i].d, nowJson);
      // A line is one value: anything after it (not reached on parsed lines) leaves it to stringify.
      out[i] = line !== undefined && scanEnd === line.length ? json : undefined;
    }
    return out;
  }
  const t = source.text;
  let i = ws(t, 0);
  if (t.charCodeAt(i) !== 0x5b) return undefined;
  i = ws(t, i + 1);
  for (let k = 0; k < n; k++) {
    out[k] = eventJson(prefix, t, i, records[k].d, nowJson);
    i = ws(t, scanEnd);
    const c = t.charCodeAt(i);
    if (c === 0x5d) return k === n - 1 ? out : undefined;
    if (c !== 0x2c) return undefined;
    i = ws(t, i + 1);
  }
  return undefined;
}
