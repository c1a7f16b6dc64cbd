// Seeded generator of hostile HTTP requests for every route family of the daemon: malformed framing, bodies, JSON,
// NDJSON, headers, unicode, numbers, prototype keys and auth variants. The same seed gives the same requests.

/** A small, fast, seeded PRNG (mulberry32): good enough to spread cases, fully reproducible. */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  /** Uniform in [0, 2^32). */
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  int(n: number): number {
    return this.next() % n;
  }
  chance(p: number): boolean {
    return this.next() / 2 ** 32 < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

export const TOKENS = { write: 'fuzz-write-token-1', read: 'fuzz-read-token-1' } as const;

/** One generated request: its bytes and what the runner needs to judge the answer. */
export interface FuzzRequest {
  /** Route family, for the report. */
  family: string;
  method: string;
  /** What goes on the wire. */
  bytes: Buffer;
  /** Requests on the wire in `bytes` (two when pipelined). */
  count: number;
  /** The request never completes (a body shorter than announced): only a 408 may answer, after the body timeout. */
  truncated: boolean;
  /** What the Authorization header grants: the write token, the read token, or nothing. */
  access: 'write' | 'read' | 'none';
  /** A short readable label. */
  label: string;
}

const UNICODE = ['é', 'ü/名前', '😀', '\u202e', '\u0000', '\ud800', 'Ω≈ç√', '\u2028'];
const NAMES = ['a', 'fuzz/x', 'orders/eu', enc('ü/名前'), '%E0%A4%A', '%00', '..', 'a//b', '/a', 'a/', 'x'.repeat(1100), 'constructor', '__proto__', 'hasOwnProperty', 'a/subscribe', '%2F', '%25', 'k'.repeat(40), enc('😀'), 'ü'];
const NUMBERS = ['0', '-0', '1', '-1', '1.5', '1e300', '-1e300', '1e400', 'NaN', 'Infinity', '-Infinity', '0x10', '1_000', '9007199254740993', '8640000000000000', '8640000000000001', '-8640000000000001', '', ' ', '+1', '.5', '5.', '1e', 'e5', '١٢٣'];
const TIMES = ['2024-01-01', '2024-01-01T00:00:00Z', '2020-02-30', '2019-02-29', '2024-13-01', '2024-01-01T24:00:00', '2024-01-01T10:00:00+25:00', '0001-01-01T00:00:00', '+275760-09-13T00:00:00Z', 'yesterday', '2024-01-01 10:00', '2024-1-1', ...NUMBERS];
const QUERY_KEYS = ['from', 'to', 'limit', 'aggregate', 'sum', 'groupBy', 'expectedVersion', 'label', 'k', 'minutes', 'olderThan', 'olderThanMinutes', 'toVersion', 'useSnapshot', 'first', 'last', 'unknown', '__proto__', 'constructor', ''];
const JSON_KEYS = ['id', 'valor', 'gatewayId', 'timestamp', 'label', 'value', 'stream', 'events', 'type', 'data', 'metadata', 'version', 'state', 'expectedVersion', 'sessionTimeoutMs', 'openTimeoutMs', 'timeoutMs', '__proto__', 'constructor', 'prototype', '', 'ключ', '😀'];
const CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'application/json; charset=UTF-8', 'application/json;charset=utf-16', 'application/json; charset=latin1', 'application/x-ndjson', 'application/ndjson', 'application/jsonl', 'text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset', 'application/json; foo=bar', 'Application/JSON', '', 'application/', '*/*'];
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE', 'CONNECT', 'PROPFIND', 'get', 'G ET', 'GET\u00e9'];

/** A random JSON value, `depth` levels deep at most. */
function jsonValue(rng: Rng, depth: number): unknown {
  switch (rng.int(depth > 0 ? 9 : 6)) {
    case 0: return rng.pick([0, -1, 1, 1.5, 1e308, -1e308, 5e-324, 2 ** 53 + 2, 8.64e15, -8.64e15, 1e300, 120]);
    case 1: return rng.pick(['', 'x', 'g1', 'A/1', ...UNICODE, 'x'.repeat(300), ...TIMES.slice(0, 12)]);
    case 2: return rng.chance(0.5);
    case 3: return null;
    case 4: return rng.int(1000);
    case 5: return rng.pick(TIMES);
    case 6: return Array.from({ length: rng.int(4) }, () => jsonValue(rng, depth - 1));
    default: {
      const o: Record<string, unknown> = {};
      const n = rng.int(5);
      for (let i = 0; i < n; i++) o[rng.pick(JSON_KEYS)] = jsonValue(rng, depth - 1);
      return o;
    }
  }
}

