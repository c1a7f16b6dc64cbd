/**
 * A server-sent events parser over a fetch body (`text/event-stream`), as the
 * WHATWG HTML standard interprets an event stream, with a bound on a message's size.
 *
 * Each chunk is decoded in one call (a streaming decoder completes a character
 * cut between two chunks) and its lines are split in the text: CR and LF bytes
 * never occur inside a multi-byte UTF-8 character, so the text's line endings are
 * the bytes' own, one for one. A line ends with CR, LF or CRLF; a CRLF cut
 * between two chunks is one ending. Sizes are bytes, counted without copying:
 * see {@link ChunkSizes}.
 */
import { ResponseTooLargeError } from './errors.js';

/** The default bound of one message, in bytes (1 MiB). */
export const DEFAULT_MAX_SSE_MESSAGE_BYTES = 1_048_576;

const CR = 0x0d;
const LF = 0x0a;
const COLON = 0x3a;
const SPACE = 0x20;
const BOM = [0xef, 0xbb, 0xbf];

/** One SSE message. */
export interface SseMessage {
  /** The last event id seen (it carries over to the following messages, as the standard says). */
  id: string | undefined;
  event: string;
  data: string;
}

/** Options of {@link parseSse}. */
export interface ParseSseOptions {
  /**
   * The largest message, in bytes: the bytes of its lines (`data:`, `event:`,
   * `id:`, any field), line endings not counted. A comment line is no part of a
   * message but is bounded alike. Default {@link DEFAULT_MAX_SSE_MESSAGE_BYTES}.
   */
  maxMessageBytes?: number;
}

const tooLarge = (max: number): ResponseTooLargeError =>
  new ResponseTooLargeError(max, `an SSE message (or one of its lines) is larger than maxSseMessageBytes (${max} bytes)`);

/**
 * How a chunk's lines are sized in bytes. `Same`: the chunk is one UTF-16 unit
 * per byte (ASCII, or invalid bytes each replaced by one U+FFFD), so a line's
 * bytes are its length. `Utf8`: the text has no U+FFFD, so a line's bytes are
 * its characters' UTF-8 lengths. `Bytes`: a U+FFFD stands for 1 to 3 bytes, so
 * each line's end is found in the bytes too. A line begun in an earlier chunk
 * and the unfinished last one are always sized from the bytes (part of their
 * characters may be in the other chunk).
 */
const enum ChunkSizes { Same, Utf8, Bytes }

/** UTF-8 bytes of `s[from, to)`, for text decoded from valid UTF-8 (no U+FFFD, no lone surrogate). */
function utf8Bytes(s: string, from: number, to: number): number {
  let n = to - from;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    // 2 bytes below U+0800, 4 for a surrogate pair (2 per unit), else 3.
    if (c >= 0x80) n += c < 0x800 || (c >= 0xd800 && c < 0xe000) ? 1 : 2;
  }
  return n;
}

/** `bytes` of a line whose size is not counted yet: its text is UTF-8 without U+FFFD (see {@link utf8Bytes}). */
const UNSIZED = -1;

/**
 * The length of the field name a line opens with when it is `data`, `event` or
 * `id`, alone or before a colon; 0 for any other line (ignored: `retry` too, the
 * client reconnects with its own backoff). Char codes rather than a search for
 * the colon: the daemon's `id:` and `data:` lines cost no call.
 */
function fieldName(s: string, from: number, to: number): number {
  let n: number;
  // The name's letters are checked first: once they match, the line's ending is not among them.
  const c = s.charCodeAt(from);
  if (c === 0x64) n = s.charCodeAt(from + 1) === 0x61 && s.charCodeAt(from + 2) === 0x74 && s.charCodeAt(from + 3) === 0x61 ? 4 : 0; // data
  else if (c === 0x69) n = s.charCodeAt(from + 1) === 0x64 ? 2 : 0; // id
  else n = c === 0x65 && s.startsWith('vent', from + 1) ? 5 : 0; // event
  return n !== 0 && (from + n === to || s.charCodeAt(from + n) === COLON) ? n : 0;
}

