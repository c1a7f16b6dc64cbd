/**
 * The write operations of a durable `MetricStore`, as a batch of columns:
 * what one frame of its log holds (metric-journal.ts), and what is applied to
 * the in-memory store once the frame is written. Live writes and the restore
 * apply a batch through the same {@link applyOps}, so a replay makes the same
 * calls in the same order, and the store ends in the same state (key slots,
 * pins and counters included: `MetricStore` is deterministic).
 *
 * Frame payload (little-endian; columns of `n` operations, then the keys):
 *
 * ```text
 * 0    f64 × 4   format (1), frame number, n, key count d
 * 32   f64 × n   value (SAMPLE) or id (UNPIN)
 *      f64 × n   timestamp (SAMPLE)
 *      i32 × n   key index (SAMPLE, PIN)
 *      u8  × n   kind: 1 SAMPLE, 2 PIN (keyId), 3 UNPIN (releaseKeyId), 4 CLEAR
 *      u32 × d   UTF-8 byte length of each key
 *      bytes     the keys' UTF-8, in index order
 * ```
 * @module
 */
import { RingstoreError } from '../errors.js';
import type { MetricStore } from './metric-store.js';
import { metricInternals, type MetricInternals } from './metric-internals.js';

/** Operation kinds. */
export const Op = { SAMPLE: 1, PIN: 2, UNPIN: 3, CLEAR: 4 } as const;

const FORMAT = 1;
const HEAD_BYTES = 32;

/** The columns {@link applyOps} reads: a queued batch or a decoded frame. */
export interface OpColumns {
  readonly n: number;
  readonly kinds: Uint8Array;
  readonly args: Int32Array;
  readonly nums: Float64Array;
  readonly times: Float64Array;
  readonly keys: readonly string[];
}

const encoder = new TextEncoder();

/** Operations queued since the last frame. Grows as needed; {@link reset} reuses the memory. */
export class OpBatch implements OpColumns {
  n = 0;
  /** SAMPLE operations queued (the frame's `count`). */
  samples = 0;
  /** PIN and UNPIN operations queued (their results are numbered in this order). */
  controls = 0;
  kinds = new Uint8Array(1024);
  args = new Int32Array(1024);
  nums = new Float64Array(1024);
  times = new Float64Array(1024);
  readonly keys: string[] = [];
  readonly #dict = new Map<string, number>();
  readonly #head = new Float64Array(4);
  /** Upper bound of the keys' UTF-8 bytes. */
  #keyBytes = 0;

  /** Queues `add(key, value, ts)`. */
  sample(key: string, value: number, ts: number): void {
    const i = this.#slot(Op.SAMPLE);
    this.args[i] = this.#key(key);
    this.nums[i] = value;
    this.times[i] = ts;
    this.samples++;
  }

  /** Queues `keyId(key)`; returns the index of its result. */
  pin(key: string): number {
    const i = this.#slot(Op.PIN);
    this.args[i] = this.#key(key);
    return this.controls++;
  }

  /** Queues `releaseKeyId(id)`; returns the index of its result. */
  unpin(id: number): number {
    const i = this.#slot(Op.UNPIN);
    this.nums[i] = id;
    return this.controls++;
  }

  /** Queues `clear()`. */
  clear(): void {
    this.#slot(Op.CLEAR);
  }

  /** The frame payload as parts (views of the batch's columns, no copy of them). */
  encode(frameNo: number): Uint8Array[] {
    const { n, keys } = this;
    const head = this.#head;
    head[0] = FORMAT;
    head[1] = frameNo;
    head[2] = n;
    head[3] = keys.length;
    const lengths = new Uint32Array(keys.length);
    const text = new Uint8Array(this.#keyBytes);
    let at = 0;
    for (let k = 0; k < keys.length; k++) {
      const { written } = encoder.encodeInto(keys[k], text.subarray(at));
      lengths[k] = written;
      at += written;
    }
    const bytes = (a: Float64Array | Int32Array | Uint8Array | Uint32Array, len: number): Uint8Array =>
      new Uint8Array(a.buffer, a.byteOffset, len * a.BYTES_PER_ELEMENT);
    return [
      bytes(head, 4), bytes(this.nums, n), bytes(this.times, n), bytes(this.args, n), bytes(this.kinds, n),
      bytes(lengths, keys.length), text.subarray(0, at),
    ];
  }

  /** Empties the batch (keeps its memory). */
  reset(): void {
    this.n = 0;
    this.samples = 0;
    this.controls = 0;
    this.keys.length = 0;
    this.#dict.clear();
    this.#keyBytes = 0;
  }

  #slot(kind: number): number {
    const i = this.n;
    if (i === this.kinds.length) this.#grow();
    this.kinds[i] = kind;
    this.n = i + 1;
    return i;
  }

