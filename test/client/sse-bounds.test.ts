// The client's SSE reader bounds one message (maxSseMessageBytes, default 1 MiB): a message, or a line whose end
// has not come yet, larger than that ends the subscription with ResponseTooLargeError (RS_ERR_RESPONSE_TOO_LARGE)
// instead of buffering without end. Lines are split on bytes, with CR, LF and CRLF endings (a CRLF may be cut
// between two chunks), and a multi-byte UTF-8 character cut between two chunks is decoded whole.
// A message's size is the bytes of its lines without their line endings (`data: abc` is 9); comment lines
// are not part of a message, but each is bounded the same.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RingstoreClient } from '../../dist/src/client/index.js';
import * as clientApi from '../../dist/src/client/index.js';
import { RingstoreError } from '../../dist/src/index.js';

const enc = new TextEncoder();
const MAX = 100;

/** The SSE reader under test (imported late, so the rest of the file runs on a build without the bound). */
async function parse(chunks: (string | Uint8Array)[], maxMessageBytes?: number): Promise<{ id: string | undefined; event: string; data: string }[]> {
  const { parseSse } = await import('../../dist/src/client/sse.js');
  const out: { id: string | undefined; event: string; data: string }[] = [];
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      for (const ch of chunks) c.enqueue(typeof ch === 'string' ? enc.encode(ch) : ch);
      c.close();
    },
  });
  for await (const m of (parseSse as (b: ReadableStream<Uint8Array>, o?: { maxMessageBytes?: number }) => AsyncGenerator<{ id: string | undefined; event: string; data: string }>)(body, maxMessageBytes === undefined ? undefined : { maxMessageBytes })) out.push(m);
  return out;
}

/** What `parse` threw. */
async function parseError(chunks: (string | Uint8Array)[], maxMessageBytes = MAX): Promise<unknown> {
  return parse(chunks, maxMessageBytes).then(() => undefined, (e: unknown) => e);
}

const tooLarge = { name: 'ResponseTooLargeError', code: 'RS_ERR_RESPONSE_TOO_LARGE', details: { limit: MAX } };

/** A `data:` line of exactly `bytes` bytes (ASCII). */
const dataLine = (bytes: number): string => `data: ${'x'.repeat(bytes - 6)}`;

describe('parseSse: one message at the bound', () => {
  it('maxMessageBytes - 1 and exactly maxMessageBytes pass; + 1 throws ResponseTooLargeError', async () => {
    expect((await parse([`${dataLine(MAX - 1)}\n\n`], MAX))[0]!.data).toHaveLength(MAX - 7);
    expect((await parse([`${dataLine(MAX)}\n\n`], MAX))[0]!.data).toHaveLength(MAX - 6);
    const err = await parseError([`${dataLine(MAX + 1)}\n\n`]);
    expect(err).toBeInstanceOf(RingstoreError);
    expect(err).toMatchObject(tooLarge);
  });

  it('counts every line of the message (data, event, id), not each line alone', async () => {
    expect(await parse([`event: e\n${dataLine(50)}\n${dataLine(MAX - 50 - 8)}\n\n`], MAX)).toHaveLength(1);
    expect(await parseError([`event: e\n${dataLine(50)}\n${dataLine(MAX - 50 - 8 + 1)}\n\n`])).toMatchObject(tooLarge);
    // Two messages of MAX each are fine: the count starts again after each.
    expect(await parse([`${dataLine(MAX)}\n\n${dataLine(MAX)}\n\n`], MAX)).toHaveLength(2);
  });

  it('counts bytes, not characters (é is 2 bytes)', async () => {
    const at = `data: ${'é'.repeat((MAX - 6) / 2)}`; // 100 bytes, 53 characters
    expect((await parse([`${at}\n\n`], MAX))[0]!.data).toBe('é'.repeat(47));
    expect(await parseError([`${at}é\n\n`])).toMatchObject(tooLarge);
  });

  it('comment lines are not part of a message (heartbeats do not add up), but each is bounded', async () => {
    const pings = ': ping\n'.repeat(1000);
    expect(await parse([`${pings}${dataLine(MAX)}\n\n`], MAX)).toHaveLength(1);
    expect(await parse([`:${'c'.repeat(MAX - 1)}\n${dataLine(MAX)}\n\n`], MAX)).toHaveLength(1);
    expect(await parseError([`:${'c'.repeat(MAX)}\n${dataLine(10)}\n\n`])).toMatchObject(tooLarge);
  });

  it('the default bound is 1 MiB', async () => {
    const MiB = 1_048_576;
    expect((await parse([`${dataLine(MiB)}\n\n`]))[0]!.data).toHaveLength(MiB - 6);
    expect(await parse([`${dataLine(MiB + 1)}\n\n`]).catch((e: unknown) => e)).toMatchObject({ code: 'RS_ERR_RESPONSE_TOO_LARGE', details: { limit: MiB } });
  });
});

