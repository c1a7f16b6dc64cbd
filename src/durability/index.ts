/**
 * Durable ring stores (issue 12): the pieces a partition worker and the
 * daemon put together. See docs/durability.md.
 */
export { crc32, crc32Js, nativeCrc32, type Crc32 } from './crc32.js';
export {
  FRAME_ALIGN, FRAME_HEADER_BYTES, FIRST_USER_TYPE, FrameType, MAX_FRAME_BYTES, MAX_FRAME_COUNT, MAX_PAYLOAD_BYTES, SERIAL_MOD,
  align8, encodeFrame, findNextFrame, frameBytes, readFrame,
  type BadFrame, type DecodedFrame, type EncodedFrame, type FrameFault, type FrameFields, type ReadFields,
} from './frame.js';
export { nodeIo, systemError, writeAll, readWhole, writeFileDurably, type Io, type OpenFlags } from './io.js';
export { FaultIo, seededRandom, type CrashOptions, type WriteFault } from './fault-io.js';
export { LogCorruptError, isNoSpace } from './errors.js';
export {
  SEGMENT_FORMAT_VERSION, listSegments, parseSegmentName, segmentName, type FsyncMode, type SegmentName,
} from './segment-format.js';
export { type ReplayFrame, type ReplayVisitor, type RestoreCut, type RestoreReport } from './restore.js';
export { SegmentLog, type LogPosition } from './segment-log.js';
export { DEFAULT_SEGMENT_BYTES, MIN_SEGMENT_BYTES, isCovered, type SegmentLogOptions } from './log-options.js';
export { CheckpointStore, type Checkpoint, type CheckpointOptions, type SkippedCheckpoint } from './checkpoint.js';
export { DataDirLock, LOCK_FILE, lockDataDir, readLockInfo, type DirLockOptions, type LockInfo, type LockMethod } from './dir-lock.js';
export {
  DATA_DIR_FORMAT_VERSION, META_FILE, openDataDirMeta, writeDataDirMeta,
  type DataDirMeta, type GeometryValue, type OpenedMeta,
} from './meta.js';
