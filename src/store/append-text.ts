/**
 * Checks and UTF-8 sizes of the short strings an append carries besides its
 * JSON: ids, keys and event types.
 */
import { invalidArgument } from '../errors.js';
import type { AppendOptions } from './types.js';

const MAX_ID = 256;

/** UTF-8 length of a short string (ASCII fast path). */
export function utf8Length(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.byteLength(s);
  return s.length;
}

/**
 * UTF-8 length of a key, type or id, which must be well-formed UTF-16: a lone
 * surrogate is encoded as U+FFFD, so two different keys would become one.
 */
export function textLength(s: string, what: string): number {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) <= 0x7f) continue;
    if (!(s as unknown as { isWellFormed(): boolean }).isWellFormed()) throw invalidArgument(`the ${what} is not well-formed UTF-16 (it holds a lone surrogate)`);
    return Buffer.byteLength(s);
  }
  return s.length;
}

export function checkId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID) {
    throw invalidArgument(`id must be a non-empty string of at most ${MAX_ID} characters`);
  }
  textLength(id, 'id');
}

/** The ids of an `append` call, one per event, checked (undefined: the workers generate them). */
export function normaliseIds(id: AppendOptions['id'], n: number, single: boolean): readonly string[] | undefined {
  if (id === undefined) return undefined;
  if (typeof id === 'string') {
    if (!single && n !== 1) throw invalidArgument('an array of events takes an array of ids');
    checkId(id);
    return [id];
  }
  if (single && !Array.isArray(id)) checkId(id); // a lone event's id that is not a string: say so, not "an array"
  if (!Array.isArray(id) || id.length !== n) throw invalidArgument(`ids must be an array with one id per event (${n})`);
  const seen = new Set<string>();
  for (const x of id) {
    checkId(x);
    if (seen.has(x)) throw invalidArgument(`id "${x}" appears twice in one append`);
    seen.add(x);
  }
  return id;
}