describe('parseSse: a line whose end has not come yet', () => {
  /** A body that sends `chunks`, then nothing more, ever (it stays open); `cancelled` tells when the reader let go. */
  function stalled(chunks: string[]): { body: ReadableStream<Uint8Array>; cancelled: () => boolean } {
    let cancelled = false;
    let i = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (i < chunks.length) c.enqueue(enc.encode(chunks[i++]!));
        else return new Promise<void>(() => undefined); // never more
      },
      cancel() {
        cancelled = true;
      },
    }, { highWaterMark: 0 });
    return { body, cancelled: () => cancelled };
  }

  it('a partial line of maxMessageBytes + 1 throws at once (no wait for its end) and cancels the body', async () => {
    const { parseSse } = await import('../../dist/src/client/sse.js');
    const s = stalled([dataLine(60), 'x'.repeat(MAX + 1 - 60)]);
    const it = (parseSse as (b: ReadableStream<Uint8Array>, o: { maxMessageBytes: number }) => AsyncGenerator<unknown>)(s.body, { maxMessageBytes: MAX });
    await expect(it.next()).rejects.toMatchObject(tooLarge);
    expect(s.cancelled()).toBe(true);
  }, 10_000);

  it('a partial line of exactly maxMessageBytes waits for its end', async () => {
    expect(await parse([dataLine(60), 'x'.repeat(MAX - 60), '\n\n'], MAX)).toHaveLength(1);
  });

  it('the lines before it in the message count: 60 + 41 bytes throws before the second line ends', async () => {
    const { parseSse } = await import('../../dist/src/client/sse.js');
    const s = stalled([`${dataLine(60)}\n`, dataLine(41)]);
    const it = (parseSse as (b: ReadableStream<Uint8Array>, o: { maxMessageBytes: number }) => AsyncGenerator<unknown>)(s.body, { maxMessageBytes: MAX });
    await expect(it.next()).rejects.toMatchObject(tooLarge);
  }, 10_000);

  it('a line that never ends: reading stops just past the bound (not at the end of memory)', async () => {
    const { parseSse } = await import('../../dist/src/client/sse.js');
    let sent = 0;
    let cancelled = false;
    const chunk = enc.encode('y'.repeat(16));
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent > 1_000 * MAX) return c.close(); // only so an unbounded reader ends the test: it must stop long before
        sent += chunk.length;
        c.enqueue(chunk);
      },
      cancel() {
        cancelled = true;
      },
    }, { highWaterMark: 0 });
    const it = (parseSse as (b: ReadableStream<Uint8Array>, o: { maxMessageBytes: number }) => AsyncGenerator<unknown>)(body, { maxMessageBytes: MAX });
    await expect(it.next()).rejects.toMatchObject(tooLarge);
    expect(sent).toBeGreaterThan(MAX);
    expect(sent).toBeLessThanOrEqual(MAX + 2 * chunk.length);
    expect(cancelled).toBe(true);
  }, 10_000);
});

describe('parseSse: lines are split on bytes', () => {
  it('a 2-byte and a 4-byte character cut between chunks are decoded whole', async () => {
    const bytes = enc.encode('data: é😀!\n\n');
    // Every cut of the message into three chunks.
    for (let a = 1; a < bytes.length; a++) {
      for (let b = a; b < bytes.length; b++) {
        const got = await parse([bytes.subarray(0, a), bytes.subarray(a, b), bytes.subarray(b)]);
        expect(got.map((m) => m.data), `cut at ${a}, ${b}`).toEqual(['é😀!']);
      }
    }
  });

  it('CR, LF and CRLF all end a line', async () => {
    expect(await parse(['data: a\rdata: b\r\r'])).toMatchObject([{ data: 'a\nb' }]);
    expect(await parse(['data: a\ndata: b\n\n'])).toMatchObject([{ data: 'a\nb' }]);
    expect(await parse(['data: a\r\ndata: b\r\n\r\n'])).toMatchObject([{ data: 'a\nb' }]);
    expect(await parse(['data: a\r\ndata: b\ndata: c\r\r\ndata: d\n\n'])).toMatchObject([{ data: 'a\nb\nc' }, { data: 'd' }]);
  });

  it('a CRLF cut between chunks is one line ending, not two (which would end the message)', async () => {
    expect(await parse(['data: a\r', '\ndata: b\r', '\n\r', '\n'])).toMatchObject([{ data: 'a\nb' }]);
    // A CR at the end of a chunk and a CR at the start of the next: two endings, the message ends.
    expect(await parse(['data: a\r', '\rdata: b\n\n'])).toMatchObject([{ data: 'a' }, { data: 'b' }]);
    // A CR at the end of a chunk and a field at the start of the next.
    expect(await parse(['data: a\r', 'data: b\r', '\r'])).toMatchObject([{ data: 'a\nb' }]);
    // Empty chunks between the CR and the LF.
    expect(await parse(['data: a\r', new Uint8Array(0), '\n', new Uint8Array(0), '\n'])).toMatchObject([{ data: 'a' }]);
  });

  it('every cut of a mixed stream gives the same messages', async () => {
    const text = 'id: 1\r\nevent: event\rdata: {"v":"é"}\r\n\r\n: ping\n\nid: 2\ndata: x\r\rdata: 😀\n\n';
    const bytes = enc.encode(text);
    const whole = await parse([bytes]);
    expect(whole).toEqual([{ id: '1', event: 'event', data: '{"v":"é"}' }, { id: '2', event: 'message', data: 'x' }, { id: '2', event: 'message', data: '😀' }]);
    for (let a = 1; a < bytes.length; a++) expect(await parse([bytes.subarray(0, a), bytes.subarray(a)]), `cut at ${a}`).toEqual(whole);
    expect(await parse([...bytes].map((b) => new Uint8Array([b])))).toEqual(whole);
  });

  it('a leading byte order mark is dropped; a U+FEFF later in a line is kept', async () => {
    expect(await parse([new Uint8Array([0xef, 0xbb]), new Uint8Array([0xbf]), 'data: a\ufeff\n\n'])).toMatchObject([{ data: 'a\ufeff' }]);
  });

  it('an invalid UTF-8 byte becomes U+FFFD', async () => {
    expect(await parse([enc.encode('data: a'), new Uint8Array([0xff]), enc.encode('b\n\n')])).toMatchObject([{ data: 'a\ufffdb' }]);
  });
});

