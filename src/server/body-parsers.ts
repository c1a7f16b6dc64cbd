/**
 * The daemon's body parsers, and its one rule for charsets: bodies are JSON
 * (`application/json`) or NDJSON (`application/x-ndjson`, `application/ndjson`,
 * `application/jsonl`) in UTF-8, uncompressed. A `charset` parameter other than
 * UTF-8, or a `Content-Encoding` other than `identity`, is 415
 * `RS_ERR_UNSUPPORTED_MEDIA_TYPE`, bytes that are not UTF-8 are 400
 * `RS_ERR_INVALID_JSON`, any other content type is 415. An empty body is no
 * body, whatever its JSON content type (as the reference, whose clients set
 * the header on every request): routes without a body accept it, routes that
 * need one answer 400.
 *
 * With an ingest pool, the bulk bodies of `POST /streams/…` and `POST /metrics`
 * (a JSON array, or NDJSON) are not parsed here: their bytes are set aside for
 * an ingest thread (ingest/pooled-body.ts), and the route reads them back
 * with {@link BodyParsers.parse} if that thread gives them back.
 */
import { isUtf8 } from 'node:buffer';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError } from './errors.js';
import { SUSPECT_JSON } from './ingest/bulk-body.js';
import type { EventSource } from './ingest/event-json.js';
import { isBulkRoute, poolBody } from './ingest/pooled-body.js';

const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)"?/i;
const UTF8 = /^utf-?8$/i;
const NDJSON_TYPES = ['application/x-ndjson', 'application/ndjson', 'application/jsonl'];

const EVENT_SOURCE = Symbol('ringstore.eventSource');
type WithSource = FastifyRequest & { [EVENT_SOURCE]?: EventSource };

/**
 * 415 for a charset other than UTF-8, and for a compressed body: without this
 * check a gzip body was read as text and answered "not valid UTF-8", and a
 * body labelled gzip but sent plain was stored as if the label were absent.
 */
function checkCharset(request: FastifyRequest): void {
  const encoding = request.headers['content-encoding'];
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity' && encoding.trim() !== '') {
    throw new HttpError('RS_ERR_UNSUPPORTED_MEDIA_TYPE', `content-encoding "${encoding.slice(0, 32)}" is not supported: send bodies uncompressed`);
  }
  const type = request.headers['content-type'];
  if (type !== undefined && type.includes(';')) {
    const m = CHARSET.exec(type);
    if (m !== null && !UTF8.test(m[1])) throw new HttpError('RS_ERR_UNSUPPORTED_MEDIA_TYPE', `charset "${m[1].slice(0, 32)}" is not supported: bodies are UTF-8`);
  }
}

/** The body as text: 400 for bytes that are not UTF-8, undefined when empty. */
function decode(body: Buffer): string | undefined {
  if (body.length === 0) return undefined;
  if (!isUtf8(body)) throw new HttpError('RS_ERR_INVALID_JSON', 'the body is not valid UTF-8');
  return body.toString('utf8');
}

/** The first byte that is not JSON whitespace is `[`. */
function startsArray(body: Buffer): boolean {
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return c === 0x5b;
  }
  return false;
}

type Done = (err: Error | null, body?: unknown) => void;
type SafeParse = (request: FastifyRequest, text: string, done: Done) => void;

/** The body's text (undefined when empty), or null once `done` has its decoding error. */
function textOf(body: Buffer, done: Done): string | undefined | null {
  try {
    return decode(body);
  } catch (err) {
    done(err as Error);
    return null;
  }
}

function parseJson(safeParse: SafeParse, request: FastifyRequest, body: Buffer, done: Done): void {
  const text = textOf(body, done);
  if (text === undefined) done(null, undefined);
  else if (text !== null) {
    // As NDJSON lines below: text that cannot carry a prototype-poisoning key is plain JSON.parse (the safe
    // parser's scans were ~2% of the main thread on single-event POSTs); any other text, or text that does
    // not parse, goes through the safe parser, which gives the same value or the same error as before.
    if (!SUSPECT_JSON.test(text)) {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        safeParse(request, text, done);
        return;
      }
      // An array's text stays on the request: a bulk append stores each event's own JSON from it (ingest/event-json.ts).
      if (Array.isArray(value)) (request as WithSource)[EVENT_SOURCE] = { kind: 'array', text };
      done(null, value);
    } else safeParse(request, text, done);
  }
}

