/**
 * The ringstore daemon as a library: `startServer(config)` runs what
 * `ringstore serve` runs (see docs/daemon.md).
 * @packageDocumentation
 */
export { buildApp, startServer, type BuildOptions, type RingstoreApp, type RunningServer } from './app.js';
export { parseConfig, resolveConfig, helpText, ConfigError, DEFAULTS, defaultMaxConnections, type ServerConfig } from './config.js';
export { HttpErrorCodes, HttpError, toErrorResponse, type HttpErrorCode, type ErrorBody } from './errors.js';
export { onShutdownSignal } from './shutdown.js';
