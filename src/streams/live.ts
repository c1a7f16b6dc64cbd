/**
 * Live view: publishing committed stream events to another event store (the
 * ring store) without depending on its code. Anything with an
 * `append(event)` method fits; the core `EventStore` does.
 */

/** A structural sink for committed stream events, e.g. ringstore's core `EventStore`. */
export interface LiveSink {
  /** Receives one committed stream event. Awaited, in version order. */
  append(event: LiveStreamEvent): Promise<unknown> | unknown;
}

/**
 * What is published per committed event. Configure the ring store with
 * `key: e => e.stream` so each stream's events route to one key.
 */
export interface LiveStreamEvent {
  /** `name/id` of the stream. */
  readonly stream: string;
  /** The stream's database. */
  readonly database: string;
  readonly id: string;
  readonly type: string;
  readonly version: number;
  readonly data: unknown;
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** True when `v` can be used as a {@link LiveSink}. */
export function isLiveSink(v: unknown): v is LiveSink {
  return v !== null && typeof v === 'object' && typeof (v as LiveSink).append === 'function';
}
