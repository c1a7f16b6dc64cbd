/**
 * JSON validation by copy: user data is checked and copied (then frozen) before
 * it reaches a backend, so a caller mutating its object after `append()` cannot
 * change stored events, and every backend stores exactly the same JSON shape.
 */
import { InvalidStreamArgumentError } from './errors.js';

/** A JSON value. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

const MAX_DEPTH = 128;

/**
 * False for text with a lone surrogate. msgpack (LMDB) writes one as three bytes that read back as
 * three U+FFFD, while the memory and NATS backends keep it: such text is refused so that every backend
 * stores the same data. O(1) for one-byte strings (V8 knows they hold no surrogate).
 */
export const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/**
 * Returns a deep-frozen copy of `value` when it is JSON data: plain objects,
 * arrays, strings, finite numbers, booleans and null. Object properties whose
 * value is `undefined` are dropped (as `JSON.stringify` does).
 * `path` names the value in errors (a function is called only on error).
 * @throws InvalidStreamArgumentError naming the offending path otherwise.
 */
export function frozenJsonCopy(value: unknown, path: string | (() => string)): JsonValue {
  const fast = tryCopy(value, 0, true);
  // The slow path builds error paths; it runs only to explain a rejected value.
  return fast !== INVALID_JSON ? fast : copy(value, typeof path === 'string' ? path : path(), 0, true);
}

/** What {@link tryJsonCopy} answers for a value that is not JSON data. */
export const INVALID_JSON: unique symbol = Symbol('invalid JSON');


/**
 * The copy of {@link frozenJsonCopy}, deep-frozen only when `freeze` (a store
 * that keeps the copy private may freeze it when handing it out instead, see
 * `MemoryStreamLog`: `Object.freeze` costs about as much as the copy), or
 * {@link INVALID_JSON}: no path and no closure to build on the hot path.
 * {@link throwInvalidJson} then explains the rejection.
 */
export function tryJsonCopy(value: unknown, freeze: boolean): JsonValue | typeof INVALID_JSON {
  return tryCopy(value, 0, freeze);
}

/** Throws the InvalidStreamArgumentError naming where in `value` (named `path`) it is not JSON data. */
export function throwInvalidJson(value: unknown, path: string): never {
  copy(value, path, 0, false);
  throw new InvalidStreamArgumentError(`${path} is not JSON data`, { path });
}

/** {@link copy} without paths: the same rules, but answers INVALID instead of throwing (no string building per property). */
function tryCopy(value: unknown, depth: number, freeze: boolean): JsonValue | typeof INVALID_JSON {
  switch (typeof value) {
    case 'string':
      return isWellFormed(value) ? value : INVALID_JSON;
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : INVALID_JSON;
    case 'object': {
      if (value === null) return null;
      if (depth >= MAX_DEPTH) return INVALID_JSON;
      if (Array.isArray(value)) {
        const n = value.length;
        const out: JsonValue[] = new Array(n);
        for (let i = 0; i < n; i++) {
          const item: unknown = value[i];
          if (item === undefined) return INVALID_JSON;
          const c = tryCopy(item, depth + 1, freeze);
          if (c === INVALID_JSON) return INVALID_JSON;
          out[i] = c;
        }
        return freeze ? (Object.freeze(out) as JsonValue[]) : out;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return INVALID_JSON;
      const out: { [key: string]: JsonValue } = {};
      const keys = Object.keys(value);
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        const item = (value as Record<string, unknown>)[key];
        if (item === undefined) continue;
        // Assigning "__proto__" would set the copy's prototype, not a key: the key would be lost.
        if (key === '__proto__' || !isWellFormed(key)) return INVALID_JSON;
        const c = tryCopy(item, depth + 1, freeze);
        if (c === INVALID_JSON) return INVALID_JSON;
        out[key] = c;
      }
      return freeze ? Object.freeze(out) : out;
    }
    default:
      return INVALID_JSON;
  }
}

function copy(value: unknown, path: string, depth: number, freeze: boolean): JsonValue {
  switch (typeof value) {
    case 'string':
      if (!isWellFormed(value)) throw new InvalidStreamArgumentError(`${path} is not well-formed UTF-16 (a lone surrogate)`, { path });
      return value;
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new InvalidStreamArgumentError(`${path} is not a finite number (${value})`, { path });
      return value;
    case 'object': {
      if (value === null) return null;
      if (depth >= MAX_DEPTH) throw new InvalidStreamArgumentError(`${path} is nested deeper than ${MAX_DEPTH} levels (or is cyclic)`, { path });
      if (Array.isArray(value)) {
        const out: JsonValue[] = new Array(value.length);
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          if (item === undefined) throw new InvalidStreamArgumentError(`${path}[${i}] is undefined`, { path: `${path}[${i}]` });
          out[i] = copy(item, `${path}[${i}]`, depth + 1, freeze);
        }
        return freeze ? (Object.freeze(out) as JsonValue[]) : out;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        const kind = (value as object).constructor?.name ?? 'object';
        throw new InvalidStreamArgumentError(`${path} is a ${kind}, not plain JSON data (convert it, e.g. a Date to an ISO string)`, { path, kind });
      }
      const out: { [key: string]: JsonValue } = {};
      for (const key of Object.keys(value)) {
        const item = (value as Record<string, unknown>)[key];
        if (item === undefined) continue;
        if (key === '__proto__') throw new InvalidStreamArgumentError(`${path} has a "__proto__" key, which cannot be stored (it would be taken as the prototype and lost)`, { path });
        if (!isWellFormed(key)) throw new InvalidStreamArgumentError(`${path} has a key that is not well-formed UTF-16 (a lone surrogate)`, { path });
        out[key] = copy(item, `${path}.${key}`, depth + 1, freeze);
      }
      return freeze ? Object.freeze(out) : out;
    }
    default:
      throw new InvalidStreamArgumentError(`${path} is a ${typeof value}, which is not JSON data`, { path, type: typeof value });
  }
}

/**
 * Deep-freezes a JSON value this module copied, in place: no object in it is
 * shared or frozen yet, so unlike {@link deepFreeze} it checks nothing and
 * visits only objects.
 */
export function freezeCopy<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  Object.freeze(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      if (typeof v === 'object' && v !== null) freezeCopy(v);
    }
  } else {
    const keys = Object.keys(value);
    for (let i = 0; i < keys.length; i++) {
      const v = (value as Record<string, unknown>)[keys[i]!];
      if (typeof v === 'object' && v !== null) freezeCopy(v);
    }
  }
  return value;
}

/** Deep-freezes a value in place (used on values read back from a backend). */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}
