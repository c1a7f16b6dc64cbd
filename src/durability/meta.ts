/**
 * `meta.json`, one per data directory: the format version, the partition
 * count and whatever other geometry the store passes (capacity, ...).
 * Written temp file, fdatasync, rename, directory fsync. A different
 * partition count would send keys to other partitions than their logs, so
 * opening with one is refused; other geometry changes are reported for the
 * caller to accept (and record with {@link writeDataDirMeta}) or refuse.
 */
import * as path from 'node:path';
import { RingstoreError, invalidArgument } from '../errors.js';
import { LogCorruptError, diskFullError, ioFailedError, isNoSpace } from './errors.js';
import { nodeIo, readWhole, writeFileDurably, type Io } from './io.js';

/** Format version of the data directory written by this build. */
export const DATA_DIR_FORMAT_VERSION = 1;

/** The meta file's name. */
export const META_FILE = 'meta.json';

/** JSON-representable geometry values. */
export type GeometryValue = string | number | boolean | null;

/** What `meta.json` holds. */
export interface DataDirMeta {
  formatVersion: number;
  partitions: number;
  /** Other geometry, as the store passed it (flat: name to value). */
  geometry: Record<string, GeometryValue>;
  createdAt: string;
}

/** The result of {@link openDataDirMeta}. */
export interface OpenedMeta {
  /** The meta as stored (for a new directory: as just written). */
  meta: DataDirMeta;
  /** True when this call created `meta.json`. */
  created: boolean;
  /** Geometry names whose stored value differs from the one asked for (missing on either side included). */
  changed: string[];
}

/**
 * Reads `dir/meta.json`, or writes it when missing. Throws
 * `RS_ERR_DATA_DIR_MISMATCH` when the stored partition count differs from
 * `want.partitions` or the format version is newer than this build's, and
 * `RS_ERR_LOG_CORRUPT` when the file is not valid meta JSON.
 */
export function openDataDirMeta(
  dir: string,
  want: { partitions: number; geometry?: Record<string, GeometryValue> },
  options: { io?: Io } = {},
): OpenedMeta {
  if (typeof dir !== 'string' || dir.length === 0) throw invalidArgument('the data directory must be a non-empty string');
  if (!Number.isInteger(want?.partitions) || want.partitions < 1) throw invalidArgument(`partitions must be an integer >= 1, got ${want?.partitions}`);
  const geometry = want.geometry ?? {};
  checkGeometry(geometry);
  const io = options.io ?? nodeIo;
  const abs = path.resolve(dir);
  io.mkdirp(abs);
  const file = path.join(abs, META_FILE);
  const bytes = readWhole(io, file);
  if (!bytes) {
    const meta: DataDirMeta = { formatVersion: DATA_DIR_FORMAT_VERSION, partitions: want.partitions, geometry: { ...geometry }, createdAt: new Date().toISOString() };
    writeDataDirMeta(abs, meta, { io });
    return { meta, created: true, changed: [] };
  }
  const meta = parseMeta(file, bytes);
  if (meta.formatVersion > DATA_DIR_FORMAT_VERSION) {
    throw new RingstoreError('RS_ERR_DATA_DIR_MISMATCH',
      `data directory ${abs} has format version ${meta.formatVersion}; this build reads up to ${DATA_DIR_FORMAT_VERSION}`,
      { dir: abs, formatVersion: meta.formatVersion });
  }
  if (meta.partitions !== want.partitions) {
    throw new RingstoreError('RS_ERR_DATA_DIR_MISMATCH',
      `data directory ${abs} was created with ${meta.partitions} partitions, not ${want.partitions}: keys would land in ` +
      `other partitions than their logs. Open it with partitions: ${meta.partitions}, or use another directory`,
      { dir: abs, stored: meta.partitions, requested: want.partitions });
  }
  const names = new Set([...Object.keys(meta.geometry), ...Object.keys(geometry)]);
  const changed = [...names].filter((k) => meta.geometry[k] !== geometry[k]).sort();
  return { meta, created: false, changed };
}

/** Writes `dir/meta.json` durably (temp, fdatasync, rename, directory fsync). */
export function writeDataDirMeta(dir: string, meta: DataDirMeta, options: { io?: Io } = {}): void {
  checkGeometry(meta.geometry);
  const io = options.io ?? nodeIo;
  const file = path.join(path.resolve(dir), META_FILE);
  try {
    writeFileDurably(io, file, [new TextEncoder().encode(`${JSON.stringify(meta, null, 2)}\n`)]);
  } catch (err) {
    throw isNoSpace(err) ? diskFullError(file, err) : ioFailedError('writing meta.json', file, err);
  }
}

function checkGeometry(g: unknown): void {
  if (!g || typeof g !== 'object' || Array.isArray(g)) throw invalidArgument('geometry must be a flat object');
  for (const [k, v] of Object.entries(g)) {
    const ok = v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
    if (!ok) throw invalidArgument(`geometry.${k} must be a string, finite number, boolean or null`);
  }
}

function parseMeta(file: string, bytes: Uint8Array): DataDirMeta {
  let m: Partial<DataDirMeta>;
  try {
    m = JSON.parse(new TextDecoder().decode(bytes)) as Partial<DataDirMeta>;
  } catch (err) {
    throw new LogCorruptError(file, 0, `not JSON (${(err as Error).message})`);
  }
  if (!m || typeof m !== 'object' || !Number.isInteger(m.formatVersion) || !Number.isInteger(m.partitions) ||
    !m.geometry || typeof m.geometry !== 'object' || Array.isArray(m.geometry)) {
    throw new LogCorruptError(file, 0, 'missing formatVersion, partitions or geometry');
  }
  return m as DataDirMeta;
}
