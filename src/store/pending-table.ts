/**
 * The tickets of one (producer, partition) lane that wait for their ack, and
 * what each settles: an owner (the append call's collector) and the event's
 * index in that call. It replaces a `Map<ticket, object>`: on the append
 * path a Map costs a hash insert, an object, a lookup and a delete per
 * event, all on the producer's thread. Here a ticket is a slot in flat
 * arrays, found by its low bits.
 *
 * Tickets of a lane are issued consecutively (AckRingReader.nextTickets) and
 * its acks mostly arrive in ticket order, so the live tickets span about as
 * many numbers as there are of them: `ticket & mask` rarely collides. On a
 * collision the table doubles (64 slots to start, at most 8192, the ack
 * ring's capacity); a ticket that still collides at 8192 slots (one left
 * pending while thousands after it settled) goes to an overflow map. A
 * ticket is either in its slot or in the overflow map, never both.
 *
 * Tickets are non-zero int32 values (0 means "no ticket" in records), so 0
 * marks a free slot. Negative tickets (the sequence wraps) index like any
 * other: `ticket & mask` is their two's-complement low bits.
 */

const INITIAL_SLOTS = 64;
const MAX_SLOTS = 8192;

interface Overflowed<O> {
  owner: O;
  index: number;
}

export class PendingTable<O> {
  private tickets = new Int32Array(INITIAL_SLOTS);
  private indexes = new Int32Array(INITIAL_SLOTS);
  private owners: (O | undefined)[] = new Array<O | undefined>(INITIAL_SLOTS).fill(undefined);
  private mask = INITIAL_SLOTS - 1;
  private overflow: Map<number, Overflowed<O>> | undefined;
  private count = 0;
  /** The event index of the owner last returned by {@link take} (a field, so take allocates nothing). */
  takenIndex = 0;

  /** Tickets pending. */
  get size(): number {
    return this.count;
  }

  /** Slots in the flat table (diagnostics and tests). */
  get capacity(): number {
    return this.mask + 1;
  }

  /** Tickets held in the overflow map (diagnostics and tests). */
  get overflowSize(): number {
    return this.overflow?.size ?? 0;
  }

  /** Registers `ticket` (non-zero, not pending) as event `index` of `owner`. */
  add(ticket: number, owner: O, index: number): void {
    let slot = ticket & this.mask;
    if (this.tickets[slot] !== 0) {
      slot = this.makeRoom(ticket);
      if (slot < 0) {
        (this.overflow ??= new Map()).set(ticket, { owner, index });
        this.count++;
        return;
      }
    }
    this.tickets[slot] = ticket;
    this.owners[slot] = owner;
    this.indexes[slot] = index;
    this.count++;
  }

  /** Registers the `n` consecutive tickets from `first` (int32 arithmetic, none is 0) as events `index0`.. of `owner`. */
  addRun(first: number, n: number, owner: O, index0: number): void {
    for (let i = 0; i < n; i++) this.add((first + i) | 0, owner, index0 + i);
  }

  /**
   * Removes `ticket` and returns its owner (its event index in
   * {@link takenIndex}), or undefined if it is not pending (a re-sent ack).
   */
  take(ticket: number): O | undefined {
    const slot = ticket & this.mask;
    if (this.tickets[slot] === ticket) {
      const owner = this.owners[slot];
      this.takenIndex = this.indexes[slot];
      this.tickets[slot] = 0;
      this.owners[slot] = undefined;
      this.count--;
      return owner;
    }
    const o = this.overflow;
    if (o === undefined || o.size === 0) return undefined;
    const e = o.get(ticket);
    if (e === undefined) return undefined;
    o.delete(ticket);
    this.takenIndex = e.index;
    this.count--;
    return e.owner;
  }

  /** Removes every pending ticket, visiting each (owner, index) once. */
  clear(visit: (owner: O, index: number) => void): void {
    const t = this.tickets;
    for (let slot = 0; slot < t.length; slot++) {
      if (t[slot] === 0) continue;
      const owner = this.owners[slot] as O;
      t[slot] = 0;
      this.owners[slot] = undefined;
      this.count--;
      visit(owner, this.indexes[slot]);
    }
    const o = this.overflow;
    if (o !== undefined) {
      this.overflow = undefined;
      for (const e of o.values()) {
        this.count--;
        visit(e.owner, e.index);
      }
    }
  }

  /**
   * `ticket`'s slot is taken: doubles the table until it is free (what is
   * pending moves to the bigger table, or stays in the overflow map). Returns
   * the free slot, or -1 at the largest size (the ticket goes to the overflow map).
   */
  private makeRoom(ticket: number): number {
    while (this.mask + 1 < MAX_SLOTS) {
      this.grow();
      const slot = ticket & this.mask;
      if (this.tickets[slot] === 0) return slot;
    }
    return -1;
  }

  private grow(): void {
    const size = 2 * (this.mask + 1);
    const mask = size - 1;
    const tickets = new Int32Array(size);
    const indexes = new Int32Array(size);
    const owners = new Array<O | undefined>(size).fill(undefined);
    const old = this.tickets;
    for (let slot = 0; slot < old.length; slot++) {
      const ticket = old[slot];
      if (ticket === 0) continue;
      // Distinct low bits stay distinct with one more bit: no two moved tickets collide.
      const to = ticket & mask;
      tickets[to] = ticket;
      indexes[to] = this.indexes[slot];
      owners[to] = this.owners[slot];
    }
    this.tickets = tickets;
    this.indexes = indexes;
    this.owners = owners;
    this.mask = mask;
  }
}
