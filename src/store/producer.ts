import { ClosedError, invalidArgument } from '../errors.js';
import { InputWriter } from '../ring/input-writer.js';
import { ControlMemory, DRAIN_MAX_RECORDS, PartitionMemory } from '../ring/layout.js';
import { RecFlag } from '../ring/record.js';
import { MonotonicUlid } from '../ids/ulid.js';
import { keySet, unknownKey } from '../known-keys.js';
import { AckPump, collector as newCollector, failUnwritten, partitionGone, type Collector } from './ack-pump.js';
import { AppendQueue, type Turn } from './append-queue.js';
import { checkId, normaliseIds, utf8Length } from './append-text.js';
import { EventEncoder, type Planned, type ProducerSpec } from './event-encoder.js';
import { PlannedWriter, type Lane } from './planned-writer.js';
import type { AppendOptions, AppendResult, AppendResults, TryAppendOptions } from './types.js';

export type { ProducerSpec } from './event-encoder.js';

/** Bytes of an id the worker assigns (a ULID) when the record carries none. */
const GENERATED_ID_BYTES = 26;

/**
 * Internal (not exported by the package): an `append` option with each event's
 * JSON already written by the caller, exactly what `JSON.stringify(event)`
 * gives (the daemon takes it from the request's text); undefined entries are
 * stringified as usual. Everything else (selectors, sizes, ids) is as without it.
 */
export const ENCODED_JSON = Symbol('ringstore.encodedJson');
/** {@link AppendOptions} with {@link ENCODED_JSON}. */
export interface EncodedAppendOptions extends AppendOptions {
  [ENCODED_JSON]?: readonly (string | undefined)[];
}

const APPEND_OPTIONS = keySet<AppendOptions>({ partition: 1, expectedVersion: 1, id: 1 });
const TRY_APPEND_OPTIONS = keySet<TryAppendOptions>({ partition: 1, id: 1 });

/**
 * Refuses a key that is not an option of the call: a misspelt `expectedVersion` would otherwise
 * be ignored and the append committed unconditionally. (Symbol keys, internal, are not looked at.)
 */
function checkOptionKeys(opts: object, known: ReadonlySet<string>, call: string): void {
  if (opts === null || typeof opts !== 'object') throw invalidArgument(`${call} options must be an object`);
  const k = unknownKey(opts, known);
  if (k !== undefined) throw invalidArgument(`${call} options.${k} is not an option (use ${[...known].join(', ')})`, { key: k });
}

/**
 * Encodes events straight into partitions' input rings. One per thread that
 * appends: the coordinator's store owns producer 0, `EventStore.attach` makes
 * the others. Hot path (`tryAppend`): selectors, one JSON.stringify, one
 * encodeInto into the claimed record, one publishing store. No postMessage.
 */
export class Producer<T> {
  readonly id: number;
  private readonly lanes: Lane[];
  private readonly enc: EventEncoder<T>;
  private readonly planned: PlannedWriter<T>;
  private readonly queue = new AppendQueue();
  private readonly ulid = new MonotonicUlid();
  protected readonly acks: AckPump;
  private closed = false;
  private closing: Promise<void> | undefined;
  /** Calls accepted and still writing records (close waits for them). */
  private writing = 0;
  private writtenWaiters: (() => void)[] = [];

  constructor(mems: PartitionMemory[], ctl: ControlMemory, producerId: number, spec: ProducerSpec<T>) {
    this.id = producerId;
    this.lanes = mems.map((mem, index) => ({ index, writer: new InputWriter(mem), mem }));
    this.acks = new AckPump(mems, ctl, producerId, (p) => this.lanes[p].writer.wakeNow());
    this.enc = new EventEncoder(spec, producerId, mems[0].geometry.arenaBytes);
    this.planned = new PlannedWriter(this.lanes, this.acks, this.enc);
  }

  /**
   * Appends without waiting for the commit. Returns false only when the
   * partition's input ring is full of events its worker has not committed
   * yet, or while earlier append() calls of this producer still wait for
   * room (so events are stored in call order). Invalid events throw a typed
   * error and change nothing.
   */
  tryAppend(event: T, opts?: TryAppendOptions): boolean {
    if (this.closed) throw new ClosedError();
    if (opts !== undefined) checkOptionKeys(opts, TRY_APPEND_OPTIONS, 'tryAppend');
    const id = opts?.id;
    if (id !== undefined) checkId(id);
    const enc = this.enc;
    const partition = enc.prepare(event, opts?.partition);
    const lane = this.lanes[partition];
    const gone = partitionGone(lane.mem, partition);
    if (gone !== undefined) throw gone;
    // The record carries a caller's id; the worker writes a generated one (GENERATED_ID_BYTES in the arena).
    const recIdBytes = id === undefined ? 0 : utf8Length(id);
    const idBytes = id === undefined ? GENERATED_ID_BYTES : recIdBytes;
    if (!enc.surelyFits(idBytes)) {
      enc.exactSizes();
      enc.checkFits(idBytes);
    }
    const need = enc.recordBytes(recIdBytes);
    // While append() calls wait for room, a claim here would overtake them: refuse, as for a full ring.
    const off = this.queue.waiting > 0 ? -1 : lane.writer.claim(need);
    if (off < 0) {
      lane.writer.countRefused();
      return false;
    }
    const flags = id === undefined ? 0 : RecFlag.CALLER_ID;
    if (!enc.write(lane.mem, off, need, flags, 0, 1, -1, id ?? '', enc.vals, 0)) {
      enc.exactSizes();
      const exact = enc.recordBytes(recIdBytes);
      const again = lane.writer.claim(exact);
      if (again < 0) {
        lane.writer.wake();
        lane.writer.countRefused();
        return false;
      }
      enc.write(lane.mem, again, exact, flags, 0, 1, -1, id ?? '', enc.vals, 0);
    }
    lane.writer.wake();
    return true;
  }

