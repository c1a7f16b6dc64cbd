import { ClosedError, RingstoreError, invalidArgument } from '../errors.js';
import { InputWriter } from '../ring/input-writer.js';
import { ControlMemory, DRAIN_MAX_RECORDS, PartitionMemory } from '../ring/layout.js';
import { RecFlag, recordBytes, writeRecord, type RecordFields } from '../ring/record.js';
import { hashKey } from '../partition/hash.js';
import { MonotonicUlid } from '../ids/ulid.js';
import { AckPump, collector as newCollector, failUnwritten, partitionGone, type Collector } from './ack-pump.js';
import type { Selector } from './options.js';
import { compileSelector } from './selectors.js';
import type { AppendOptions, AppendResult, AppendResults, TryAppendOptions } from './types.js';

const MAX_KEY = 1024;
const MAX_TYPE = 256;
const MAX_ID = 256;
/** Bytes of an id the worker assigns (a ULID) when the record carries none. */
const GENERATED_ID_BYTES = 26;

/** What a producer needs to encode events: everything but the memory. */
export interface ProducerSpec<T> {
  partitions: number;
  maxEventBytes: number;
  valueNames: string[];
  selectors: {
    key: Selector<T, string | number> | undefined;
    timestamp: Selector<T, number> | undefined;
    type: Selector<T, string> | undefined;
    values: Selector<T, number>[];
  };
}

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

/** An event of an `append` call, encoded up front so nothing is written unless all are valid. */
interface Planned {
  partition: number;
  key: string;
  id: string;
  caller: boolean;
  need: number;
  type: string;
  ts: number;
  json: string;
  /** The call's values array; this event's are at [valsAt, valsAt + valueCount). */
  vals: Float64Array;
  valsAt: number;
}

interface Lane {
  /** The partition. */
  index: number;
  writer: InputWriter;
  mem: PartitionMemory;
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
  private readonly spec: ProducerSpec<T>;
  private readonly keyOf: ((e: T) => string | number) | undefined;
  private readonly tsOf: ((e: T) => number) | undefined;
  private readonly typeOf: (e: T) => unknown;
  private readonly valueOf: ((e: T) => number)[];
  private readonly vals: Float64Array;
  private readonly ulid = new MonotonicUlid();
  private roundRobin = 0;
  protected readonly acks: AckPump;
  private closed = false;
  private closing: Promise<void> | undefined;
  /** Calls accepted and still writing records (close waits for them). */
  private writing = 0;
  private writtenWaiters: (() => void)[] = [];
  // Fields of the event being encoded (kept on the instance: no per-call allocation).
  private curKey = '';
  private curType = '';
  private curTs = 0;
  private curJson = '';
  private curJsonBytes = 0;
  private curKeyBytes = 0;
  private curTypeBytes = 0;
  private readonly rec: RecordFields;
  private readonly valueCount: number;
  private readonly arenaBytes: number;

