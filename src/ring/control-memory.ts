import { LINE_BYTES, LINE_INTS } from './memory-fields.js';

/** Control buffer shared by the whole store: producer slot ownership and wake-up bells. */
export class ControlMemory {
  readonly sab: SharedArrayBuffer;
  readonly i32: Int32Array;
  readonly maxProducers: number;

  constructor(sab: SharedArrayBuffer, maxProducers: number) {
    this.sab = sab;
    this.maxProducers = maxProducers;
    this.i32 = new Int32Array(sab);
  }

  static allocate(maxProducers: number): ControlMemory {
    return new ControlMemory(new SharedArrayBuffer(ControlMemory.bytes(maxProducers)), maxProducers);
  }

  static bytes(maxProducers: number): number {
    // slot owner flags (one line each) + bells (one line each) + closed flag line
    return (2 * maxProducers + 1) * LINE_BYTES;
  }

  /** Int32 index of producer p's ownership word. */
  ownerIndex(p: number): number {
    return p * LINE_INTS;
  }

  /** Int32 index of producer p's bell (workers add + notify it after writing acks). */
  bellIndex(p: number): number {
    return (this.maxProducers + p) * LINE_INTS;
  }

  /** Int32 index of the store-wide closed flag. */
  get closedIndex(): number {
    return 2 * this.maxProducers * LINE_INTS;
  }
}