  /**
   * Appends and resolves once the partition worker committed (or rejected)
   * the event(s). See {@link AppendOptions}.
   */
  append<I extends T | readonly T[]>(input: I, opts?: AppendOptions): Promise<AppendResults<I>>;
  async append(input: T | readonly T[], opts: AppendOptions = {}): Promise<AppendResult | AppendResult[]> {
    if (this.closed) throw new ClosedError();
    checkOptionKeys(opts, APPEND_OPTIONS, 'append');
    const single = !Array.isArray(input);
    const events = (single ? [input] : input) as readonly T[];
    const expected = opts.expectedVersion;
    if (expected !== undefined && (!Number.isInteger(expected) || expected < 0)) {
      throw invalidArgument('expectedVersion must be a non-negative integer', { expectedVersion: expected });
    }
    const ids = normaliseIds(opts.id, events.length, single);
    if (events.length === 0) return [];
    if (expected !== undefined && events.length > DRAIN_MAX_RECORDS) {
      throw invalidArgument(`a conditional batch holds at most ${DRAIN_MAX_RECORDS} events; split it`, { events: events.length });
    }

    // Encode-time validation happens for every event before anything is written.
    const enc = this.enc;
    const plan: Planned[] = new Array(events.length);
    const V = enc.valueCount;
    // The values of all events in one array (one allocation per call, not per event).
    const vals = new Float64Array(events.length * V);
    const now = Date.now();
    const encoded = (opts as EncodedAppendOptions)[ENCODED_JSON];
    if (encoded !== undefined && encoded.length !== events.length) throw invalidArgument('one encoded JSON per event');
    for (let i = 0; i < events.length; i++) {
      const partition = enc.prepare(events[i], opts.partition, encoded?.[i]);
      enc.exactSizes();
      const caller = ids !== undefined;
      const id = caller ? ids[i] : this.ulid.next(now);
      // Generated ids are ULIDs: ASCII, GENERATED_ID_BYTES long.
      const idBytes = caller ? utf8Length(id) : GENERATED_ID_BYTES;
      enc.checkFits(idBytes);
      plan[i] = enc.toPlanned(partition, id, caller, idBytes, vals, i * V);
    }
    if (expected !== undefined && plan.some((p) => p.key !== plan[0].key || p.partition !== plan[0].partition)) {
      throw invalidArgument('an append with expectedVersion must have one key for all its events');
    }

    return new Promise<AppendResult | AppendResult[]>((resolve, reject) => {
      const collector = newCollector(plan, expected ?? -1, single, resolve, reject);
      this.writing++;
      this.enqueue(plan, collector, expected).then(this.written, (err: Error) => {
        this.written();
        // The events not written yet are not stored; those written settle from their acks.
        failUnwritten(collector, err);
      });
    });
  }

  /** One accepted call finished writing its records. */
  private readonly written = (): void => {
    if (--this.writing > 0 || this.writtenWaiters.length === 0) return;
    const waiters = this.writtenWaiters;
    this.writtenWaiters = [];
    for (const w of waiters) w();
  };

  /**
   * Writes a planned append, waiting for ring space or ack slots as needed.
   * Calls that wait do so in the FIFO queue (append-queue.ts), and a call made
   * while any waits joins it: appends are written in call order.
   */
  private async enqueue(plan: Planned[], collector: Collector, expected: number | undefined): Promise<void> {
    let turn: Turn | undefined;
    if (this.queue.waiting > 0) {
      const t = this.queue.queueUp();
      turn = t;
      await t.ready;
    }
    // The first call that must wait takes a turn too, so calls made meanwhile queue behind it.
    const wait = (lane: Lane, bytes: number, acks: number): Promise<number> => {
      turn ??= this.queue.queueUp();
      return this.planned.claimWithAcks(lane, bytes, acks);
    };
    try {
      await this.planned.write(plan, collector, expected, wait);
    } finally {
      turn?.done();
    }
  }

  /**
   * Stops taking appends (later calls throw `ClosedError`) and resolves once
   * every accepted one has settled: committed, or rejected because nothing
   * was stored (the store closed, or a partition failed for good).
   */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.closed = true;
    this.closing = (async () => {
      while (this.writing > 0) await new Promise<void>((resolve) => this.writtenWaiters.push(resolve));
      await this.acks.whenIdle();
      this.acks.stop();
    })();
    return this.closing;
  }

  /** Appends pending a commit. */
  get pending(): number {
    return this.acks.pending;
  }
}
