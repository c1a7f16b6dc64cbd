/**
 * The typed errors of the durability layer, and the mapping from a system
 * error to them. Codes are defined in src/error-codes.ts and listed in docs/errors.md.
 */
import { RingstoreError } from '../errors.js';

/** System error codes that mean "no space": the write can be retried later. */
const NO_SPACE = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);

/** True when a system error means the device (or quota, or file size limit) is full. */
export function isNoSpace(err: unknown): boolean {
  return NO_SPACE.has((err as NodeJS.ErrnoException | null)?.code ?? '');
}

/** `RS_ERR_DISK_FULL`: nothing of the write was kept; the next write retries. Maps to HTTP 507. */
export function diskFullError(file: string, cause: unknown): RingstoreError {
  const code = (cause as NodeJS.ErrnoException | null)?.code;
  return new RingstoreError('RS_ERR_DISK_FULL', `no space left to write ${file}${code ? ` (${code})` : ''}; the write was undone`, {
    file,
    errno: code,
  }, { cause });
}

/** `RS_ERR_IO`: a write or sync failed; the log takes no more writes until it is reopened. */
export function ioFailedError(what: string, file: string, cause: unknown): RingstoreError {
  const code = (cause as NodeJS.ErrnoException | null)?.code;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new RingstoreError('RS_ERR_IO', `${what} failed on ${file}: ${reason}`, { file, errno: code }, { cause });
}

/** `err` (an `RS_ERR_IO`) once the frames not yet committed were cut off the log again: nothing of them is kept. */
export function cutOffError(err: RingstoreError): RingstoreError {
  return new RingstoreError('RS_ERR_IO', `${err.message}; the frames not yet committed were cut off (nothing of them is kept)`, err.details, { cause: err.cause });
}

/**
 * `RS_ERR_IO_UNKNOWN`: after `err`, cutting off the frames not yet committed
 * (from `offset` in `file`) failed too (`why`), so a reopen may or may not
 * replay them. Retrying with the same idempotency id is safe either way.
 */
export function outcomeUnknownError(err: RingstoreError, why: unknown, file: string, offset: number): RingstoreError {
  const reason = why instanceof Error ? why.message : String(why);
  return new RingstoreError('RS_ERR_IO_UNKNOWN',
    `${err.message}, and cutting off the frames not yet committed failed too (${reason}): ` +
    'the write may or may not have been stored; retry it with the same idempotency id',
    { ...err.details, file, offset }, { cause: err });
}

/**
 * What opening a data directory throws: a typed error as it is; a system error (a file in the way,
 * permissions, no space for `LOCK` or `meta.json`) as `RS_ERR_DISK_FULL` or `RS_ERR_IO` naming `dir`.
 */
export function openError(dir: string, err: unknown): RingstoreError {
  if (err instanceof RingstoreError) return err;
  return isNoSpace(err) ? diskFullError(dir, err) : ioFailedError('opening the data directory', dir, err);
}

/** Maps a failed write: no space gives `RS_ERR_DISK_FULL`, anything else `RS_ERR_IO`. */
export function writeError(file: string, err: unknown): RingstoreError {
  return isNoSpace(err) ? diskFullError(file, err) : ioFailedError('write', file, err);
}

/**
 * `RS_ERR_LOG_CORRUPT`: damage a crash cannot explain, in a segment or a
 * checkpoint. Start refuses; an explicit repair cuts the file at `offset`
 * and keeps a `.broken` copy.
 */
export class LogCorruptError extends RingstoreError {
  /** The damaged file (absolute or as passed to open). */
  readonly file: string;
  /** Byte offset of the first bad frame or record in `file`. */
  readonly offset: number;

  constructor(file: string, offset: number, reason: string) {
    super('RS_ERR_LOG_CORRUPT', `${file} is corrupt at offset ${offset}: ${reason}. ` +
      'Start refuses so that nothing is dropped silently; `repair` cuts the log there and keeps a .broken copy', {
      file,
      offset,
      reason,
    });
    this.name = 'LogCorruptError';
    this.file = file;
    this.offset = offset;
  }
}
