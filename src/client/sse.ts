/**
 * A server-sent events parser over a fetch body (`text/event-stream`), as the
 * WHATWG HTML standard interprets an event stream, with a bound on a message's size.
 *
 * Lines are split on bytes, before decoding: CR and LF bytes never occur inside
 * a multi-byte UTF-8 character, so a character cut between two chunks is decoded
 * whole, and a line's size is known before it is decoded (or has ended). A line
 * ends with CR, LF or CRLF; a CRLF cut between two chunks is one ending.
 */
import { ResponseTooLargeError } from './errors.js';

/** The default bound of one message, in bytes (1 MiB). */
export const DEFAULT_MAX_SSE_MESSAGE_BYTES = 1_048_576;

const CR = 0x0d;
const LF = 0x0a;
const COLON = 0x3a;
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

/** `parts` joined into one array. */
function concat(parts: readonly Uint8Array[], bytes: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(bytes);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Yields the messages of an SSE body until it ends; an unfinished message at the
 * end is dropped, comment lines are skipped. Throws {@link ResponseTooLargeError}
 * as soon as a message, or a line whose ending has not come yet, is larger than
 * `maxMessageBytes` (so an endless line cannot fill the memory); the body is then cancelled.
 */
export async function* parseSse(body: ReadableStream<Uint8Array>, options: ParseSseOptions = {}): AsyncGenerator<SseMessage> {
  const max = options.maxMessageBytes ?? DEFAULT_MAX_SSE_MESSAGE_BYTES;
  // ignoreBOM: a U+FEFF opening a later line is data; only the stream's first one is dropped (below).
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  const reader = body.getReader();
  let head: Uint8Array | undefined = new Uint8Array(0); // the stream's first bytes while they may still be a BOM
  let parts: Uint8Array[] = []; // the current line's bytes, before its ending has come
  let partBytes = 0;
  let afterCR = false; // the last chunk ended with CR: an LF opening the next one is the same ending
  let messageBytes = 0;
  let id: string | undefined;
  let event = '';
  let data: string[] = [];
  const tooLarge = (): ResponseTooLargeError =>
    new ResponseTooLargeError(max, `an SSE message (or one of its lines) is larger than maxSseMessageBytes (${max} bytes)`);
  try {
    for (;;) {
      const read = await reader.read();
      if (read.done) return;
      let chunk = read.value;
      if (head !== undefined) {
        const seen = concat([head, chunk], head.length + chunk.length);
        const bomSoFar = seen.every((b, i) => i >= BOM.length || b === BOM[i]);
        if (seen.length < BOM.length && bomSoFar) {
          head = seen;
          continue;
        }
        head = undefined;
        chunk = bomSoFar ? seen.subarray(BOM.length) : seen;
      }
      let start = 0;
      if (afterCR && chunk.length > 0) {
        afterCR = false;
        if (chunk[0] === LF) start = 1;
      }
      // The next CR and LF at or after `start`, each searched again only once passed: linear in the chunk.
      let nextCR = chunk.indexOf(CR, start);
      let nextLF = chunk.indexOf(LF, start);
      while (nextCR >= 0 || nextLF >= 0) {
        const end = nextCR < 0 ? nextLF : nextLF < 0 ? nextCR : Math.min(nextCR, nextLF);
        parts.push(chunk.subarray(start, end));
        const line = concat(parts, partBytes + end - start);
        parts = [];
        partBytes = 0;
        start = end + 1;
        if (chunk[end] === CR) {
          if (start === chunk.length) afterCR = true;
          else if (chunk[start] === LF) start++;
        }
        if (nextCR >= 0 && nextCR < start) nextCR = chunk.indexOf(CR, start);
        if (nextLF >= 0 && nextLF < start) nextLF = chunk.indexOf(LF, start);

        if (line.length === 0) {
          // The blank line ends the message: dispatch it when it has data.
          if (data.length > 0) yield { id, event: event === '' ? 'message' : event, data: data.join('\n') };
          event = '';
          data = [];
          messageBytes = 0;
          continue;
        }
        if (line[0] === COLON) {
          if (line.length > max) throw tooLarge();
          continue;
        }
        messageBytes += line.length;
        if (messageBytes > max) throw tooLarge();
        const text = decoder.decode(line);
        const colon = text.indexOf(':');
        const field = colon < 0 ? text : text.slice(0, colon);
        let value = colon < 0 ? '' : text.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'data') data.push(value);
        else if (field === 'event') event = value;
        else if (field === 'id' && !value.includes('\0')) id = value;
        // `retry` and unknown fields are ignored: the client reconnects with its own backoff.
      }
      if (start < chunk.length) {
        // A copy: the rest of the line must not keep the whole chunk alive.
        parts.push(chunk.slice(start));
        partBytes += chunk.length - start;
        const first = parts[0]![0];
        if (partBytes > (first === COLON ? max : max - messageBytes)) throw tooLarge();
      }
    }
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => undefined);
  }
}