/** The message being read: its fields so far and its size. */
class MessageReader {
  #id: string | undefined;
  #event = '';
  #data: string[] = [];
  /** The bytes of its lines so far, but for the values in `#unsized`. */
  #bytes = 0;
  /**
   * Values (`data`, `event`, `id`) whose bytes are not counted yet, and their UTF-16 units: each
   * is 1 to 3 bytes, so they are counted (a loop over every character) only
   * when 3 bytes each could pass the bound, which a message far below it never does.
   */
  #unsized: string[] = [];
  #unsizedUnits = 0;
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  /** Whether the message, with `extra` bytes more, is within the bound. */
  fits(extra: number): boolean {
    if (this.#bytes + 3 * this.#unsizedUnits + extra <= this.#max) return true;
    for (const v of this.#unsized) this.#bytes += utf8Bytes(v, 0, v.length);
    this.#unsized = [];
    this.#unsizedUnits = 0;
    return this.#bytes + extra <= this.#max;
  }

  /**
   * Takes the line `s[from, to)` of `bytes` bytes (or {@link UNSIZED}); returns
   * the message a blank line ends, when it has data.
   */
  line(s: string, from: number, to: number, bytes: number): SseMessage | undefined {
    if (from === to) {
      const data = this.#data;
      const message = data.length === 0 ? undefined : { id: this.#id, event: this.#event === '' ? 'message' : this.#event, data: data.length === 1 ? data[0]! : data.join('\n') };
      this.#event = '';
      this.#data = [];
      this.#bytes = 0;
      if (this.#unsizedUnits > 0) {
        this.#unsized = [];
        this.#unsizedUnits = 0;
      }
      return message;
    }
    if (s.charCodeAt(from) === COLON) {
      if (bytes === UNSIZED && 3 * (to - from) > this.#max) bytes = utf8Bytes(s, from, to);
      if (bytes > this.#max) throw tooLarge(this.#max);
      return undefined;
    }
    const name = fieldName(s, from, to);
    if (name === 0) {
      this.#bytes += bytes === UNSIZED ? utf8Bytes(s, from, to) : bytes;
      if (!this.fits(0)) throw tooLarge(this.#max);
      return undefined;
    }
    let v = Math.min(from + name + 1, to); // after the colon, if any
    if (v < to && s.charCodeAt(v) === SPACE) v++;
    // The value is a slice of the chunk's text: the client parses it at once, and keeps neither.
    const value = s.slice(v, to);
    if (bytes !== UNSIZED) this.#bytes += bytes;
    else {
      this.#bytes += v - from; // the name, the colon and the space: ASCII
      this.#unsized.push(value);
      this.#unsizedUnits += to - v;
    }
    if (!this.fits(0)) throw tooLarge(this.#max);
    if (name === 4) this.#data.push(value);
    else if (name === 5) this.#event = value;
    else if (!value.includes('\0')) this.#id = value;
    return undefined;
  }
}

/**
 * The lines of an event stream, chunk by chunk, taken into messages; synchronous,
 * so that the generator around it (whose every `yield` saves its frame) stays small.
 */
class ChunkReader {
  readonly #max: number;
  // ignoreBOM: a U+FEFF opening a later line is data; only the stream's first one is dropped (`#head`).
  readonly #decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  /**
   * For a chunk with no character cut at either end, which needs no streaming:
   * Node decodes it several times faster when it is ASCII (and then gives a
   * one-byte string), but a decoder called once with `stream` never again.
   */
  readonly #whole = new TextDecoder('utf-8', { ignoreBOM: true });
  #wasAscii = true; // the last chunk was ASCII: so is the next one, likely
  readonly #message: MessageReader;
  #head: Uint8Array | undefined = new Uint8Array(0); // the stream's first bytes while they may still be a BOM
  #pending = ''; // the text of the line whose ending has not come yet
  #pendingBytes = 0; // its bytes, with those of a character the decoder still holds
  #pendingComment = false; // it begins with a colon
  #afterCR = false; // the last chunk ended with CR: an LF opening the next one is the same ending
  #endedAscii = true; // the last chunk ended with an ASCII byte: the decoder holds no part of a character

  constructor(max: number) {
    this.#max = max;
    this.#message = new MessageReader(max);
  }

  /**
   * Takes the next chunk of the body; appends the messages it ends to `out`.
   * Throws {@link ResponseTooLargeError} where the bound is passed (`out` then
   * holds the messages before it).
   */
  push(chunk: Uint8Array, out: SseMessage[]): void {
    if (this.#head !== undefined) {
      const head = this.#head;
      let seen = chunk;
      if (head.length > 0) {
        seen = new Uint8Array(head.length + chunk.length);
        seen.set(head);
        seen.set(chunk, head.length);
      }
      let bom = 0;
      while (bom < BOM.length && bom < seen.length && seen[bom] === BOM[bom]) bom++;
      if (bom === seen.length && bom < BOM.length) {
        this.#head = seen;
        return;
      }
      this.#head = undefined;
      chunk = bom === BOM.length ? seen.subarray(BOM.length) : seen;
    }
    if (chunk.length === 0) return;
    const message = this.#message;
    const lastByte = chunk[chunk.length - 1]!;
    const whole = this.#endedAscii && lastByte < 0x80; // the streaming decoder holds nothing, and will hold nothing
    // A non-ASCII chunk is decoded faster by the streaming decoder (ICU).
    const text = whole && this.#wasAscii ? this.#whole.decode(chunk) : this.#decoder.decode(chunk, { stream: true });
    const sizes = whole && text.length === chunk.length ? ChunkSizes.Same : text.includes('\ufffd') ? ChunkSizes.Bytes : ChunkSizes.Utf8;
    this.#endedAscii = lastByte < 0x80;
    this.#wasAscii = sizes === ChunkSizes.Same;
    let pos = 0; // where the next line begins in `text`
    let at = 0; // the same in `chunk`, while the lines are sized from the bytes
    if (this.#afterCR) {
      this.#afterCR = false;
      if (chunk[0] === LF) pos = at = 1;
    }
    let first = true; // the next line is the one `#pending` began
    // The next CR and LF at or after `pos`, each searched again only once passed: linear in the chunk.
    let nextCR = text.indexOf('\r', pos);
    let nextLF = text.indexOf('\n', pos);
    while (nextCR >= 0 || nextLF >= 0) {
      const end = nextCR < 0 ? nextLF : nextLF < 0 ? nextCR : Math.min(nextCR, nextLF);
      let bytes: number;
      if (sizes === ChunkSizes.Same) bytes = end - pos;
      else if (sizes === ChunkSizes.Utf8 && !first) bytes = UNSIZED;
      else {
        // The first CR or LF byte from `at` is this ending (the endings correspond one for one).
        const b = chunk.indexOf(text.charCodeAt(end), at);
        bytes = b - at;
        at = b + 1;
      }
      let m: SseMessage | undefined;
      if (!first) m = message.line(text, pos, end, bytes);
      else {
        first = false;
        if (this.#pending === '') m = message.line(text, pos, end, this.#pendingBytes + bytes);
        else {
          const line = this.#pending + text.slice(pos, end);
          m = message.line(line, 0, line.length, this.#pendingBytes + bytes);
          this.#pending = '';
        }
        this.#pendingBytes = 0;
      }
      if (m !== undefined) out.push(m);
      pos = end + 1;
      if (text.charCodeAt(end) === CR) {
        if (pos === text.length) this.#afterCR = lastByte === CR;
        else if (text.charCodeAt(pos) === LF) {
          pos++;
          at++;
        }
      }
      if (nextCR >= 0 && nextCR < pos) nextCR = text.indexOf('\r', pos);
      if (nextLF >= 0 && nextLF < pos) nextLF = text.indexOf('\n', pos);
    }
    // The unfinished last line: its text so far, and its bytes (with any the decoder holds).
    const tailBytes = sizes === ChunkSizes.Same ? text.length - pos
      : pos === 0 ? chunk.length : chunk.length - 1 - chunk.lastIndexOf(text.charCodeAt(pos - 1));
    if (tailBytes > 0) {
      if (this.#pending === '') this.#pendingComment = text.charCodeAt(pos) === COLON;
      this.#pending += pos === 0 ? text : text.slice(pos);
      this.#pendingBytes += tailBytes;
      if (this.#pendingComment ? this.#pendingBytes > this.#max : !message.fits(this.#pendingBytes)) throw tooLarge(this.#max);
    }
  }
}

/**
 * Yields the messages of an SSE body until it ends; an unfinished message at the
 * end is dropped, comment lines are skipped. Throws {@link ResponseTooLargeError}
 * as soon as a message, or a line whose ending has not come yet, is larger than
 * `maxMessageBytes` (so an endless line cannot fill the memory); the body is then cancelled.
 */
export async function* parseSse(body: ReadableStream<Uint8Array>, options: ParseSseOptions = {}): AsyncGenerator<SseMessage> {
  const lines = new ChunkReader(options.maxMessageBytes ?? DEFAULT_MAX_SSE_MESSAGE_BYTES);
  const reader = body.getReader();
  const out: SseMessage[] = [];
  try {
    for (;;) {
      const read = await reader.read();
      if (read.done) return;
      let error: unknown;
      try {
        lines.push(read.value, out);
      } catch (e) {
        error = e;
      }
      // The messages before a line too large come first, as they would one line at a time.
      for (let i = 0; i < out.length; i++) yield out[i]!;
      out.length = 0;
      if (error !== undefined) throw error;
    }
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => undefined);
  }
}
