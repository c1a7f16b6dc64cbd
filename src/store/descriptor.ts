import { threadId } from 'node:worker_threads';
import { RingstoreError, invalidArgument } from '../errors.js';
import { AckRingReader } from '../ring/ack-ring.js';
import { InputWriter } from '../ring/input-writer.js';
import { ControlMemory, Ctl, PartitionMemory, type PartitionGeometry } from '../ring/layout.js';
import { SHARED_MEMORY_PROTOCOL } from '../ring/protocol.js';
import { geometryOf, type ResolvedOptions, type Selector } from './options.js';
import { Producer } from './producer.js';

/** A structured-cloneable handle on a store's shared memory, from `store.descriptor()`. */
export interface EventStoreDescriptor {
  kind: 'ringstore/descriptor';
  version: 1;
  /** {@link SHARED_MEMORY_PROTOCOL} of the build that made the store. */
  protocol: number;
  partitions: SharedArrayBuffer[];
  control: SharedArrayBuffer;
  geometry: PartitionGeometry;
  maxEventBytes: number;
  valueNames: string[];
  /** Property-path selectors travel; function selectors are undefined here and must be given to attach. */
  selectors: {
    key: string | undefined;
    timestamp: string | undefined;
    type: string | undefined;
    values: (string | undefined)[];
    hasKey: boolean;
    hasTimestamp: boolean;
    hasType: boolean;
  };
}

/** Selectors given to `EventStore.attach` for those that were functions. */
export interface AttachSelectors<T> {
  key?: Selector<T, string | number>;
  timestamp?: Selector<T, number>;
  type?: Selector<T, string>;
  values?: Record<string, Selector<T, number>>;
}

/**
 * Takes a free producer slot (CAS on its ownership word) and empties its ack
 * rings. A slot is freed once its previous owner's appends all settled, or
 * once its owner thread exited (releaseThreadProducers); tickets continue
 * from the slot's last one, so nothing the previous owner waited for can
 * reach the new owner (ring/ack-ring.ts). The ownership word holds the
 * owner's `threadId + 1`, so the slots of a thread that died can be found.
 */
export function claimProducerSlot(ctl: ControlMemory, mems: PartitionMemory[]): number {
  for (let p = 0; p < ctl.maxProducers; p++) {
    if (Atomics.compareExchange(ctl.i32, ctl.ownerIndex(p), 0, threadId + 1) === 0) {
      for (const m of mems) new AckRingReader(m, p).skipAll();
      return p;
    }
  }
  throw new RingstoreError('RS_ERR_TOO_MANY_PRODUCERS', `all ${ctl.maxProducers} producer slots are taken; raise options.maxProducers or close idle producers`);
}

/** Frees a producer slot. */
export function releaseProducerSlot(ctl: ControlMemory, p: number): void {
  Atomics.store(ctl.i32, ctl.ownerIndex(p), 0);
}

/**
 * Frees the producer slots a thread held, for the thread that supervises it,
 * once its `Worker` emitted 'exit' (a thread that crashed or was terminated
 * never closed its producers: without this, each restart of a pooled thread
 * would leak its slots until attach() fails with RS_ERR_TOO_MANY_PRODUCERS).
 * Its unread acks are skipped, and a worker stalled on its ack ring is rung.
 * Records it claimed but never published still stall their partition (see
 * docs/architecture.md, Failures). Returns how many slots were freed.
 */
export function releaseThreadProducers(d: EventStoreDescriptor, deadThreadId: number): number {
  if (!Number.isInteger(deadThreadId) || deadThreadId < 1) {
    throw invalidArgument('releaseThreadProducers needs the threadId (a positive integer) of a worker thread that exited', { threadId: deadThreadId });
  }
  if (deadThreadId === threadId) throw invalidArgument('a thread cannot release its own producer slots as dead; close its producers');
  const ctl = new ControlMemory(d.control, d.geometry.maxProducers);
  const mems = d.partitions.map((sab) => new PartitionMemory(sab, d.geometry));
  let freed = 0;
  for (let p = 0; p < ctl.maxProducers; p++) {
    if (Atomics.load(ctl.i32, ctl.ownerIndex(p)) !== deadThreadId + 1) continue;
    // Skipped before the slot is freed: once it is, a new owner's acks may land in these rings.
    for (const m of mems) new AckRingReader(m, p).skipAll();
    if (Atomics.compareExchange(ctl.i32, ctl.ownerIndex(p), deadThreadId + 1, 0) !== deadThreadId + 1) continue;
    freed++;
    for (const m of mems) if (Atomics.load(m.i32, PartitionMemory.ctl(Ctl.STALLED)) === 1) new InputWriter(m).wakeNow();
  }
  return freed;
}

