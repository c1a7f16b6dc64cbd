// The client's SSE reader gives the same result however the body is cut into chunks: for random valid event
// streams (multi-byte UTF-8 of 2, 3 and 4 bytes, CR, LF and CRLF endings, comments, fields without a colon or
// without the space, unknown fields, an id with NUL, a leading byte order mark, an unfinished last line), any
// cut gives the messages of the stream in one chunk, and those are the messages a plain reading of the
// standard gives (decode, split on CRLF | CR | LF, then fields). With a bound (maxMessageBytes), any cut gives
// the same messages before the same ResponseTooLargeError, or the same messages and no error. Bytes that are not
// UTF-8 become the same U+FFFD however they are cut.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

interface Message { id: string | undefined; event: string; data: string }
type Parse = (b: ReadableStream<Uint8Array>, o?: { maxMessageBytes?: number }) => AsyncGenerator<Message>;

const enc = new TextEncoder();

/** What the reader yields for `chunks`, and the code of what it threw (if it did). */
async function run(chunks: Uint8Array[], maxMessageBytes?: number): Promise<{ messages: Message[]; error: string | undefined }> {
  const { parseSse } = (await import('../../dist/src/client/sse.js')) as unknown as { parseSse: Parse };
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      for (const ch of chunks) c.enqueue(ch);
      c.close();
    },
  });
  const messages: Message[] = [];
  try {
    for await (const m of parseSse(body, maxMessageBytes === undefined ? undefined : { maxMessageBytes })) messages.push(m);
  } catch (e) {
    return { messages, error: (e as { code?: string }).code ?? String(e) };
  }
  return { messages, error: undefined };
}

/** The standard read plainly, on the whole text at once (no bound). */
function reference(text: string): Message[] {
  const lines = (text.startsWith('\ufeff') ? text.slice(1) : text).split(/\r\n|\r|\n/);
  lines.pop(); // the last line has no ending (or is the empty string after the last one): never taken
  const out: Message[] = [];
  let id: string | undefined;
  let event = '';
  let data: string[] = [];
  for (const line of lines) {
    if (line === '') {
      if (data.length > 0) out.push({ id, event: event === '' ? 'message' : event, data: data.join('\n') });
      event = '';
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
    else if (field === 'id' && !value.includes('\0')) id = value;
  }
  return out;
}

/** Text of a line: ASCII, 2-, 3- and 4-byte characters, colons, spaces and NUL; never CR or LF. */
const lineText = fc.array(fc.constantFrom('a', 'Z', '0', ' ', ':', '{', '"', 'é', 'ß', '€', '東', '😀', '\u{10FFFF}', '\ufeff', '\0'), { maxLength: 12 }).map((cs) => cs.join(''));
const line = fc.oneof(
  { arbitrary: lineText.map((v) => `data: ${v}`), weight: 5 },
  { arbitrary: lineText.map((v) => `data:${v}`), weight: 1 },
  { arbitrary: lineText.map((v) => `event: ${v}`), weight: 2 },
  { arbitrary: lineText.map((v) => `id: ${v}`), weight: 2 },
  { arbitrary: lineText.map((v) => `:${v}`), weight: 2 },
  { arbitrary: fc.constantFrom('data', 'event', 'id', 'retry: 1000', 'other: x', ' data: y'), weight: 1 },
  { arbitrary: fc.constant(''), weight: 4 },
);
const ending = fc.constantFrom('\n', '\r', '\r\n');
/** A stream: lines with endings, maybe a byte order mark first, maybe an unfinished line last. */
const stream = fc.record({
  bom: fc.boolean(),
  lines: fc.array(fc.tuple(line, ending), { maxLength: 25 }),
  last: fc.oneof(fc.constant(''), line),
}).map(({ bom, lines, last }) => `${bom ? '\ufeff' : ''}${lines.map(([l, e]) => l + e).join('')}${last}`);

/** `bytes` cut into chunks of the given sizes (in turn, again from the first when they run out); empty chunks too. */
function cut(bytes: Uint8Array, sizes: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = sizes[i % sizes.length]!;
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}
const sizes = fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 8 }).filter((s) => s.some((n) => n > 0));

describe('parseSse: the chunks do not matter', () => {
  it('any cut gives the messages of one chunk, which are the standard read plainly', async () => {
    await fc.assert(fc.asyncProperty(stream, sizes, async (text, cuts) => {
      const bytes = enc.encode(text);
      const whole = await run([bytes]);
      expect(whole).toEqual({ messages: reference(text), error: undefined });
      expect(await run(cut(bytes, cuts))).toEqual(whole);
      expect(await run([...bytes].map((b) => new Uint8Array([b])))).toEqual(whole);
    }), { numRuns: 300 });
  });

  it('with a bound, any cut gives the same messages, then the same error or none', async () => {
    await fc.assert(fc.asyncProperty(stream, sizes, fc.integer({ min: 1, max: 60 }), async (text, cuts, max) => {
      const bytes = enc.encode(text);
      const whole = await run([bytes], max);
      expect(await run(cut(bytes, cuts), max)).toEqual(whole);
      expect(await run([...bytes].map((b) => new Uint8Array([b])), max)).toEqual(whole);
    }), { numRuns: 300 });
  });

  it('invalid UTF-8 (a byte alone, a character cut short) is replaced alike, however it is cut', async () => {
    const junk = fc.array(fc.constantFrom(0xff, 0x80, 0xbf, 0xc3, 0xe2, 0x82, 0xf0, 0x9f, 0xed, 0xa0), { minLength: 1, maxLength: 4 });
    const withJunk = fc.tuple(stream, fc.array(fc.tuple(fc.nat(), junk), { maxLength: 4 })).map(([text, inserts]) => {
      const bytes = [...enc.encode(text)];
      for (const [at, js] of inserts) bytes.splice(bytes.length === 0 ? 0 : at % bytes.length, 0, ...js);
      return new Uint8Array(bytes);
    });
    await fc.assert(fc.asyncProperty(withJunk, sizes, async (bytes, cuts) => {
      const whole = await run([bytes]);
      expect(await run(cut(bytes, cuts))).toEqual(whole);
      expect(await run([...bytes].map((b) => new Uint8Array([b])))).toEqual(whole);
    }), { numRuns: 300 });
  });
});