function parseNdjson(safeParse: SafeParse, request: FastifyRequest, body: Buffer, done: Done): void {
  const text = textOf(body, done);
  if (text === null) return;
  if (text === undefined) {
    done(null, undefined);
    return;
  }
  const lines = text.split('\n');
  const out: unknown[] = [];
  // Each event's line, for a bulk append to store as its JSON (undefined: a line the safe parser took).
  const texts: (string | undefined)[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    // A line that cannot carry a prototype-poisoning key (no `__proto__`, `constructor` or `\u` escape) is
    // plain JSON.parse; anything else, and any line that does not parse, goes through the safe parser.
    if (!SUSPECT_JSON.test(line)) {
      try {
        out.push(JSON.parse(line));
        texts.push(line);
        continue;
      } catch { /* the safe parser below gives the error message */ }
    }
    let failed: Error | undefined;
    safeParse(request, line, (err, value) => {
      if (err) failed = err;
      else {
        out.push(value);
        texts.push(undefined);
      }
    });
    if (failed !== undefined) {
      done(new HttpError('RS_ERR_INVALID_JSON', `NDJSON line ${i + 1} is not valid JSON: ${failed.message}`));
      return;
    }
  }
  (request as unknown as { ndjson: boolean }).ndjson = true;
  (request as WithSource)[EVENT_SOURCE] = { kind: 'lines', lines: texts };
  done(null, out);
}


/** The text a parsed JSON-array or NDJSON body came from (taken once), if this module parsed it. */
export function takeEventSource(request: FastifyRequest): EventSource | undefined {
  const r = request as WithSource;
  const source = r[EVENT_SOURCE];
  if (source !== undefined) r[EVENT_SOURCE] = undefined;
  return source;
}

/** The parsers, for a route that gets a set-aside body back. */
export interface BodyParsers {
  /** Parses a body as the content-type parser would have: the value, or its error (thrown). */
  parse(request: FastifyRequest, body: Buffer, ndjson: boolean): unknown;
}

/**
 * Replaces fastify's JSON parser and adds the NDJSON one (a parsed NDJSON body
 * is an array; `request.ndjson` is set). `pooled`: set bulk bodies aside for
 * the ingest pool.
 */
export function registerBodyParsers(app: FastifyInstance, options: { pooled?: boolean } = {}): BodyParsers {
  const safeParse = app.getDefaultJsonParser('error', 'error') as SafeParse;
  const pooled = options.pooled === true;
  app.removeContentTypeParser(['application/json', 'text/plain']);

  const parsers: BodyParsers = {
    parse(request, body, ndjson) {
      let out: { err: Error | null; value?: unknown } | undefined;
      (ndjson ? parseNdjson : parseJson)(safeParse, request, body, (err, value) => (out = { err, value }));
      if (out === undefined) throw new Error('a body parser did not answer synchronously');
      if (out.err !== null) throw out.err;
      return out.value;
    },
  };

  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done: Done) => {
    try {
      checkCharset(request);
    } catch (err) {
      done(err as Error);
      return;
    }
    if (pooled && isBulkRoute(request) && startsArray(body as Buffer)) done(null, poolBody(request, body as Buffer, false, parsers));
    else parseJson(safeParse, request, body as Buffer, done);
  });

  app.addContentTypeParser(NDJSON_TYPES, { parseAs: 'buffer' }, (request, body, done: Done) => {
    try {
      checkCharset(request);
    } catch (err) {
      done(err as Error);
      return;
    }
    if (pooled && (body as Buffer).length > 0 && isBulkRoute(request)) {
      (request as unknown as { ndjson: boolean }).ndjson = true;
      done(null, poolBody(request, body as Buffer, true, parsers));
    } else parseNdjson(safeParse, request, body as Buffer, done);
  });
  return parsers;
}