  #key(key: string): number {
    let k = this.#dict.get(key);
    if (k === undefined) {
      k = this.keys.length;
      this.#dict.set(key, k);
      this.keys.push(key);
      this.#keyBytes += 3 * key.length; // UTF-8 worst case per UTF-16 unit
    }
    return k;
  }

  #grow(): void {
    const size = this.kinds.length * 2;
    const kinds = new Uint8Array(size);
    kinds.set(this.kinds);
    const args = new Int32Array(size);
    args.set(this.args);
    const nums = new Float64Array(size);
    nums.set(this.nums);
    const times = new Float64Array(size);
    times.set(this.times);
    Object.assign(this, { kinds, args, nums, times });
  }
}

/** A decoded frame: its number, samples and operations. */
export interface DecodedOps extends OpColumns {
  frameNo: number;
  samples: number;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes a frame payload (copying it: the restore's view is only valid
 * during the visit). Throws `RS_ERR_LOG_CORRUPT` when it does not hold
 * well-formed operations (the caller adds the file and offset).
 */
export function decodeOps(payload: Uint8Array): DecodedOps {
  const fail = (why: string): never => {
    throw new RingstoreError('RS_ERR_LOG_CORRUPT', `a metric frame ${why}`);
  };
  if (payload.length < HEAD_BYTES) fail(`of ${payload.length} bytes is shorter than its header`);
  const head = new Float64Array(payload.slice(0, HEAD_BYTES).buffer);
  const [format, frameNo, n, d] = head;
  if (format !== FORMAT) fail(`has format ${format}, not ${FORMAT}`);
  if (!Number.isSafeInteger(frameNo) || frameNo < 1 || !Number.isSafeInteger(n) || n < 0 || !Number.isSafeInteger(d) || d < 0) fail('has a bad header');
  let at = HEAD_BYTES;
  const take = (len: number): ArrayBuffer => {
    if (at + len > payload.length) fail(`is cut short (${payload.length} bytes)`);
    const out = payload.slice(at, at + len).buffer;
    at += len;
    return out;
  };
  const nums = new Float64Array(take(8 * n));
  const times = new Float64Array(take(8 * n));
  const args = new Int32Array(take(4 * n));
  const kinds = new Uint8Array(take(n));
  const lengths = new Uint32Array(take(4 * d));
  const keys: string[] = [];
  for (let k = 0; k < d; k++) keys.push(decoder.decode(new Uint8Array(take(lengths[k]))));
  if (at !== payload.length) fail(`has ${payload.length - at} bytes after its keys`);
  let samples = 0;
  for (let i = 0; i < n; i++) {
    const kind = kinds[i];
    if (kind === Op.SAMPLE) samples++;
    if (kind < Op.SAMPLE || kind > Op.CLEAR) fail(`has an operation of kind ${kind}`);
    if ((kind === Op.SAMPLE || kind === Op.PIN) && (args[i] < 0 || args[i] >= d)) fail(`names key ${args[i]} of ${d}`);
  }
  return { frameNo, n, samples, kinds, args, nums, times, keys };
}

/**
 * Applies the operations to the store, in order, and returns the results of
 * its PIN (the id, or the error) and UNPIN (a boolean) operations, in order.
 * The operations were validated when queued (keys by the build that wrote a
 * replayed frame: past the length check here); only `keyId` can still throw
 * (too many remembered keys), and does so at the same point on a replay.
 */
export function applyOps(store: MetricStore, ops: OpColumns): (number | boolean | Error)[] {
  const { n, kinds, args, nums, times, keys } = ops;
  const mem = metricInternals.get(store) as MetricInternals;
  const results: (number | boolean | Error)[] = [];
  for (let i = 0; i < n; i++) {
    switch (kinds[i]) {
      case Op.SAMPLE:
        mem.addJournaled(keys[args[i]], nums[i], times[i]);
        break;
      case Op.PIN:
        try {
          results.push(mem.keyIdJournaled(keys[args[i]]));
        } catch (err) {
          results.push(err as Error);
        }
        break;
      case Op.UNPIN:
        results.push(store.releaseKeyId(nums[i]));
        break;
      default:
        store.clear();
    }
  }
  return results;
}
