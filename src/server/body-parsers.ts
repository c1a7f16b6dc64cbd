/**
 * The daemon's body parsers, and its one rule for charsets: bodies are JSON
 * (`application/json`) or NDJSON (`application/x-ndjson`, `application/ndjson`,
 * `application/jsonl`) in UTF-8. A `charset` parameter other than UTF-8 is 415
 * `RS_ERR_UNSUPPORTED_MEDIA_TYPE`, bytes that are not UTF-8 are 400
 * `RS_ERR_INVALID_JSON`, any other content type is 415. An empty body is no
 * body, whatever its JSON content type (as the reference, whose clients set
 * the header on every request): routes without a body accept it, routes that
 * need one answer 400.
 */
import { isUtf8 } from 'node:buffer';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError } from './errors.js';

/** NDJSON lines that take the safe (prototype-poisoning checking) parser. */
const SUSPECT = /__proto__|constructor|\\u/;
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)"?/i;
const UTF8 = /^utf-?8$/i;

/** The body as text: 415 for a charset other than UTF-8, 400 for bytes that are not UTF-8, undefined when empty. */
function decode(request: FastifyRequest, body: Buffer): string | undefined {
  const type = request.headers['content-type'];
  if (type !== undefined && type.includes(';')) {
    const m = CHARSET.exec(type);
    if (m !== null && !UTF8.test(m[1])) throw new HttpError('RS_ERR_UNSUPPORTED_MEDIA_TYPE', `charset "${m[1].slice(0, 32)}" is not supported: bodies are UTF-8`);
  }
  if (body.length === 0) return undefined;
  if (!isUtf8(body)) throw new HttpError('RS_ERR_INVALID_JSON', 'the body is not valid UTF-8');
  return body.toString('utf8');
}

type Done = (err: Error | null, body?: unknown) => void;

/** Replaces fastify's JSON parser and adds the NDJSON one (a parsed NDJSON body is an array; `request.ndjson` is set). */
export function registerBodyParsers(app: FastifyInstance): void {
  const safeParse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser(['application/json', 'text/plain']);

  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done: Done) => {
    let text: string | undefined;
    try {
      text = decode(request, body as Buffer);
    } catch (err) {
      done(err as Error);
      return;
    }
    if (text === undefined) done(null, undefined);
    else safeParse(request, text, done);
  });

  app.addContentTypeParser(['application/x-ndjson', 'application/ndjson', 'application/jsonl'], { parseAs: 'buffer' }, (request, body, done: Done) => {
    let text: string | undefined;
    try {
      text = decode(request, body as Buffer);
    } catch (err) {
      done(err as Error);
      return;
    }
    if (text === undefined) {
      done(null, undefined);
      return;
    }
    const lines = text.split('\n');
    const out: unknown[] = [];
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      if (line === '') continue;
      // A line that cannot carry a prototype-poisoning key (no `__proto__`, `constructor` or `\u` escape) is
      // plain JSON.parse; anything else, and any line that does not parse, goes through the safe parser.
      if (!SUSPECT.test(line)) {
        try {
          out.push(JSON.parse(line));
          continue;
        } catch { /* the safe parser below gives the error message */ }
      }
      let failed: Error | undefined;
      safeParse(request, line, (err, value) => {
        if (err) failed = err;
        else out.push(value);
      });
      if (failed !== undefined) {
        done(new HttpError('RS_ERR_INVALID_JSON', `NDJSON line ${i + 1} is not valid JSON: ${failed.message}`));
        return;
      }
    }
    (request as unknown as { ndjson: boolean }).ndjson = true;
    done(null, out);
  });
}