describe('RingstoreClient.subscribe: maxSseMessageBytes', () => {
  const servers: http.Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => { s.closeAllConnections(); s.close(r); })));
  });

  /** A daemon stand-in whose subscription sends `body` (and stays open when `keepOpen`); counts the connections. */
  async function sse(body: string, keepOpen = false): Promise<{ url: string; connections: () => number }> {
    let n = 0;
    const server = http.createServer((_req, res) => {
      n++;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (keepOpen) res.write(body);
      else res.end(body);
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => n };
  }

  /** An SSE message of one event whose `event:` and `data:` lines are `bytes` long in all. */
  function eventMessage(version: number, bytes: number): string {
    const head = `event: event\n`;
    const json = (pad: string): string => JSON.stringify({ id: `e${version}`, version, timestamp: '2026-01-01T00:00:00.000Z', pad });
    const base = head.length - 1 + 'data: '.length + json('').length;
    return `id: ${version}\n${head}data: ${json('p'.repeat(bytes - base - `id: ${version}`.length))}\n\n`;
  }

  it('exports ResponseTooLargeError with its code', () => {
    const E = (clientApi as Record<string, unknown>).ResponseTooLargeError as new (limit: number) => Error;
    expect(typeof E).toBe('function');
    expect(new E(5)).toMatchObject({ code: 'RS_ERR_RESPONSE_TOO_LARGE', details: { limit: 5 } });
    expect(new E(5)).toBeInstanceOf(RingstoreError);
  });

  it('a message of exactly maxSseMessageBytes is delivered; one byte more ends the subscription, without reconnecting', async () => {
    const limit = 4096;
    const ok = await sse(eventMessage(1, limit));
    const c = new RingstoreClient({ baseUrl: ok.url, retries: 3, retryBaseMs: 1, maxSseMessageBytes: limit } as never);
    const got: { version: number }[] = [];
    for await (const e of c.subscribe('a', { reconnect: false })) got.push(e);
    expect(got.map((e) => e.version)).toEqual([1]);

    const over = await sse(eventMessage(1, limit + 1));
    const c2 = new RingstoreClient({ baseUrl: over.url, retries: 3, retryBaseMs: 1, maxSseMessageBytes: limit } as never);
    const err = await (async () => {
      for await (const _ of c2.subscribe('a')) { /* none */ }
    })().catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ResponseTooLargeError', code: 'RS_ERR_RESPONSE_TOO_LARGE', details: { limit } });
    expect(over.connections()).toBe(1);
  });

  it('a line that never ends over a connection that stays open ends the subscription', async () => {
    const s = await sse(`data: ${'z'.repeat(2 * 1_048_576)}`, true);
    const c = new RingstoreClient({ baseUrl: s.url, retries: 3, retryBaseMs: 1 });
    const err = await (async () => {
      for await (const _ of c.subscribe('a')) { /* none */ }
    })().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'RS_ERR_RESPONSE_TOO_LARGE', details: { limit: 1_048_576 } });
    expect(s.connections()).toBe(1);
  }, 10_000);

  it('maxSseMessageBytes is validated up front: a positive integer', () => {
    for (const v of [1, 1_048_576, Number.MAX_SAFE_INTEGER]) expect(() => new RingstoreClient({ maxSseMessageBytes: v } as never)).not.toThrow();
    for (const v of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '5', null]) {
      let err: unknown;
      try {
        new RingstoreClient({ maxSseMessageBytes: v } as never);
      } catch (e) {
        err = e;
      }
      expect(err, String(v)).toMatchObject({ code: 'RS_ERR_INVALID_OPTION', name: 'InvalidClientOptionError' });
    }
  });
});