/** JSON text for a body, sometimes with prototype keys written literally (JSON.stringify drops `__proto__` set by assignment). */
function jsonText(rng: Rng): string {
  const v = jsonValue(rng, 3);
  let text = JSON.stringify(v) ?? 'null';
  if (rng.chance(0.1)) text = `{"__proto__":{"polluted":true},"valor":1,"label":"p","value":1}`;
  if (rng.chance(0.05)) text = `{"constructor":{"prototype":{"polluted":true}},"valor":1}`;
  if (rng.chance(0.05)) text = `{"\\u005f_proto__":{"polluted":true}}`;
  return text;
}

/** A body that a route might accept, or almost. */
function validishBody(rng: Rng, family: string, sessionStream: string): unknown {
  switch (family) {
    case 'streams': return rng.chance(0.3) ? Array.from({ length: 1 + rng.int(3) }, () => ({ valor: rng.int(100), gatewayId: 'g' })) : { id: rng.chance(0.3) ? `id-${rng.int(50)}` : undefined, valor: rng.int(100), gatewayId: 'g', timestamp: rng.chance(0.5) ? rng.pick(TIMES) : undefined };
    case 'metrics': return { label: rng.pick(['cpu', 'mem', ...UNICODE]), value: rng.pick([1, 60, -5, 1e300]), timestamp: rng.chance(0.5) ? rng.pick(TIMES) : undefined };
    case 'sessions': return rng.pick([{ stream: `Fuzz/${rng.int(20)}`, openTimeoutMs: 0 }, { stream: sessionStream, openTimeoutMs: 0 }, { events: [{ type: 'T', data: { n: 1 } }] }, { events: [{ id: `e${rng.int(5)}`, type: 'T', data: null }], expectedVersion: rng.int(4) }, { version: 1 + rng.int(3), state: {} }, { timeoutMs: 1000 }, { stream: 5 }]);
    default: return {};
  }
}

/** Body bytes in one of many encodings and shapes. */
function body(rng: Rng, family: string, sessionStream: string): { bytes: Buffer; type: string | undefined } {
  const valid = rng.chance(0.35);
  const value = valid ? validishBody(rng, family, sessionStream) : undefined;
  const json = value !== undefined ? JSON.stringify(value) : jsonText(rng);
  switch (rng.int(12)) {
    case 0: return { bytes: Buffer.from(json.slice(0, Math.max(0, json.length - 1 - rng.int(5)))), type: 'application/json' };
    case 1: {
      const lines = Array.isArray(value) ? value.map((x) => JSON.stringify(x)) : [json, jsonText(rng)];
      return { bytes: Buffer.from(lines.join(rng.pick(['\n', '\r\n', '\n\n'])) + (rng.chance(0.5) ? '\n' : '')), type: rng.pick(['application/x-ndjson', 'application/ndjson', 'application/jsonl']) };
    }
    case 2: return { bytes: Buffer.from(json, 'utf16le'), type: rng.pick(['application/json; charset=utf-16le', 'application/json']) };
    case 3: return { bytes: Buffer.concat([Buffer.from(json.slice(0, 5)), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xe2, 0x82]), Buffer.from(json.slice(5))]), type: 'application/json' };
    case 4: return { bytes: Buffer.from(`\ufeff${json}`), type: 'application/json' };
    case 5: return { bytes: Buffer.alloc(0), type: rng.pick(['application/json', undefined, 'application/x-ndjson']) };
    case 6: return { bytes: Buffer.from(`{"pad":"${'x'.repeat(70 * 1024)}"}`), type: 'application/json' };
    case 7: return { bytes: Buffer.from(json), type: rng.pick(CONTENT_TYPES) };
    case 8: return { bytes: Buffer.from(rng.pick(['   ', 'null', 'true', '0', '"x"', '[]', '{}', '[[[[[[[[[[]]]]]]]]]]', `${'['.repeat(5000)}${']'.repeat(5000)}`, '{"a":1}{"b":2}', '{"a":1,}', "{'a':1}", 'NaN'])), type: 'application/json' };
    default: return { bytes: Buffer.from(json), type: rng.chance(0.9) ? 'application/json' : 'application/json; charset=utf-8' };
  }
}

