import { ClosedError, RingstoreError, invalidArgument } from '../errors.js';
import { InputWriter } from '../ring/input-writer.js';
import { ControlMemory, PartitionMemory, REC_HEADER_BYTES, Rec, RecFlag, RecKind } from '../ring/layout.js';
import { writeUtf8 } from '../ring/utf8.js';
import { hashKey } from '../partition/hash.js';
import { MonotonicUlid } from '../streams/ulid.js';
import { AckPump, type Collector } from './ack-pump.js';
import type { Selector } from './options.js';
import { compileSelector } from './selectors.js';
import type { AppendOptions, AppendResult, TryAppendOptions } from './types.js';

const encoder = new TextEncoder();
const MAX_KEY = 1024;
const MAX_TYPE = 256;
const MAX_ID = 256;
const align8 = (n: number): number => (n + 7) & ~7;

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
  jsonBytes: number;
  keyBytes: number;
  typeBytes: number;
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
  private readonly acks: AckPump;
  private closed = false;
  // Fields of the event being encoded (kept on the instance: no per-call allocation).
  private curKey = '';
  private curType = '';
  private curTs = 0;
  private curJson = '';
  private curJsonBytes = 0;
  private curKeyBytes = 0;
  private curTypeBytes = 0;
  private readonly valueCount: number;
  private readonly fixedBytes: number;

  constructor(mems: PartitionMemory[], ctl: ControlMemory, producerId: number, spec: ProducerSpec<T>) {
    this.id = producerId;
    this.spec = spec;
    this.lanes = mems.map((mem, index) => ({ index, writer: new InputWriter(mem), mem }));
    this.acks = new AckPump(mems, ctl, producerId);
    const s = spec.selectors;
    this.keyOf = s.key === undefined ? undefined : compileSelector(s.key);
    this.tsOf = s.timestamp === undefined ? undefined : compileSelector(s.timestamp);
    this.typeOf = s.type === undefined ? (e: T) => (e as { type?: unknown } | null)?.type : compileSelector(s.type);
    this.valueOf = s.values.map((v) => compileSelector(v));
    this.vals = new Float64Array(Math.max(1, s.values.length));
    this.valueCount = s.values.length;
    this.fixedBytes = REC_HEADER_BYTES + s.values.length * 8;
  }

  /**
   * Appends without waiting for the commit. Returns false only when the
   * partition's input ring is full of events its worker has not committed
   * yet. Invalid events throw a typed error and change nothing.
   */
  tryAppend(event: T, opts?: TryAppendOptions): boolean {
    if (this.closed) throw new ClosedError();
    const id = opts?.id;
    if (id !== undefined) checkId(id);
    const partition = this.prepare(event, opts?.partition);
    const lane = this.lanes[partition];
    const need = this.recordBytes(id ?? '');
    const off = lane.writer.claim(need);
    if (off < 0) {
      lane.writer.countRefused();
      return false;
    }
    const flags = id === undefined ? 0 : RecFlag.CALLER_ID;
    if (!this.writeRecord(lane, off, need, flags, 0, 1, -1, id ?? '')) {
      this.exactSizes();
      const exact = this.recordBytes(id ?? '');
      const again = lane.writer.claim(exact);
      if (again < 0) {
        lane.writer.wake();
        lane.writer.countRefused();
        return false;
      }
      this.writeRecord(lane, again, exact, flags, 0, 1, -1, id ?? '');
    }
    lane.writer.wake();
    return true;
  }

  /**
   * Appends and resolves once the partition worker committed (or rejected)
   * the event(s). See {@link AppendOptions}.
   */
  append(event: T, opts?: AppendOptions): Promise<AppendResult>;
  append(events: readonly T[], opts?: AppendOptions): Promise<AppendResult[]>;
  append(input: T | readonly T[], opts?: AppendOptions): Promise<AppendResult | AppendResult[]>;
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

    // Encode-time validation happens for every event before anything is written.
    const plan: Planned[] = new Array(events.length);
    const V = this.valueCount;
    // The values of all events in one array (one allocation per call, not per event).
    const vals = new Float64Array(events.length * V);
    const now = Date.now();
    for (let i = 0; i < events.length; i++) {
      const partition = this.prepare(events[i], opts.partition);
      this.exactSizes();
      const caller = ids !== undefined;
      const id = caller ? ids[i] : this.ulid.next(now);
      for (let v = 0; v < V; v++) vals[i * V + v] = this.vals[v];
      plan[i] = {
        partition, key: this.curKey, id, caller, need: this.recordBytes(id),
        type: this.curType, ts: this.curTs, json: this.curJson, jsonBytes: this.curJsonBytes, keyBytes: this.curKeyBytes,
        typeBytes: this.curTypeBytes, vals, valsAt: i * V,
      };
    }
    if (expected !== undefined && plan.some((p) => p.key !== plan[0].key || p.partition !== plan[0].partition)) {
      throw invalidArgument('an append with expectedVersion must have one key for all its events');
    }

    return new Promise<AppendResult | AppendResult[]>((resolve, reject) => {
      const collector: Collector = { results: new Array(events.length), remaining: events.length, done: false, single, resolve, reject };
      void this.enqueue(plan, collector, expected).catch((err: Error) => {
        if (!collector.done) {
          collector.done = true;
          reject(err);
        }
      });
    });
  }

  /** Writes a planned append, waiting for ring space or ack slots as needed. */
  private async enqueue(
    plan: Planned[],
    collector: Collector,
    expected: number | undefined,
  ): Promise<void> {
    if (expected !== undefined) {
      // All-or-nothing: one claim, the first record carries the batch size and the precondition.
      const lane = this.lanes[plan[0].partition];
      const total = plan.reduce((n, p) => n + p.need, 0);
      if (total > lane.mem.geometry.inputBytes / 2) {
        throw invalidArgument('a conditional batch must fit in half of a partition input ring; split it');
      }
      const off = await this.claimWithAcks(lane, total, plan.length);
      let at = off;
      for (let i = 0; i < plan.length; i++) {
        const p = plan[i];
        this.restore(p);
        const flags = RecFlag.ACK | (i === 0 ? RecFlag.EXPECTED : 0) | (p.caller ? RecFlag.CALLER_ID : 0);
        const ticket = this.acks.track(lane.index, collector, i, p.id, p.key, expected);
        this.writeRecord(lane, at, p.need, flags, ticket, i === 0 ? plan.length : 0, expected, p.id);
        at += p.need;
      }
      lane.writer.wake();
      return;
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
        off = await this.claimWithAcks(lane, p.need, 1);
      }
      this.restore(p);
      const ticket = this.acks.track(lane.index, collector, i, p.id, p.key, -1);
      this.writeRecord(lane, off, p.need, RecFlag.ACK | (p.caller ? RecFlag.CALLER_ID : 0), ticket, 1, -1, p.id);
      touched.add(lane);
    }
    for (const l of touched) l.writer.wake();
  }

  /** A claim that succeeds now or returns -1 (ring full, or too many acks outstanding). */
  private tryClaim(lane: Lane, bytes: number, acks: number): number {
    if (this.closed) throw new ClosedError();
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

  /** Makes a planned event the current one again. */
  private restore(p: Planned): void {
    this.curKey = p.key;
    this.curType = p.type;
    this.curTs = p.ts;
    this.curJson = p.json;
    this.curJsonBytes = p.jsonBytes;
    this.curKeyBytes = p.keyBytes;
    this.curTypeBytes = p.typeBytes;
    for (let v = 0; v < this.valueCount; v++) this.vals[v] = p.vals[p.valsAt + v];
  }

  /** Runs selectors and validations; returns the partition. Sets cur* fields. */
  private prepare(event: T, partition: number | undefined): number {
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
    let json: string | undefined;
    try {
      json = JSON.stringify(event);
    } catch (err) {
      throw new RingstoreError('RS_ERR_ENCODE', `event is not JSON-serialisable: ${(err as Error).message}`, undefined, { cause: err });
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
    this.curKeyBytes = utf8Length(key);
    this.curTypeBytes = utf8Length(this.curType);
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

  /** Exact record size of the prepared event: claims take only what they use. */
  private recordBytes(id: string): number {
    return align8(this.fixedBytes + utf8Length(id) + this.curKeyBytes + this.curTypeBytes + this.curJsonBytes);
  }

  /** Writes and publishes a record; false when the claim was too short (the record is published as VOID). */
  private writeRecord(lane: Lane, off: number, need: number, flags: number, ticket: number, batch: number, expected: number, id: string): boolean {
    const mem = lane.mem;
    const i32 = mem.inI32;
    const f64 = mem.inF64;
    const u8 = mem.inU8;
    const w = off >> 2;
    const f = off >> 3;
    const V = this.valueCount;
    f64[f + Rec.F_TS] = this.curTs;
    f64[f + Rec.F_EXPECTED] = expected;
    for (let i = 0; i < V; i++) f64[f + Rec.F_VALUES + i] = this.vals[i];
    let p = off + REC_HEADER_BYTES + V * 8;
    const end = off + need;
    const idLen = id.length === 0 ? 0 : writeUtf8(u8, p, id, end - p);
    p += idLen;
    const keyLen = writeUtf8(u8, p, this.curKey, end - p);
    p += keyLen;
    const typeLen = writeUtf8(u8, p, this.curType, end - p);
    p += typeLen;
    const r = encoder.encodeInto(this.curJson, u8.subarray(p, end));
    const written = r.written;
    let kind: number = RecKind.EVENT;
    if (r.read !== this.curJson.length || idLen < 0 || keyLen < 0 || typeLen < 0) kind = RecKind.VOID;
    i32[w + Rec.KIND] = kind | flags;
    i32[w + Rec.PRODUCER] = this.id;
    i32[w + Rec.TICKET] = ticket;
    i32[w + Rec.BATCH] = batch;
    i32[w + Rec.KEY_LEN] = keyLen;
    i32[w + Rec.TYPE_LEN] = typeLen;
    i32[w + Rec.ID_LEN] = idLen;
    i32[w + Rec.PAYLOAD_LEN] = written;
    lane.writer.publish(off, need);
    return kind !== RecKind.VOID;
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

  /** Rejects everything pending; later calls throw `ClosedError`. */
  close(reason?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.acks.close(reason);
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

function checkId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID) {
    throw invalidArgument(`id must be a non-empty string of at most ${MAX_ID} characters`);
  }
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
