// A plain in-memory model of one EventStore partition: what each append,
// purge and clear must do, by the rules of docs/architecture.md (positions,
// versions, idempotency window, evictions by slots and by arena bytes).
export interface Ev {
  k: string;
  n: number;
  ts: number;
  pad: string;
}

export interface ModelEvent {
  position: number;
  version: number;
  id: string | null;
  payload: Ev;
  abs: number;
  state: 'live' | 'discarded' | 'purged';
}

export const ID_BYTES = 26;
const bytes = (s: string): number => Buffer.byteLength(s);

export class Model {
  readonly events = new Map<number, ModelEvent>();
  head = 1;
  tail = 1;
  arenaTail = 0;
  readonly versions = new Map<string, number>();
  dedup: { key: string; id: string; position: number; version: number }[] = [];
  appended = 0;
  discarded = 0;
  rejected = 0;
  duplicates = 0;
  conflicts = 0;
  purged = 0;
  live = 0;
  ts = 1;

  constructor(
    readonly capacity: number,
    readonly arena: number,
    readonly maxEventBytes: number,
    readonly dedupWindow: number,
  ) {}

  version(key: string): number {
    return this.versions.get(key) ?? 0;
  }

  /** Whether the producer refuses the event before writing anything (RS_ERR_EVENT_TOO_LARGE). */
  tooLarge(e: Ev, id: string | undefined): boolean {
    const json = JSON.stringify(e);
    if (json.length > this.maxEventBytes || bytes(json) > this.maxEventBytes) return true;
    return this.span(e, id) > this.arena;
  }

  span(e: Ev, id: string | undefined): number {
    return ((id === undefined ? ID_BYTES : bytes(id)) + bytes(e.k) + bytes(JSON.stringify(e)) + 3) & ~3;
  }

  findId(key: string, id: string): { position: number; version: number } | undefined {
    return this.dedup.find((d) => d.key === key && d.id === id);
  }

  /** Commits one event (checks done); returns its position and version. */
  commit(e: Ev, id: string | undefined): { position: number; version: number } {
    const C = this.capacity;
    const A = this.arena;
    const span = this.span(e, id);
    const position = this.tail;
    const version = this.version(e.k) + 1;
    while (this.head <= position - C) this.evictHead();
    let t = this.arenaTail;
    if ((t % A) + span > A) t += A - (t % A);
    while (this.head < position) {
      if (t + span - this.events.get(this.head)!.abs <= A) break;
      this.evictHead();
    }
    if ((this.arenaTail % A) + span > A) this.arenaTail += A - (this.arenaTail % A);
    this.events.set(position, { position, version, id: id ?? null, payload: e, abs: this.arenaTail, state: 'live' });
    this.arenaTail += span;
    this.tail++;
    this.versions.set(e.k, version);
    this.appended++;
    this.live++;
    if (id !== undefined) this.dedup.push({ key: e.k, id, position, version });
    return { position, version };
  }

  private evictHead(): void {
    const e = this.events.get(this.head)!;
    if (e.state === 'live') {
      e.state = 'discarded';
      this.discarded++;
      this.live--;
    }
    this.head++;
  }

  /** A commit point: the idempotency window keeps its newest ids. */
  trim(): void {
    if (this.dedup.length > this.dedupWindow) this.dedup = this.dedup.slice(this.dedup.length - this.dedupWindow);
  }

  purge(cutoff: number): number {
    let n = 0;
    for (let p = this.head; p < this.tail; p++) {
      const e = this.events.get(p)!;
      if (e.state === 'live' && e.payload.ts < cutoff) {
        e.state = 'purged';
        n++;
      }
    }
    while (this.head < this.tail && this.events.get(this.head)!.state !== 'live') this.head++;
    this.live -= n;
    this.purged += n;
    return n;
  }

  clear(): number {
    const n = this.purge(Infinity);
    this.head = this.tail;
    return n;
  }

  liveEvents(): ModelEvent[] {
    const out: ModelEvent[] = [];
    for (let p = this.head; p < this.tail; p++) {
      const e = this.events.get(p)!;
      if (e.state === 'live') out.push(e);
    }
    return out;
  }
}

/** Crashes the model expects nothing of, beyond `restarts`: where and how a command kills a worker. */
export type Crash =
  // crashPartition(p, { afterRecords: k }) armed before the call: the worker dies in the drain in which its k-th
  // record of the call is consumed, before that drain's commit point (part and k are reduced to what the call sends).
  // With flip, it dies in that drain's commit point instead, after the flip and before the trim (afterCommitPoint).
  | { mode: 'records'; part: number; k: number; flip: boolean }
  // crashPartition(p, { terminate: true }) while the call runs: the thread ends at whatever instruction it is at.
  | { mode: 'terminate'; part: number }
  // crashPartition(p) once the call settled: a kill between drains.
  | { mode: 'between'; part: number };

/** A store of several partitions: one {@link Model} each, one clock, the restarts the commands caused. */
export class World {
  readonly parts: Model[];
  /** Timestamps are store-wide (unique), so a snapshot's order is the timestamps'. */
  ts = 1;
  readonly restarts: number[];
  crashes = 0;

  constructor(
    partitions: number,
    make: () => Model,
    /** The partition a key routes to: the store's own public `partitionOf`. */
    readonly route: (key: string) => number,
  ) {
    this.parts = Array.from({ length: partitions }, make);
    this.restarts = new Array<number>(partitions).fill(0);
  }

  of(key: string): Model {
    return this.parts[this.route(key)];
  }
}

/** Keys with live events in a partition (the store's `keys` stat). */
export function liveKeys(m: Model): number {
  return new Set(m.liveEvents().map((e) => e.payload.k)).size;
}

/** Applies one call's outcome to the model and compares it with the store's. */
export function appendOne(m: Model, e: Ev, id: string | undefined, expected: number | undefined): { result?: { position: number; version: number; duplicate: boolean }; code?: string } {
  if (m.tooLarge(e, id)) return { code: 'RS_ERR_EVENT_TOO_LARGE' };
  if (expected !== undefined && m.version(e.k) !== expected) {
    m.appended++;
    m.rejected++;
    m.conflicts++;
    return { code: 'RS_ERR_CONFLICT' };
  }
  if (id !== undefined) {
    const d = m.findId(e.k, id);
    if (d !== undefined) {
      m.appended++;
      m.rejected++;
      m.duplicates++;
      return { result: { position: d.position, version: d.version, duplicate: true } };
    }
  }
  return { result: { ...m.commit(e, id), duplicate: false } };
}

/** The model keeps the id a resolved append was told for an event stored without a caller id. */
export function learnId(m: Model, r: { position: number; duplicate: boolean; id: string }): void {
  if (!r.duplicate) m.events.get(r.position)!.id ??= r.id;
}