/** encodeURIComponent, or the UTF-8 bytes percent-encoded for what it refuses (a lone surrogate). */
function enc(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
  }
}

function query(rng: Rng): string {
  if (rng.chance(0.3)) return '';
  const parts: string[] = [];
  const n = 1 + rng.int(3);
  for (let i = 0; i < n; i++) {
    const key = rng.pick(QUERY_KEYS);
    const value = rng.pick([...NUMBERS, ...TIMES, 'true', 'false', 'cpu', 'valor', 'gatewayId', '__proto__', ...UNICODE]);
    parts.push(`${enc(key)}=${rng.chance(0.8) ? enc(value) : value.replace(/[\s\u0000-\u001f]/g, '')}`);
  }
  if (rng.chance(0.05)) parts.push('from=1&from=2');
  return `?${parts.join('&')}`;
}

function path(rng: Rng, family: string, sessionId: string): string {
  switch (family) {
    case 'streams': {
      const name = rng.pick(NAMES);
      const suffix = rng.pick(['', '', '', '/subscribe']);
      return `/streams/${name}${suffix}${query(rng)}`;
    }
    case 'metrics': return `${rng.pick(['/metrics', '/metrics/sum', '/metrics/sum-window', '/metrics/window', '/metrics/top', '/metrics/snapshot-views', '/metrics/aggregate-zero-alloc', '/metrics/process-events', '/metrics/', '/metrics/nope'])}${query(rng)}`;
    case 'admin': return `${rng.pick(['/admin/clear', '/admin/reset', '/admin/purge', '/admin', '/admin/nope'])}${query(rng)}`;
    case 'sessions': {
      const id = rng.pick([sessionId, sessionId, 'x', '00000000-0000-0000-0000-000000000000', '..', '%2e%2e', 's'.repeat(100), '__proto__']);
      const tail = rng.pick(['', '/renew', '/events', `/events/${rng.pick(NUMBERS)}`, '/slice', '/version', `/ids/${rng.pick(NAMES)}`, '/snapshots', `/snapshots/${rng.pick(NUMBERS)}`]);
      return rng.chance(0.15) ? `/sessions${query(rng)}` : `/sessions/${id}${tail}${query(rng)}`;
    }
    default: return rng.pick(['/health', '/ready', '/openapi.json', '/', '/streams', '/streams/', '//', '/%', '/%zz', `/${'a'.repeat(3000)}`, '/..%2f..%2fetc/passwd', '*', 'http://example.com/health', `/${rng.pick(UNICODE)}`]) + query(rng);
  }
}

function authHeader(rng: Rng): string | undefined {
  return rng.pick([
    undefined, `Bearer ${TOKENS.write}`, `Bearer ${TOKENS.write}`, `Bearer ${TOKENS.read}`, 'Bearer wrong-token-xyz', 'Basic Zm9vOmJhcg==', `bearer   ${TOKENS.write}  `,
    'Bearer', 'Bearer ', TOKENS.write, `Bearer ${TOKENS.write} extra`, `Bearer ${TOKENS.write.toUpperCase()}`, `Bearer ${'t'.repeat(5000)}`, 'Bearer é',
  ]);
}

/** What an Authorization header grants, by the rule of docs/daemon.md (scheme case-insensitive, the token exact). */
export function grants(header: string | undefined): 'write' | 'read' | 'none' {
  const m = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1] === TOKENS.write ? 'write' : m?.[1] === TOKENS.read ? 'read' : 'none';
}

/** Bytes of a header value: mostly ASCII, sometimes raw UTF-8 or control bytes (which node refuses). */
function headerLines(rng: Rng, headers: [string, string][]): string {
  let out = '';
  for (const [k, v] of headers) out += `${k}: ${v}\r\n`;
  if (rng.chance(0.1)) out += `${rng.pick(['X-Request-Id', 'Idempotency-Key', 'Expected-Version', 'Last-Event-ID'])}: ${rng.pick([...NUMBERS, 'k'.repeat(300), 'ok-id', '\u00e9t\u00e9', '1, 2'])}\r\n`;
  if (rng.chance(0.03)) out += `X-Big: ${'b'.repeat(17 * 1024)}\r\n`;
  if (rng.chance(0.03)) out += 'Bad Header: x\r\n';
  if (rng.chance(0.02)) out += 'X-Ctl: a\u0001b\r\n';
  return out;
}

