/**
 * The shared memory layout of one partition. Everything a partition's
 * producers, its worker and its readers share lives in ONE SharedArrayBuffer,
 * so the worker can move payload bytes from the input ring into the arena
 * with `copyWithin` (no allocation, no copy through JS). The diagram, the
 * protocols and their invariants are documented once, in docs/architecture.md;
 * each protocol has its own file in this folder (record.ts, input-writer.ts,
 * input-reader.ts, ack-ring.ts, commit-record.ts, reader.ts).
 *
 * This module is the layout's one entry point: it re-exports the field
 * indices (memory-fields.ts), the geometry and region offsets
 * (partition-geometry.ts), the typed views over a partition's buffer
 * (partition-memory.ts) and the store-wide control buffer (control-memory.ts).
 *
 * ```
 * ┌─ control ints (Int32, one 64-byte line each) ─────────────────────────┐
 * │ IN_TAIL IN_HEAD SLEEPING DOORBELL COMMIT_SLOT STATE ... TAIL_LO TAIL_HI│
 * ├─ commit record: 2 blocks of Float64 fields, COMMIT_SLOT picks one ────┤
 * ├─ gauges (Float64): RATE  LAST_APPEND_MS ──────────────────────────────┤
 * ├─ table cursors (Float64): key directory and dedup ring head/tail ─────┤
 * ├─ input ring: inputBytes (power of two), 8-byte aligned records ───────┤
 * ├─ ack rings: maxProducers × { head+ticket line, tail line, entries } ──┤
 * ├─ storage columns, capacity C slots each ──────────────────────────────┤
 * │ seq sum keyId typeId flags idLen keyLen typeLen payLen (i32)          │
 * │ pos ts ver arenaAbs (f64) │ values V×C f64                            │
 * ├─ arena: arenaBytes of id + key + type + payload bytes ────────────────┤
 * ├─ key directory ring: dirSlots × { h0 h1 (i32) version lastPos (f64) } ┤
 * ├─ dedup ring: dedupSlots × { h0..h3 (i32) position version (f64) } ────┤
 * └───────────────────────────────────────────────────────────────────────┘
 * ```
 */
export {
  COMMIT_FIELDS, Commit, Ctl, FAULT_KINDS, FaultFired, Gauge, LINE_INTS, PartitionState, SlotFlag, TableCursor,
} from './memory-fields.js';
export {
  DRAIN_MAX_RECORDS, dedupSlots, dirSlots, partitionOffsets, type PartitionGeometry, type PartitionOffsets,
} from './partition-geometry.js';
export { PartitionMemory } from './partition-memory.js';
export { ControlMemory } from './control-memory.js';
