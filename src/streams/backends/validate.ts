/** Argument checks shared by the bundled backends. */
import { InvalidStreamArgumentError } from '../errors.js';
import type { KvAddOptions, KvBatchOp, KvListOptions, KvRemoveOptions, KvSetOptions } from '../backend.js';
import { isWellFormed } from '../json.js';
import { keySet, unknownKey } from '../../known-keys.js';

/** LMDB's largest key, in UTF-8 bytes: the bound of every backend, so a key that works on one works on all. */
export const MAX_KEY_BYTES = 1978;

/**
 * Checks a key: a non-empty string with a non-empty leaf, well-formed (LMDB stores keys as UTF-8: two
 * lone surrogates became one key, U+FFFD) and at most {@link MAX_KEY_BYTES} (LMDB threw an untyped Error).
 */
export function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0 || key.endsWith('/')) {
    throw new InvalidStreamArgumentError('a key must be a non-empty string that does not end with "/"', { key: String(key) });
  }
  if (!isWellFormed(key)) throw new InvalidStreamArgumentError('a key must be well-formed UTF-16 (it holds a lone surrogate)', { key });
  // Three bytes at most per UTF-16 unit: only a long key needs counting.
  if (key.length > MAX_KEY_BYTES / 3 && Buffer.byteLength(key) > MAX_KEY_BYTES) {
    throw new InvalidStreamArgumentError(`a key must be at most ${MAX_KEY_BYTES} bytes of UTF-8`, { key: key.slice(0, 64) });
  }
}

const ADD_OPTIONS = keySet<KvAddOptions>({ ttlMs: 1 });
const SET_OPTIONS = keySet<KvSetOptions>({ ttlMs: 1, etag: 1 });
const REMOVE_OPTIONS = keySet<KvRemoveOptions>({ etag: 1 });
const LIST_OPTIONS = keySet<KvListOptions>({ start: 1, end: 1, limit: 1 });
const OP_FIELDS: Record<KvBatchOp['op'], ReadonlySet<string>> = {
  add: new Set(['op', 'key', 'value', 'ttlMs']),
  set: new Set(['op', 'key', 'value', 'etag', 'ttlMs']),
  remove: new Set(['op', 'key', 'etag']),
  check: new Set(['op', 'key', 'etag']),
};

/** Refuses a key the options do not know: a misspelt `etag` made a compare-and-set an unconditional write. */
function checkKnown(what: string, o: object, known: ReadonlySet<string>): void {
  const k = unknownKey(o, known);
  if (k !== undefined) throw new InvalidStreamArgumentError(`${what}.${k} is not known (use ${[...known].join(', ')})`, { key: k });
}

/** Checks an etag condition: a string, or null (must be absent) where `nullable`. */
function checkEtag(etag: unknown, nullable: boolean): void {
  if (etag !== undefined && typeof etag !== 'string' && !(nullable && etag === null)) {
    throw new InvalidStreamArgumentError(`etag must be a string${nullable ? ' or null' : ''}`, { etag: String(etag) });
  }
}

/** Checks an optional TTL. */
export function checkTtl(ttlMs: unknown): void {
  if (ttlMs !== undefined && (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0)) {
    throw new InvalidStreamArgumentError('ttlMs must be a finite number > 0', { ttlMs });
  }
}

/** Checks the options of `add` (`etag: false`) or `set` (`etag: true`). */
export function checkWriteOptions(options: KvSetOptions | undefined, etag: boolean): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object') throw new InvalidStreamArgumentError('options must be an object');
  checkKnown(etag ? 'set options' : 'add options', options, etag ? SET_OPTIONS : ADD_OPTIONS);
  checkTtl(options.ttlMs);
  checkEtag(options.etag, true);
}

/** Checks the options of `remove`. */
export function checkRemoveOptions(options: KvRemoveOptions | undefined): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object') throw new InvalidStreamArgumentError('options must be an object');
  checkKnown('remove options', options, REMOVE_OPTIONS);
  checkEtag(options.etag, false);
}

/** Checks a folder for `list`. */
export function checkFolder(folder: unknown, options: KvListOptions | undefined): void {
  if (typeof folder !== 'string' || !folder.endsWith('/')) {
    throw new InvalidStreamArgumentError('list(folder): folder must be a string ending with "/"', { folder: String(folder) });
  }
  if (options !== undefined) {
    if (options === null || typeof options !== 'object') throw new InvalidStreamArgumentError('list(): options must be an object');
    checkKnown('list options', options, LIST_OPTIONS);
  }
  const limit = options?.limit;
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
    throw new InvalidStreamArgumentError('list(): limit must be an integer >= 0', { limit });
  }
}

/** Checks every operation of a batch before any is applied. */
export function checkOps(ops: readonly KvBatchOp[]): void {
  if (!Array.isArray(ops)) throw new InvalidStreamArgumentError('batch(ops): ops must be an array');
  for (const op of ops) {
    if (op === null || typeof op !== 'object') throw new InvalidStreamArgumentError('batch(ops): every op must be an object');
    checkKey(op.key);
    const kind: unknown = op.op;
    const fields = typeof kind === 'string' && Object.hasOwn(OP_FIELDS, kind) ? OP_FIELDS[kind as KvBatchOp['op']] : undefined;
    if (fields === undefined) throw new InvalidStreamArgumentError(`batch(ops): unknown op "${String((op as { op: unknown }).op)}"`);
    checkKnown(`batch(ops): a ${op.op} op`, op, fields);
    if (op.op === 'add' || op.op === 'set') checkTtl(op.ttlMs);
    if (op.op !== 'add') checkEtag(op.etag, op.op !== 'remove');
  }
}