/** Routes as a client calls them: [method, path (`{name}`, `{id}` filled in), body family or undefined]. */
const ROUTES: [string, string, string | undefined][] = [
  ['POST', '/streams/{name}', 'streams'], ['GET', '/streams/{name}', undefined], ['GET', '/streams/{name}?aggregate=true', undefined],
  ['GET', '/streams/{name}/subscribe', undefined], ['HEAD', '/streams/{name}/subscribe', undefined],
  ['POST', '/metrics', 'metrics'], ['GET', '/metrics/sum?label=cpu', undefined], ['GET', '/metrics/sum-window?label=cpu', undefined],
  ['GET', '/metrics/window', undefined], ['GET', '/metrics/top?k=3', undefined], ['GET', '/metrics/snapshot-views', undefined],
  ['GET', '/metrics/aggregate-zero-alloc', undefined], ['GET', '/metrics/process-events', undefined], ['GET', '/metrics', undefined],
  ['POST', '/admin/purge', undefined], ['POST', '/admin/reset', undefined],
  ['POST', '/sessions', 'sessions'], ['POST', '/sessions/{id}/renew', undefined], ['POST', '/sessions/{id}/events', 'sessions'],
  ['GET', '/sessions/{id}/events', undefined], ['GET', '/sessions/{id}/events/1', undefined], ['GET', '/sessions/{id}/slice?first=1&last=3', undefined],
  ['GET', '/sessions/{id}/version', undefined], ['GET', '/sessions/{id}/ids/x', undefined], ['POST', '/sessions/{id}/snapshots', 'sessions'],
  ['GET', '/sessions/{id}/snapshots', undefined], ['DELETE', '/sessions/{id}/snapshots/1', undefined],
  ['GET', '/health', undefined], ['GET', '/ready', undefined], ['GET', '/openapi.json', undefined],
];

/**
 * A request as a client sends it, with one thing changed (a query value, the body, a header, the token) or none:
 * these reach the route's own validation and handler, where chaos mostly stops at the parser.
 */
