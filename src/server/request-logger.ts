/**
 * The per-request logger fastify asks for (its `childLoggerFactory`): a pino
 * child carrying the request id, made the first time something is logged at
 * an enabled level. fastify asks for one per request, and building a pino
 * child (its bindings serialised up front) cost ~2 µs per request on the POST
 * path, where most requests log nothing at the daemon's usual levels.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions, Level, Logger } from 'pino';

type LogFn = (...args: unknown[]) => void;

/** A pino logger's child, made on first use. */
class RequestLogger {
  readonly #parent: Logger;
  readonly #bindings: Bindings;
  #child: Logger | undefined;

  constructor(parent: Logger, bindings: Bindings) {
    this.#parent = parent;
    this.#bindings = bindings;
  }

  /** The real child (made now if it was not yet). */
  get logger(): Logger {
    return (this.#child ??= this.#parent.child(this.#bindings));
  }

  get level(): string {
    return (this.#child ?? this.#parent).level;
  }

  set level(level: string) {
    this.logger.level = level;
  }

  isLevelEnabled(level: string): boolean {
    return (this.#child ?? this.#parent).isLevelEnabled(level);
  }

  bindings(): Bindings {
    return this.#child?.bindings() ?? { ...this.#parent.bindings(), ...this.#bindings };
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): Logger {
    return this.logger.child(bindings, options);
  }

  silent(): void {
    // pino's silent level logs nothing
  }
}

interface RequestLogger extends Record<Level, LogFn> {}

for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const) {
  RequestLogger.prototype[level] = function log(this: RequestLogger, ...args: unknown[]): void {
    if (this.isLevelEnabled(level)) (this.logger[level] as LogFn)(...args);
  };
}

/**
 * fastify's `childLoggerFactory`: the request's logger, made lazily. A route
 * with its own log level or serializers gets a real child at once.
 */
export function requestLoggerFactory(logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  if (options?.level !== undefined || options?.serializers !== undefined) return logger.child(bindings, options);
  return new RequestLogger(logger as unknown as Logger, bindings) as unknown as FastifyBaseLogger;
}