  constructor(mems: PartitionMemory[], ctl: ControlMemory, producerId: number, spec: ProducerSpec<T>) {
    this.id = producerId;
    this.spec = spec;
    this.lanes = mems.map((mem, index) => ({ index, writer: new InputWriter(mem), mem }));
    this.acks = new AckPump(mems, ctl, producerId, (p) => this.lanes[p].writer.wakeNow());
    const s = spec.selectors;
    this.keyOf = s.key === undefined ? undefined : compileSelector(s.key);
    this.tsOf = s.timestamp === undefined ? undefined : compileSelector(s.timestamp);
    this.typeOf = s.type === undefined ? (e: T) => (e as { type?: unknown } | null)?.type : compileSelector(s.type);
    this.valueOf = s.values.map((v) => compileSelector(v));
    this.vals = new Float64Array(Math.max(1, s.values.length));
    this.valueCount = s.values.length;
    this.arenaBytes = mems[0].geometry.arenaBytes;
    this.rec = {
      kindFlags: 0, producer: producerId, ticket: 0, batch: 1, expected: -1, ts: 0, vals: this.vals, valsAt: 0,
      id: '', key: '', type: '', json: '',
    };
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
    const id = opts?.id;
    if (id !== undefined) checkId(id);
    const partition = this.prepare(event, opts?.partition);
    const lane = this.lanes[partition];
    const gone = partitionGone(lane.mem, partition);
    if (gone !== undefined) throw gone;
    // The record carries a caller's id; the worker writes a generated one (GENERATED_ID_BYTES in the arena).
    const recIdBytes = id === undefined ? 0 : utf8Length(id);
    const idBytes = id === undefined ? GENERATED_ID_BYTES : recIdBytes;
    // Sizes so far count JSON characters. Near a limit, count bytes: multi-byte text over it could
    // otherwise fit its claim (the record's alignment padding) and reach the worker, which drops it.
    // Away from the limits (3 bytes per character still fits) the event fits: one check, not two.
    if (3 * this.curJsonBytes > this.spec.maxEventBytes || this.storedBytes(idBytes, 3 * this.curJsonBytes) > this.arenaBytes) {
      this.exactSizes();
      this.checkFits(idBytes);
    }
    const need = this.recordBytes(recIdBytes);
    // While append() calls wait for room, a claim here would overtake them: refuse, as for a full ring.
    const off = this.waiting > 0 ? -1 : lane.writer.claim(need);
    if (off < 0) {
      lane.writer.countRefused();
      return false;
    }
    const flags = id === undefined ? 0 : RecFlag.CALLER_ID;
    if (!this.write(lane, off, need, flags, 0, 1, -1, id ?? '', this.vals, 0)) {
      this.exactSizes();
      const exact = this.recordBytes(recIdBytes);
      const again = lane.writer.claim(exact);
      if (again < 0) {
        lane.writer.wake();
        lane.writer.countRefused();
        return false;
      }
      this.write(lane, again, exact, flags, 0, 1, -1, id ?? '', this.vals, 0);
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
    const plan: Planned[] = new Array(events.length);
    const V = this.valueCount;
    // The values of all events in one array (one allocation per call, not per event).
    const vals = new Float64Array(events.length * V);
    const now = Date.now();
    const encoded = (opts as EncodedAppendOptions)[ENCODED_JSON];
    if (encoded !== undefined && encoded.length !== events.length) throw invalidArgument('one encoded JSON per event');
    for (let i = 0; i < events.length; i++) {
      const partition = this.prepare(events[i], opts.partition, encoded?.[i]);
      this.exactSizes();
      const caller = ids !== undefined;
      const id = caller ? ids[i] : this.ulid.next(now);
      // Generated ids are ULIDs: ASCII, GENERATED_ID_BYTES long.
      const idBytes = caller ? utf8Length(id) : GENERATED_ID_BYTES;
      this.checkFits(idBytes);
      for (let v = 0; v < V; v++) vals[i * V + v] = this.vals[v];
      plan[i] = {
        partition, key: this.curKey, id, caller, need: recordBytes(this.valueCount, idBytes, this.curKeyBytes, this.curTypeBytes, this.curJsonBytes),
        type: this.curType, ts: this.curTs, json: this.curJson, vals, valsAt: i * V,
      };
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
   * Calls that wait do so in a FIFO queue, and a call made while any waits
   * joins it: appends are written in call order, and one waiter polls for
   * room, not every pending call (thousands of pollers made a full ring take
   * seconds to drain, and committed the calls in any order).
   */
  private async enqueue(plan: Planned[], collector: Collector, expected: number | undefined): Promise<void> {
    let turn: { done: () => void } | undefined;
    if (this.waiting > 0) {
      const t = this.queueUp();
      turn = t;
      await t.ready;
    }
    // The first call that must wait takes a turn too, so calls made meanwhile queue behind it.
    const wait = (lane: Lane, bytes: number, acks: number): Promise<number> => {
      turn ??= this.queueUp();
      return this.claimWithAcks(lane, bytes, acks);
    };
    try {
      await this.writePlanned(plan, collector, expected, wait);
    } finally {
      turn?.done();
    }
  }

  /** Calls in the queue (waiting for room, or behind one that does), and what the next one waits on. */
  private waiting = 0;
  private queueTail: Promise<void> = Promise.resolve();

  private queueUp(): { ready: Promise<void>; done: () => void } {
    this.waiting++;
    const ready = this.queueTail;
    let release!: () => void;
    this.queueTail = new Promise<void>((r) => (release = r));
    return {
      ready,
      done: () => {
        this.waiting--;
        release();
      },
    };
  }

  /** Claims and writes the records of a planned call; `wait` is how it waits for room. */
  private async writePlanned(
    plan: Planned[], collector: Collector, expected: number | undefined, wait: (lane: Lane, bytes: number, acks: number) => Promise<number>,
  ): Promise<void> {
    if (expected !== undefined) {
      // All-or-nothing: one claim, the first record carries the batch size and the precondition.
      const lane = this.lanes[plan[0].partition];
      const total = plan.reduce((n, p) => n + p.need, 0);
      if (total > lane.mem.geometry.inputBytes / 2) {
        throw invalidArgument('a conditional batch must fit in half of a partition input ring; split it');
      }
      let off = this.tryClaim(lane, total, plan.length);
      if (off < 0) off = await wait(lane, total, plan.length);
      let at = off;
      const first = this.acks.trackRange(lane.index, collector, 0, plan.length);
      for (let i = 0; i < plan.length; i++) {
        const p = plan[i];
        this.restore(p);
        const flags = RecFlag.ACK | (i === 0 ? RecFlag.EXPECTED : 0) | (p.caller ? RecFlag.CALLER_ID : 0);
        this.write(lane, at, p.need, flags, (first + i) | 0, i === 0 ? plan.length : 0, expected, p.id, p.vals, p.valsAt);
        at += p.need;
      }
      lane.writer.wake();
      return;
    }
    // A batch for one partition (one key, say) that fits takes one claim: its records are adjacent in the
    // ring, so its events get consecutive positions and versions even while producers on other threads
    // append to that partition. Each record is still its own (batch 1, no precondition).
    const single = plan.length > 1 && plan.length <= DRAIN_MAX_RECORDS && plan.every((p) => p.partition === plan[0].partition);
    const total = single ? plan.reduce((n, p) => n + p.need, 0) : 0;
    if (single && total <= this.lanes[plan[0].partition].mem.geometry.inputBytes / 2) {
      const lane = this.lanes[plan[0].partition];
      let at = this.tryClaim(lane, total, plan.length);
      if (at < 0) at = await wait(lane, total, plan.length);
      // One ticket run for the claim (tryClaim checked the ack room for all of it).
      const first = this.acks.trackRange(lane.index, collector, 0, plan.length);
      for (let i = 0; i < plan.length; i++) {
        const p = plan[i];
        this.restore(p);
        this.write(lane, at, p.need, RecFlag.ACK | (p.caller ? RecFlag.CALLER_ID : 0), (first + i) | 0, 1, -1, p.id, p.vals, p.valsAt);
        at += p.need;
      }
      lane.writer.wake();
      return;
    }
    if (plan.length === 1) {
      // One event: what the loop below does, without its bookkeeping (tryClaim checks that the partition runs).
      const p = plan[0];
      const lane = this.lanes[p.partition];
      let off = this.tryClaim(lane, p.need, 1);
      if (off < 0) off = await wait(lane, p.need, 1);
      this.restore(p);
      const ticket = this.acks.track(lane.index, collector, 0);
      this.write(lane, off, p.need, RecFlag.ACK | (p.caller ? RecFlag.CALLER_ID : 0), ticket, 1, -1, p.id, p.vals, p.valsAt);
      lane.writer.wake();
      return;
    }
    // Every partition the call touches must be running before anything is written: a call that finds
    // one stopped or failed stores nothing. (One that fails after this rejects with PartialAppendError.)
    const used = new Uint8Array(this.lanes.length);
    for (let i = 0; i < plan.length; i++) used[plan[i].partition] = 1;
    for (let p = 0; p < used.length; p++) {
      const gone = used[p] === 1 ? partitionGone(this.lanes[p].mem, p) : undefined;
      if (gone !== undefined) throw gone;
    }
    // Claim synchronously while there is room (no await per event), and wake each partition once.
    const touched = new Set<Lane>();
    for (let i = 0; i < plan.length; i++) {
      const p = plan[i];
      const lane = this.lanes[p.partition];
      let off = this.tryClaim(lane, p.need, 1);
      if (off < 0) {
        for (const l of touched) l.writer.wake();
        touched.clear();
        off = await wait(lane, p.need, 1);
      }
      this.restore(p);
      const ticket = this.acks.track(lane.index, collector, i);
      this.write(lane, off, p.need, RecFlag.ACK | (p.caller ? RecFlag.CALLER_ID : 0), ticket, 1, -1, p.id, p.vals, p.valsAt);
      touched.add(lane);
    }
    for (const l of touched) l.writer.wake();
  }

  /** A claim that succeeds now or returns -1 (ring full, or too many acks outstanding). */
  private tryClaim(lane: Lane, bytes: number, acks: number): number {
    const gone = partitionGone(lane.mem, lane.index);
    if (gone !== undefined) throw gone;
    if (!this.acks.hasRoom(lane.index, acks)) return -1;
    return lane.writer.claim(bytes);
  }

  private async claimWithAcks(lane: Lane, bytes: number, acks: number): Promise<number> {
    for (;;) {
      const off = this.tryClaim(lane, bytes, acks);
      if (off >= 0) return off;
      await this.acks.waitForSpace();
    }
  }

  /**
   * Makes a planned event the current one again, to be written once. The plan
   * gives up its JSON here: the call's collector keeps the plan (ids and keys)
   * until the call settles, and need not keep the payloads that long.
   */
  private restore(p: Planned): void {
    this.curKey = p.key;
    this.curType = p.type;
    this.curTs = p.ts;
    this.curJson = p.json;
    p.json = '';
  }

  /** Runs selectors and validations; returns the partition. Sets cur* fields. */
  private prepare(event: T, partition: number | undefined, encoded?: string): number {
    const spec = this.spec;
    if (event === undefined) throw new RingstoreError('RS_ERR_ENCODE', 'cannot append undefined');
    let key = '';
    if (this.keyOf !== undefined) {
      const k = this.keyOf(event);
      if (typeof k === 'string') key = k;
      else if (typeof k === 'number' && Number.isFinite(k)) key = String(k);
      else if (k !== undefined && k !== null) throw invalidArgument(`the key selector returned ${typeof k}; expected a string or a number`);
      if (key.length > MAX_KEY) throw invalidArgument(`key is longer than ${MAX_KEY} characters`);
    }
    const t = this.typeOf(event);
    this.curType = typeof t === 'string' ? t : '';
    if (this.curType.length > MAX_TYPE) throw invalidArgument(`event type is longer than ${MAX_TYPE} characters`);
    let ts: number;
    if (this.tsOf !== undefined) {
      ts = this.tsOf(event);
      if (typeof ts !== 'number' || !Number.isFinite(ts)) {
        throw new RingstoreError('RS_ERR_NON_FINITE', `the timestamp selector returned ${String(ts)}; expected a finite number`);
      }
    } else ts = Date.now();
    const fns = this.valueOf;
    for (let i = 0; i < fns.length; i++) {
      const v = fns[i](event);
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new RingstoreError('RS_ERR_NON_FINITE', `value "${spec.valueNames[i]}" is ${String(v)}; expected a finite number`, {
          value: spec.valueNames[i],
        });
      }
      this.vals[i] = v;
    }
    let json: string | undefined = encoded;
    if (json === undefined) {
      try {
        json = JSON.stringify(event);
      } catch (err) {
        throw new RingstoreError('RS_ERR_ENCODE', `event is not JSON-serialisable: ${(err as Error).message}`, undefined, { cause: err });
      }
    }
    if (json === undefined) throw new RingstoreError('RS_ERR_ENCODE', 'event is not JSON-serialisable');
    // Claims assume one byte per UTF-16 unit (ASCII JSON, the common case);
    // a longer encoding is detected at write time and retried exactly.
    const jsonBytes = json.length;
    if (jsonBytes > spec.maxEventBytes) {
      throw new RingstoreError('RS_ERR_EVENT_TOO_LARGE', `encoded event exceeds maxEventBytes (${spec.maxEventBytes})`, {
        maxEventBytes: spec.maxEventBytes,
      });
    }
    this.curKey = key;
    this.curKeyBytes = textLength(key, 'key');
    this.curTypeBytes = textLength(this.curType, 'event type');
    this.curTs = ts;
    this.curJson = json;
    this.curJsonBytes = jsonBytes;
    if (partition !== undefined) {
      if (!Number.isInteger(partition) || partition < 0 || partition >= spec.partitions) {
        throw invalidArgument(`partition must be an integer in [0, ${spec.partitions}), got ${String(partition)}`);
      }
      return partition;
    }
    if (this.keyOf === undefined || key === '') {
      this.roundRobin = (this.roundRobin + 1) % spec.partitions;
      return this.roundRobin;
    }
    return hashKey(key) % spec.partitions;
  }

  /**
   * The stored event (id, key, type and JSON, as the arena holds them) must
   * fit in the partition's arena: otherwise it could only be stored cut.
   */
  private checkFits(idBytes: number): void {
    const stored = this.storedBytes(idBytes, this.curJsonBytes);
    if (stored > this.arenaBytes) {
      throw new RingstoreError(
        'RS_ERR_EVENT_TOO_LARGE',
        `the event needs ${stored} bytes with its id, key and type; a partition's arena holds ${this.arenaBytes} (raise payloadBytes)`,
        { bytes: stored, arenaBytes: this.arenaBytes },
      );
    }
  }

  /** Arena bytes of the prepared event with `jsonBytes` of JSON. */
  private storedBytes(idBytes: number, jsonBytes: number): number {
    return (idBytes + this.curKeyBytes + this.curTypeBytes + jsonBytes + 3) & ~3;
  }

  /** Exact record size of the prepared event with `idBytes` of id in the record: claims take only what they use. */
  private recordBytes(idBytes: number): number {
    return recordBytes(this.valueCount, idBytes, this.curKeyBytes, this.curTypeBytes, this.curJsonBytes);
  }

  /** Writes and publishes a record; false when the claim was too short (the record is published as VOID). */
  private write(
    lane: Lane, off: number, need: number, flags: number, ticket: number, batch: number, expected: number, id: string,
    vals: Float64Array, valsAt: number,
  ): boolean {
    const r = this.rec;
    r.kindFlags = flags;
    r.ticket = ticket;
    r.batch = batch;
    r.expected = expected;
    r.ts = this.curTs;
    r.vals = vals;
    r.valsAt = valsAt;
    r.id = id;
    r.key = this.curKey;
    r.type = this.curType;
    r.json = this.curJson;
    const m = lane.mem;
    return writeRecord(m.inI32, m.inF64, m.inU8, off, need, this.valueCount, r);
  }

  /**
   * After a VOID write (the JSON was not ASCII, so the claim was short):
   * measures the exact UTF-8 size, checks maxEventBytes, and returns it.
   */
  private exactSizes(): void {
    const bytes = Buffer.byteLength(this.curJson);
    if (bytes > this.spec.maxEventBytes) {
      throw new RingstoreError('RS_ERR_EVENT_TOO_LARGE', `encoded event exceeds maxEventBytes (${this.spec.maxEventBytes})`, {
        maxEventBytes: this.spec.maxEventBytes,
      });
    }
    this.curJsonBytes = bytes;
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

/** UTF-8 length of a short string (ASCII fast path). */
function utf8Length(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.byteLength(s);
  return s.length;
}

/**
 * UTF-8 length of a key, type or id, which must be well-formed UTF-16: a lone
 * surrogate is encoded as U+FFFD, so two different keys would become one.
 */
function textLength(s: string, what: string): number {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) <= 0x7f) continue;
    if (!(s as unknown as { isWellFormed(): boolean }).isWellFormed()) throw invalidArgument(`the ${what} is not well-formed UTF-16 (it holds a lone surrogate)`);
    return Buffer.byteLength(s);
  }
  return s.length;
}

function checkId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID) {
    throw invalidArgument(`id must be a non-empty string of at most ${MAX_ID} characters`);
  }
  textLength(id, 'id');
}

function normaliseIds(id: AppendOptions['id'], n: number, single: boolean): readonly string[] | undefined {
  if (id === undefined) return undefined;
  if (typeof id === 'string') {
    if (!single && n !== 1) throw invalidArgument('an array of events takes an array of ids');
    checkId(id);
    return [id];
  }
  if (!Array.isArray(id) || id.length !== n) throw invalidArgument('ids must be an array with one id per event');
  const seen = new Set<string>();
  for (const x of id) {
    checkId(x);
    if (seen.has(x)) throw invalidArgument(`id "${x}" appears twice in one append`);
    seen.add(x);
  }
  return id;
}