function focused(rng: Rng, sessionId: string, sessionStream: string): FuzzRequest {
  const [method, template, bodyFamily] = rng.pick(ROUTES);
  let target = template.replace('{name}', rng.chance(0.7) ? rng.pick(['a', 'fuzz/x', 'orders/eu']) : rng.pick(NAMES)).replace('{id}', sessionId);
  const write = method !== 'GET' && method !== 'HEAD';
  let auth: string | undefined = `Bearer ${write ? TOKENS.write : rng.pick([TOKENS.write, TOKENS.read])}`;
  const headers: [string, string][] = [['Host', '127.0.0.1']];
  let payload = Buffer.alloc(0);
  let type: string | undefined;
  if (bodyFamily !== undefined) {
    payload = Buffer.from(JSON.stringify(validishBody(rng, bodyFamily, sessionStream)));
    type = 'application/json';
  }
  switch (rng.int(6)) {
    case 0: target += `${target.includes('?') ? '&' : '?'}${query(rng).slice(1) || 'from=1e300'}`; break;
    case 1: if (write) ({ bytes: payload, type } = body(rng, bodyFamily ?? 'other', sessionStream)); break;
    case 2: headers.push([rng.pick(['Content-Type', 'Expected-Version', 'Idempotency-Key', 'Last-Event-ID', 'X-Request-Id']), rng.pick([...CONTENT_TYPES, ...NUMBERS, 'k'.repeat(201), 'id-1'])]); break;
    case 3: auth = authHeader(rng); break;
    default: break; // as a client sends it
  }
  if (auth !== undefined) headers.push(['Authorization', auth]);
  if (type !== undefined) headers.push(['Content-Type', type]);
  if (write) headers.push(['Content-Length', String(payload.length)]);
  const head = `${method} ${target} HTTP/1.1\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  return { family: `${template.split('/')[1]}*`, method, bytes: Buffer.concat([Buffer.from(head), payload]), count: 1, truncated: false, access: grants(auth), label: `${method} ${target.slice(0, 80)}` };
}

/** The next request of the run: focused on one route (40 %) or chaos in every dimension. */
export function generate(rng: Rng, sessionId: string, sessionStream: string): FuzzRequest {
  if (rng.chance(0.4)) return focused(rng, sessionId, sessionStream);
  const family = rng.pick(['streams', 'streams', 'metrics', 'metrics', 'admin', 'sessions', 'sessions', 'other']);
  const wantsBody = rng.chance(0.6);
  let method = rng.chance(0.9) ? (wantsBody ? rng.pick(['POST', 'POST', 'POST', 'PUT', 'DELETE']) : rng.pick(['GET', 'GET', 'GET', 'HEAD', 'DELETE', 'POST'])) : rng.pick(METHODS);
  if (family === 'sessions' && rng.chance(0.2)) method = 'DELETE';
  const target = path(rng, family, sessionId);
  const auth = authHeader(rng);
  const headers: [string, string][] = [];
  if (rng.chance(0.97)) headers.push(['Host', rng.pick(['127.0.0.1', 'localhost', 'example.com', ''])]);
  if (auth !== undefined) headers.push(['Authorization', auth]);
  let payload = Buffer.alloc(0);
  let truncated = false;
  if (wantsBody) {
    const b = body(rng, family, sessionStream);
    payload = b.bytes;
    if (b.type !== undefined) headers.push(['Content-Type', b.type]);
  }
  // Framing: mostly right, sometimes broken in one of the ways clients and attackers break it.
  let framed: Buffer;
  const framing = rng.int(20);
  if (framing === 0 && payload.length > 0) {
    headers.push(['Transfer-Encoding', 'chunked']);
    const cut = rng.int(payload.length);
    framed = Buffer.concat([Buffer.from(`${cut.toString(16)}\r\n`), payload.subarray(0, cut), Buffer.from(`\r\n${(payload.length - cut).toString(16)}\r\n`), payload.subarray(cut), Buffer.from('\r\n0\r\n\r\n')]);
  } else if (framing === 1) {
    headers.push(['Transfer-Encoding', 'chunked']);
    framed = Buffer.from(rng.pick(['zz\r\nabc\r\n0\r\n\r\n', '5\r\nab\r\n0\r\n\r\n', '1;ext=' + 'e'.repeat(20_000) + '\r\na\r\n0\r\n\r\n', '0\r\n', 'ffffffffffffffff\r\n']));
  } else if (framing === 2) {
    headers.push(['Content-Length', String(payload.length)], ['Transfer-Encoding', 'chunked']);
    framed = payload;
  } else if (framing === 3) {
    headers.push(['Content-Length', rng.pick(['-1', 'abc', '1e3', '0x10', ' 5', '99999999999999999999', '5, 5'])]);
    framed = payload;
  } else if (framing === 4 && payload.length > 1) {
    // announced longer than sent: never completes
    headers.push(['Content-Length', String(payload.length + 1 + rng.int(100))]);
    framed = payload;
    truncated = true;
  } else if (framing === 5 && payload.length > 1) {
    // announced shorter than sent: the rest is read as the next request
    headers.push(['Content-Length', String(payload.length - 1)]);
    framed = payload;
  } else {
    if (payload.length > 0 || (wantsBody && rng.chance(0.5))) headers.push(['Content-Length', String(payload.length)]);
    framed = payload;
  }
  const version = rng.chance(0.95) ? 'HTTP/1.1' : rng.pick(['HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1 x', 'HTTP/9', '']);
  const eol = rng.chance(0.97) ? '\r\n' : '\n';
  let head = `${method} ${target} ${version}${eol}${headerLines(rng, headers).replaceAll('\r\n', eol)}${eol}`;
  if (rng.chance(0.01)) head = head.replace(' ', '  ');
  let bytes = Buffer.concat([Buffer.from(head, rng.chance(0.95) ? 'utf8' : 'latin1'), framed]);
  let count = 1;
  if (!truncated && rng.chance(0.05)) {
    // pipelined: a plain read right behind
    bytes = Buffer.concat([bytes, Buffer.from('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')]);
    count = 2;
  }
  return { family, method, bytes, count, truncated, access: grants(auth), label: `${method} ${target.slice(0, 80)}` };
}
