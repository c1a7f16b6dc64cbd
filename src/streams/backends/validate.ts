/** Argument checks shared by the bundled backends. */
import { InvalidStreamArgumentError } from '../errors.js';
import type { KvBatchOp, KvListOptions } from '../backend.js';

/** Checks a key: a non-empty string with a non-empty leaf. */
export function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0 || key.endsWith('/')) {
    throw new InvalidStreamArgumentError('a key must be a non-empty string that does not end with "/"', { key: String(key) });
  }
}

/** Checks an optional TTL. */
export function checkTtl(ttlMs: unknown): void {
  if (ttlMs !== undefined && (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0)) {
    throw new InvalidStreamArgumentError('ttlMs must be a finite number > 0', { ttlMs });
  }
}

/** Checks a folder for `list`. */
export function checkFolder(folder: unknown, options: KvListOptions | undefined): void {
  if (typeof folder !== 'string' || !folder.endsWith('/')) {
    throw new InvalidStreamArgumentError('list(folder): folder must be a string ending with "/"', { folder: String(folder) });
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
    switch (op.op) {
      case 'add':
      case 'set':
        checkTtl(op.ttlMs);
        break;
      case 'remove':
      case 'check':
        break;
      default:
        throw new InvalidStreamArgumentError(`batch(ops): unknown op "${String((op as { op: unknown }).op)}"`);
    }
  }
}
