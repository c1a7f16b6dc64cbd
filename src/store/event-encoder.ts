/**
 * Encodes one event at a time for a producer: runs the selectors, checks the
 * limits, sizes the record and writes it into a claim. The event being
 * encoded lives in the `cur*` fields (no per-call allocation on tryAppend's
 * hot path); append() keeps each event of a call as a {@link Planned} and
 * makes it current again to write it.
 */
import { RingstoreError, invalidArgument } from '../errors.js';
import type { PartitionMemory } from '../ring/layout.js';
import { recordBytes, writeRecord, type RecordFields } from '../ring/record.js';
import { hashKey } from '../partition/hash.js';
import { textLength } from './append-text.js';
import type { Selector } from './options.js';
import { compileSelector } from './selectors.js';

/** The largest timestamp magnitude, in ms: a JavaScript Date's range (the daemon's time values share it). */
export const MAX_TIME_MS = 8.64e15;

const MAX_KEY = 1024;
const MAX_TYPE = 256;

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
export interface Planned {
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

export class EventEncoder<T> {
  private readonly spec: ProducerSpec<T>;
  private readonly keyOf: ((e: T) => string | number) | undefined;
  private readonly tsOf: ((e: T) => number) | undefined;
  private readonly typeOf: (e: T) => unknown;
  private readonly valueOf: ((e: T) => number)[];
  /** The current event's declared values. */
  readonly vals: Float64Array;
  readonly valueCount: number;
  private readonly arenaBytes: number;
  private roundRobin = 0;
  // Fields of the event being encoded.
  curKey = '';
  private curType = '';
  private curTs = 0;
  private curJson = '';
  /** JSON size: characters after prepare() (bytes if ASCII), exact UTF-8 bytes after exactSizes(). */
  curJsonBytes = 0;
  private curKeyBytes = 0;
  private curTypeBytes = 0;
  private readonly rec: RecordFields;

  constructor(spec: ProducerSpec<T>, producerId: number, arenaBytes: number) {
    this.spec = spec;
    const s = spec.selectors;
    this.keyOf = s.key === undefined ? undefined : compileSelector(s.key);
    this.tsOf = s.timestamp === undefined ? undefined : compileSelector(s.timestamp);
    this.typeOf = s.type === undefined ? (e: T) => (e as { type?: unknown } | null)?.type : compileSelector(s.type);
    this.valueOf = s.values.map((v) => compileSelector(v));
    this.vals = new Float64Array(Math.max(1, s.values.length));
    this.valueCount = s.values.length;
    this.arenaBytes = arenaBytes;
    this.rec = {
      kindFlags: 0, producer: producerId, ticket: 0, batch: 1, expected: -1, ts: 0, vals: this.vals, valsAt: 0,
      id: '', key: '', type: '', json: '',
    };
  }

  /** Runs selectors and validations; returns the partition. Sets cur* fields. */
  prepare(event: T, partition: number | undefined, encoded?: string): number {
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
      // A Date's range, as the daemon's: far beyond it (1e300) bucket numbers lose their precision and the
      // window lost the event (ts / bucketMs - buckets === ts / bucketMs).
      if (ts > MAX_TIME_MS || ts < -MAX_TIME_MS) throw invalidArgument(`the timestamp selector returned ${ts}; a timestamp is ms within ±${MAX_TIME_MS} (a Date's range)`);
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
    // One partition: every key routes to it, no hash needed (hashKey was ~4% of a tryAppend profile).
    if (spec.partitions === 1) return 0;
    if (this.keyOf === undefined || key === '') {
      this.roundRobin = (this.roundRobin + 1) % spec.partitions;
      return this.roundRobin;
    }
    return hashKey(key) % spec.partitions;
  }

  /**
   * Whether the prepared event surely fits (maxEventBytes, the arena) at 3
   * UTF-8 bytes per JSON character. Sizes so far count JSON characters; near
   * a limit the caller counts bytes (exactSizes + checkFits): multi-byte text
   * over it could otherwise fit its claim (the record's alignment padding)
   * and reach the worker, which drops it. Away from the limits: one check, not two.
   */
  surelyFits(idBytes: number): boolean {
    const upper = 3 * this.curJsonBytes;
    return upper <= this.spec.maxEventBytes && this.storedBytes(idBytes, upper) <= this.arenaBytes;
  }

  /**
   * The stored event (id, key, type and JSON, as the arena holds them) must
   * fit in the partition's arena: otherwise it could only be stored cut.
   */
  checkFits(idBytes: number): void {
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
  recordBytes(idBytes: number): number {
    return recordBytes(this.valueCount, idBytes, this.curKeyBytes, this.curTypeBytes, this.curJsonBytes);
  }

  /**
   * Measures the exact UTF-8 size of the current JSON (after a VOID write, or
   * before planning an append) and checks maxEventBytes.
   */
  exactSizes(): void {
    const bytes = Buffer.byteLength(this.curJson);
    if (bytes > this.spec.maxEventBytes) {
      throw new RingstoreError('RS_ERR_EVENT_TOO_LARGE', `encoded event exceeds maxEventBytes (${this.spec.maxEventBytes})`, {
        maxEventBytes: this.spec.maxEventBytes,
      });
    }
    this.curJsonBytes = bytes;
  }

  /** The current (prepared, exactly sized) event as a plan entry; its values are copied into `vals` at `valsAt`. */
  toPlanned(partition: number, id: string, caller: boolean, idBytes: number, vals: Float64Array, valsAt: number): Planned {
    for (let v = 0; v < this.valueCount; v++) vals[valsAt + v] = this.vals[v];
    return {
      partition, key: this.curKey, id, caller, need: this.recordBytes(idBytes),
      type: this.curType, ts: this.curTs, json: this.curJson, vals, valsAt,
    };
  }

  /**
   * Makes a planned event the current one again, to be written once. The plan
   * gives up its JSON here: the call's collector keeps the plan (ids and keys)
   * until the call settles, and need not keep the payloads that long.
   */
  restore(p: Planned): void {
    this.curKey = p.key;
    this.curType = p.type;
    this.curTs = p.ts;
    this.curJson = p.json;
    p.json = '';
  }

  /** Writes and publishes the current event's record; false when the claim was too short (the record is published as VOID). */
  write(
    mem: PartitionMemory, off: number, need: number, flags: number, ticket: number, batch: number, expected: number, id: string,
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
    return writeRecord(mem.inI32, mem.inF64, mem.inU8, off, need, this.valueCount, r);
  }
}