/** Producer slots currently owned (diagnostics and tests). */
export function producerSlotsInUse(d: EventStoreDescriptor): number {
  const ctl = new ControlMemory(d.control, d.geometry.maxProducers);
  let n = 0;
  for (let p = 0; p < ctl.maxProducers; p++) if (Atomics.load(ctl.i32, ctl.ownerIndex(p)) !== 0) n++;
  return n;
}

/** A producer attached to a store from another thread. */
export class AttachedProducer<T> extends Producer<T> {
  private readonly control: ControlMemory;

  constructor(mems: PartitionMemory[], ctl: ControlMemory, slot: number, spec: ConstructorParameters<typeof Producer<T>>[3]) {
    super(mems, ctl, slot, spec);
    this.control = ctl;
  }

  /**
   * Stops taking appends, waits until every accepted one settled, then frees
   * the producer slot for another thread.
   */
  override async close(): Promise<void> {
    await super.close();
    if (!this.released) {
      this.released = true;
      releaseProducerSlot(this.control, this.id);
    }
  }

  private released = false;
}

/** Throws RS_ERR_DESCRIPTOR unless `d` is a descriptor of a store this build can share memory with. */
export function checkDescriptor(d: EventStoreDescriptor, caller: string): void {
  if (d === null || typeof d !== 'object' || d.kind !== 'ringstore/descriptor' || d.version !== 1) {
    throw new RingstoreError('RS_ERR_DESCRIPTOR', `${caller} needs the object returned by store.descriptor()`);
  }
  if (d.protocol !== SHARED_MEMORY_PROTOCOL) {
    throw new RingstoreError(
      'RS_ERR_DESCRIPTOR',
      `the store was made by another ringstore build (shared-memory protocol ${String(d.protocol)}; this build speaks ${SHARED_MEMORY_PROTOCOL}): use one build in all threads`,
      { protocol: d.protocol, expected: SHARED_MEMORY_PROTOCOL },
    );
  }
}

export function attachProducer<T>(d: EventStoreDescriptor, given: AttachSelectors<T> = {}): AttachedProducer<T> {
  checkDescriptor(d, 'attach()');
  const s = d.selectors;
  const need = (name: string, has: boolean, portable: unknown, provided: unknown): void => {
    if (has && portable === undefined && provided === undefined) {
      throw new RingstoreError('RS_ERR_DESCRIPTOR', `the store's ${name} selector is a function: pass it to attach()`);
    }
  };
  need('key', s.hasKey, s.key, given.key);
  need('timestamp', s.hasTimestamp, s.timestamp, given.timestamp);
  need('type', s.hasType, s.type, given.type);
  const values = d.valueNames.map((n, i) => {
    const v = given.values?.[n] ?? s.values[i];
    if (v === undefined) throw new RingstoreError('RS_ERR_DESCRIPTOR', `the store's value "${n}" selector is a function: pass it to attach()`);
    return v;
  });
  const mems = d.partitions.map((sab) => new PartitionMemory(sab, d.geometry));
  const ctl = new ControlMemory(d.control, d.geometry.maxProducers);
  if (Atomics.load(ctl.i32, ctl.closedIndex) === 1) throw new RingstoreError('RS_ERR_CLOSED', 'the store is closed');
  const slot = claimProducerSlot(ctl, mems);
  return new AttachedProducer<T>(mems, ctl, slot, {
    partitions: d.partitions.length,
    maxEventBytes: d.maxEventBytes,
    valueNames: d.valueNames,
    selectors: {
      key: given.key ?? s.key,
      timestamp: given.timestamp ?? s.timestamp,
      type: given.type ?? s.type,
      values,
    },
  });
}

/** The descriptor of a store (see `EventStore.descriptor`). */
export function describeStore<T>(o: ResolvedOptions<T>, mems: readonly PartitionMemory[], ctl: ControlMemory): EventStoreDescriptor {
  const portable = (s: unknown): string | undefined => (typeof s === 'string' ? s : undefined);
  return {
    kind: 'ringstore/descriptor',
    version: 1,
    protocol: SHARED_MEMORY_PROTOCOL,
    partitions: mems.map((m) => m.sab),
    control: ctl.sab,
    geometry: geometryOf(o),
    maxEventBytes: o.maxEventBytes,
    valueNames: [...o.valueNames],
    selectors: {
      key: portable(o.selectors.key),
      timestamp: portable(o.selectors.timestamp),
      type: portable(o.selectors.type),
      values: o.selectors.values.map(portable),
      hasKey: o.selectors.key !== undefined,
      hasTimestamp: o.selectors.timestamp !== undefined,
      hasType: o.selectors.type !== undefined,
    },
  };
}
