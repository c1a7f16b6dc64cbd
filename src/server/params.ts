/**
 * Request parameter helpers: query-string coercion (bodies are never coerced:
 * `"12"` is not a number there) and stream names. Time values: `time.ts`.
 */
import type { FastifyRequest } from 'fastify';
import { badRequest } from './errors.js';

interface PropSchema {
  type?: string | string[];
}

type Coercion = 'number' | 'boolean';

/**
 * Compiles the query-string and path coercion of a route schema: a function
 * that converts values to the types the schema declares (integer, number,
 * boolean) before validation, or undefined when the route has nothing to
 * convert. A value that does not convert is left as a string, so validation
 * rejects it with a 400. Compiled once per route (at registration) so a
 * request pays no schema walk.
 */
export function compileCoercion(schema: unknown): ((request: FastifyRequest) => void) | undefined {
  const s = schema as { querystring?: { properties?: Record<string, PropSchema> }; params?: { properties?: Record<string, PropSchema> } } | undefined;
  const query = coercions(s?.querystring?.properties);
  const params = coercions(s?.params?.properties);
  if (query.length === 0 && params.length === 0) return undefined;
  return (request) => {
    coerce(request.query as Record<string, unknown> | undefined, query);
    coerce(request.params as Record<string, unknown> | undefined, params);
  };
}

function coercions(props: Record<string, PropSchema> | undefined): [string, Coercion][] {
  const out: [string, Coercion][] = [];
  for (const [name, prop] of Object.entries(props ?? {})) {
    const types = Array.isArray(prop.type) ? prop.type : [prop.type];
    if (types.includes('integer') || types.includes('number')) out.push([name, 'number']);
    else if (types.includes('boolean')) out.push([name, 'boolean']);
  }
  return out;
}

const NUMERIC = /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

function coerce(values: Record<string, unknown> | undefined, list: readonly [string, Coercion][]): void {
  if (values === undefined || values === null) return;
  for (let i = 0; i < list.length; i++) {
    const [name, to] = list[i];
    const raw = values[name];
    if (typeof raw !== 'string') continue;
    if (to === 'number') {
      if (NUMERIC.test(raw)) values[name] = Number(raw);
    } else if (raw === 'true' || raw === 'false' || raw === '') values[name] = raw !== 'false';
  }
}

const DOT_SEGMENT = /(^|\/)\.\.?(\/|$)/;

/** Largest stream name, in characters (the store's key limit). */
export const MAX_STREAM = 1024;

/** Validates the catch-all stream name of `/streams/{*stream}`. */
export function streamName(raw: unknown): string {
  if (typeof raw !== 'string' || raw.length === 0) throw badRequest('the stream name is missing: use /streams/{stream}');
  if (raw.length > MAX_STREAM) throw badRequest(`the stream name is longer than ${MAX_STREAM} characters`);
  if (raw.startsWith('/') || raw.endsWith('/') || raw.includes('//')) throw badRequest('the stream name has an empty segment');
  // URLs resolve `.` and `..` segments away (browsers and fetch do, `%2E%2E` too): a stream so named could be
  // written by a raw client and never addressed by a normal one.
  if (DOT_SEGMENT.test(raw)) throw badRequest('the stream name has a "." or ".." segment');
  return raw;
}
