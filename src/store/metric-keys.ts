/**
 * The key table of a {@link MetricStore}: which keys the store remembers, the
 * small integer (slot) each is stored under in the `keyId` column, and the
 * ids handed out by `keyId()`. Internal: the public surface is
 * `metric-store.ts`.
 *
 * Memory follows the live samples. A key is remembered while it has a live
 * sample or is pinned; a key with neither ("idle") is forgotten by the next
 * sweep and its slot reused. Sweeps are lazy so that `add()` pays nothing for
 * them (no per-key live counts): the store sweeps when interning a key would
 * make the unpinned keys it remembers exceed `maxRememberedKeys` (live keys
 * are at most `capacity`, so each sweep forgets at least `maxRememberedKeys -
 * capacity` keys).
 *
 * Ids handed out by `keyId()` pin their key and are generation-checked: the id
 * of a pin is `generation · 2^32 + slot`, and a slot's generation advances
 * each time a pin on it is released, so every id is issued once and a
 * released id can never name another key. A slot whose generations run out
 * (2^21 releases) is retired for good; its key moves to a fresh slot.
 * @module
 */
import { invalidArgument } from '../errors.js';

/** Releases a slot may see before it is retired (keeps ids safe integers). */
export const MAX_GENERATIONS = 2 ** 21;
/** `id = generation · SLOT_SPAN + slot`; `id | 0` is the slot (an int32, cheapest for V8). */
const SLOT_SPAN = 2 ** 32;
/** Slots stay below 2^31 so that `id | 0` decodes them. */
const MAX_SLOTS = 2 ** 31 - 1;

/** The state of a {@link MetricKeyTable}, as plain arrays (JSON-safe). */
export interface MetricKeyImage {
  names: string[];
  part: number[];
  handles: number[];
  generations: number[];
  free: number[];
  pinned: number;
}

/** Keys remembered by a metric store, their slots and pins. */
export class MetricKeyTable {
  /** Slot of each remembered key. */
  readonly ids = new Map<string, number>();
  /** Key of each slot below {@link span}; `''` for a free or retired slot. */
  readonly names: string[] = [];
  /** Partition of each slot's key, computed once when the key is interned. */
  readonly part: number[] = [];
  /** The id of the pin on each slot, or -1 (read by `addById`). Never shrinks. */
  readonly handles: number[] = [];
  /** Next generation of each slot ever used; `MAX_GENERATIONS`: retired. Never shrinks. */
  readonly #generations: number[] = [];
  /** Free slots below {@link span}, lowest last (popped first). */
  #free: number[] = [];
  #pinned = 0;

  /** Slots in use or free: what per-key query arrays are sized by. */
  get span(): number {
    return this.names.length;
  }

  /** Remembered keys (live, pinned or idle). */
  get remembered(): number {
    return this.ids.size;
  }

  /** Keys pinned by `keyId()`. */
  get pinned(): number {
    return this.#pinned;
  }

  /** Remembered keys that are not pinned: the ones a sweep may forget. */
  get unpinned(): number {
    return this.ids.size - this.#pinned;
  }

  /** Remembers `key` (not yet remembered) in a free or new slot and returns the slot. */
  intern(key: string, partition: number): number {
    const slot = this.#allocate();
    this.ids.set(key, slot);
    this.names[slot] = key;
    this.part[slot] = partition;
    return slot;
  }

  /** The slot of a current pin id, or -1 (released, never issued, or not an id). */
  slotOf(id: number): number {
    const slot = id | 0;
    return this.handles[slot] === id ? slot : -1;
  }

  /** Whether the slot's generations ran out: it must be moved before it is pinned again. */
  exhausted(slot: number): boolean {
    return this.#generations[slot] === MAX_GENERATIONS;
  }

  /** Pins the slot's key (not pinned, not exhausted) and returns the pin's id. */
  pin(slot: number): number {
    const id = this.#generations[slot] * SLOT_SPAN + slot;
    this.handles[slot] = id;
    this.#pinned++;
    return id;
  }

  /** Releases the pin on `slot`: its id is never valid again. */
  unpin(slot: number): void {
    this.handles[slot] = -1;
    this.#generations[slot]++;
    this.#pinned--;
  }

  /**
   * Moves the key of an exhausted, unpinned slot to a fresh slot, retiring the
   * old one, and returns the new slot. The caller rewrites the column.
   */
  move(slot: number): number {
    const key = this.names[slot];
    const fresh = this.#allocate();
    this.ids.set(key, fresh);
    this.names[fresh] = key;
    this.part[fresh] = this.part[slot];
    this.names[slot] = '';
    return fresh;
  }

  /**
   * Forgets every unpinned key whose slot is not marked (all of them without
   * `marks`), then trims free slots off the top of the span and rebuilds the
   * free list, lowest slot first. Retired slots are never trimmed nor freed.
   */
  forgetUnmarked(marks?: Uint8Array): void {
    const names = this.names;
    for (let slot = 0; slot < names.length; slot++) {
      const key = names[slot];
      if (key !== '' && this.handles[slot] < 0 && (marks === undefined || marks[slot] === 0)) {
        this.ids.delete(key);
        names[slot] = '';
      }
    }
    let span = names.length;
    while (span > 0 && names[span - 1] === '' && this.#generations[span - 1] < MAX_GENERATIONS) span--;
    names.length = span;
    this.part.length = span;
    const free: number[] = [];
    for (let slot = span - 1; slot >= 0; slot--) {
      if (names[slot] === '' && this.#generations[slot] < MAX_GENERATIONS) free.push(slot);
    }
    this.#free = free;
  }

  /** The table's whole state, for a durable store's checkpoint (metric-journal.ts). */
  image(): MetricKeyImage {
    return { names: [...this.names], part: [...this.part], handles: [...this.handles], generations: [...this.#generations], free: [...this.#free], pinned: this.#pinned };
  }

  /**
   * Replaces the table's state with an {@link image} (a restore). The arrays
   * are refilled in place: the store holds them.
   */
  load(image: MetricKeyImage): void {
    const { names, part, handles, generations, free, pinned } = image;
    if (part.length !== names.length || handles.length !== generations.length || generations.length < names.length) {
      throw invalidArgument('a metric key table image has columns of different lengths');
    }
    this.ids.clear();
    names.forEach((key, slot) => key !== '' && this.ids.set(key, slot));
    refill(this.names, names);
    refill(this.part, part);
    refill(this.handles, handles);
    refill(this.#generations, generations);
    this.#free = [...free];
    this.#pinned = pinned;
  }

  #allocate(): number {
    const slot = this.#free.pop();
    if (slot !== undefined) return slot;
    const fresh = this.names.length;
    if (fresh >= MAX_SLOTS) throw invalidArgument('MetricStore: too many remembered keys (release pins)', { keys: this.ids.size });
    this.names.push('');
    this.part.push(0);
    // A slot below the longest span ever keeps its generation, so its released ids stay stale.
    if (fresh === this.#generations.length) {
      this.#generations.push(0);
      this.handles.push(-1);
    }
    return fresh;
  }
}

/** Makes `to` a copy of `from`, in place (no spread: tables may hold millions of keys). */
function refill<T>(to: T[], from: readonly T[]): void {
  to.length = from.length;
  for (let i = 0; i < from.length; i++) to[i] = from[i];
}
