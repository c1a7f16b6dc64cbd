// The plain model of the versioned streams (docs/streams.md) that
// streams.model.test.ts runs the real StreamStoreProvider against: streams as
// arrays of events, snapshot maps, one lease per stream, sessions bound to one
// of two providers whose clocks may disagree (provider 1's runs ahead by a
// skew, so a session of provider 0 can believe its lease live after provider 1
// has taken it over: the case the write fence exists for).

/** Error codes the model predicts (docs/streams.md, "Errors"). */
export const E = {
  arg: 'RS_ERR_INVALID_ARGUMENT',
  option: 'RS_ERR_INVALID_OPTION',
  closed: 'RS_ERR_CLOSED',
  notOpen: 'RS_ERR_STORE_NOT_OPEN',
  expired: 'RS_ERR_STORE_SESSION_EXPIRED',
  invalid: 'RS_ERR_STORE_INVALID_SESSION',
  openFailed: 'RS_ERR_STORE_OPEN_FAILED',
  mismatch: 'RS_ERR_STORE_VERSION_MISMATCH',
  versionNotFound: 'RS_ERR_STREAM_VERSION_NOT_FOUND',
  snapshotNotFound: 'RS_ERR_STREAM_SNAPSHOT_VERSION_NOT_FOUND',
  idNotFound: 'RS_ERR_STREAM_IDEMPOTENCY_ID_NOT_FOUND',
  duplicate: 'RS_ERR_STREAM_DUPLICATE_IDEMPOTENCY_ID',
} as const;

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** An event as the model stores it; `id` is undefined until a read showed the id the store generated. */
export interface MEvent {
  id: string | undefined;
  readonly type: string;
  readonly data: Json;
  /** The metadata given at append time (without correlationId/createdAt unless given). */
  readonly given: Record<string, Json> | undefined;
  readonly createdAt: string;
  readonly version: number;
}

export interface MSnapshot {
  readonly state: Json;
  readonly createdAt: string;
}

export interface MStream {
  readonly events: MEvent[];
  readonly snapshots: Map<number, MSnapshot>;
  /** The events of the last successful append that had ids given by the caller (RetryCmd appends them again). */
  lastWithIds?: import('../../dist/src/streams/index.js').NewEvent[];
  /** The stored lease: which session token holds it, until when (the holder's provider clock). */
  lease: { token: number; expiresAt: number } | undefined;
}

export interface MSession {
  readonly token: number;
  readonly provider: number;
  readonly stream: number;
  expiresAt: number;
  closed: boolean;
}

export class StreamsModel {
  /** Each provider's clock (provider 1 is ahead of provider 0 by the skews applied). */
  readonly now: number[];
  readonly streams: MStream[];
  readonly slots: (MSession | undefined)[];
  #tokens = 0;

  constructor(streams: number, slots: number, start: number) {
    this.now = [start, start];
    this.streams = Array.from({ length: streams }, () => ({ events: [], snapshots: new Map(), lease: undefined }));
    this.slots = new Array<MSession | undefined>(slots).fill(undefined);
  }

  head(stream: number): number {
    return this.streams[stream]!.events.length;
  }

  /** The version of the event with id `id`, or -1 (an unlearnt generated id is not known). */
  versionOf(stream: number, id: string): number {
    const e = this.streams[stream]!.events.find((x) => x.id === id);
    return e === undefined ? -1 : e.version;
  }

  /** Every id the model knows in a stream (given, or generated and learnt from a read). */
  knownIds(stream: number): string[] {
    return this.streams[stream]!.events.flatMap((e) => (e.id === undefined ? [] : [e.id]));
  }

  /**
   * The session error an operation of `s` gets from the session's own check, or
   * undefined when it passes: closed, or its lease time passed on its provider's
   * clock (then the stored lease says whether it was taken over or just expired).
   */
  sessionError(s: MSession): string | undefined {
    if (s.closed) return E.notOpen;
    if (this.now[s.provider]! >= s.expiresAt) {
      const l = this.streams[s.stream]!.lease;
      return l !== undefined && l.token !== s.token ? E.invalid : E.expired;
    }
    return undefined;
  }

  /** Whether another session holds the stored lease of `s`'s stream (s believes its lease live: a write must be fenced off). */
  takenOver(s: MSession): boolean {
    return this.streams[s.stream]!.lease?.token !== s.token;
  }

  /** open() with openTimeoutMs 0: granted when the stream has no lease or it expired on the opener's clock. */
  open(slot: number, provider: number, stream: number, timeoutMs: number): MSession | string {
    const st = this.streams[stream]!;
    const now = this.now[provider]!;
    if (st.lease !== undefined && st.lease.expiresAt > now) return E.openFailed;
    const s: MSession = { token: ++this.#tokens, provider, stream, expiresAt: now + timeoutMs, closed: false };
    st.lease = { token: s.token, expiresAt: s.expiresAt };
    // The session the slot held (if any) is dropped unclosed, as by a crashed holder: its lease stays until it expires.
    this.slots[slot] = s;
    return s;
  }

  /** close(): releases the lease only if the session still holds it. */
  close(s: MSession): void {
    if (s.closed) return;
    s.closed = true;
    const st = this.streams[s.stream]!;
    if (st.lease?.token === s.token) st.lease = undefined;
  }

  /** Both providers closed (every session with them), then reopened over the same store. */
  reopen(): void {
    for (const st of this.streams) st.lease = undefined;
    for (const s of this.slots) if (s !== undefined) s.closed = true;
  }

  /** The greatest snapshot version <= `v`, or 0. */
  snapshotAtOrBelow(stream: number, v: number): number {
    let pick = 0;
    for (const k of this.streams[stream]!.snapshots.keys()) if (k <= v && k > pick) pick = k;
    return pick;
  }

  snapshotVersions(stream: number): number[] {
    return [...this.streams[stream]!.snapshots.keys()].sort((a, b) => a - b);
  }
}

/** The reducer `snapshotEvery` is given (the model runs the same function). */
export function reducer(state: Json | undefined, events: readonly { version: number; data: Json }[], version: number): Json {
  const prev = state !== null && typeof state === 'object' && !Array.isArray(state) && typeof state.sum === 'number' ? state.sum : 0;
  let sum = prev;
  for (const e of events) sum += e.version * 10 + (typeof e.data === 'object' && e.data !== null && !Array.isArray(e.data) && typeof e.data.n === 'number' ? e.data.n : 0);
  return { sum, at: version, count: events.length };
}
