/**
 * The typed HTTP client of the ringstore daemon (`ringstore serve`), on the
 * built-in fetch. See docs/daemon.md.
 * @packageDocumentation
 */
export { RingstoreClient, streamPath, type RingstoreClientOptions, type AppendOptions } from './client.js';
export { RemoteStreamSession, type OpenSessionOptions } from './session.js';
export { RingstoreHttpError, AuthError, NotFoundError, VersionConflictError, SessionGoneError, NetworkError, InvalidClientOptionError, ResponseTooLargeError, errorFromResponse } from './errors.js';
export type { HttpErrorCode } from '../error-codes.js';
export type * from './types.js';
