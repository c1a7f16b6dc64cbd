/**
 * An ingest thread's reading of a bulk body (a JSON array, or NDJSON lines):
 * the events, or `undefined` when the body is not certainly fine, in which
 * case the main thread parses it again with the daemon's own parsers
 * (body-parsers.ts) and answers exactly as it always did. Nothing here
 * decides an error answer: it only has to never accept what those parsers
 * refuse.
 */

import type { EventSource } from './event-json.js';

/**
 * Text that could carry a prototype-poisoning key (`__proto__`, `constructor`,
 * or either spelled with `\u` escapes): it takes the safe parser.
 */
export const SUSPECT_JSON = /__proto__|constructor|\\u/;

/** Fatal on bytes that are not UTF-8; a byte-order mark is kept (as `Buffer#toString`), so JSON.parse refuses it as the main thread would. */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The events of a JSON-array or NDJSON body, or undefined (the main thread
 * decides). `source`, if given, gets the text they came from (event-json.ts).
 */
export function readBulkBody(bytes: Uint8Array, ndjson: boolean, source?: { text?: EventSource }): unknown[] | undefined {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return undefined;
  }
  if (!ndjson) {
    if (SUSPECT_JSON.test(text)) return undefined;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return undefined;
    }
    if (!Array.isArray(body)) return undefined;
    if (source !== undefined) source.text = { kind: 'array', text };
    return body;
  }
  const out: unknown[] = [];
  const lines: string[] = [];
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end).trim();
    start = end + 1;
    if (line === '') continue;
    if (SUSPECT_JSON.test(line)) return undefined;
    try {
      out.push(JSON.parse(line));
    } catch {
      return undefined;
    }
    lines.push(line);
  }
  if (source !== undefined) source.text = { kind: 'lines', lines };
  return out;
}
