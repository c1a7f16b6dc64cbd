/**
 * Setting up the {@link NatsBackend}: the JetStream stream that holds every
 * shard (created when missing, checked when present: no limit may ever drop a
 * message, since an emptied subject would accept a conditional append as if it
 * were new), and the subject of each shard.
 */
import { createHash } from 'node:crypto';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { JetStreamApiError, type JetStreamManager, type StreamInfo } from '@nats-io/jetstream';
import { InvalidStreamOptionError } from '../errors.js';

/** JetStream error code of a missing stream. */
const STREAM_NOT_FOUND = 10059;

/** What the stream must look like. */
export interface StreamSpec {
  readonly stream: string;
  readonly subjectPrefix: string;
  readonly replicas: number;
  readonly storage: 'file' | 'memory';
  readonly duplicateWindowMs: number;
  readonly create: boolean;
}

/** The stream as found or created. */
export interface StreamFacts {
  /** The duplicate window, ms. */
  readonly duplicateWindowMs: number;
  /** Largest message the stream accepts (payload and headers), or undefined when unlimited. */
  readonly maxMsgSize: number | undefined;
  /** Whether messages are on disk. */
  readonly durable: boolean;
}

/** Checks the server: 2.9 or later (`next_by_subj` message gets) with JetStream. */
export function checkServer(nc: NatsConnection): void {
  const v = nc.info?.version ?? '0.0.0';
  const [major, minor] = v.split('.').map((p) => Number.parseInt(p, 10));
  if (!(major! > 2 || (major === 2 && minor! >= 9))) throw new InvalidStreamOptionError(`NatsBackend needs nats-server 2.9 or later (connected to ${v})`, { version: v });
  if (nc.info?.jetstream !== true) throw new InvalidStreamOptionError('NatsBackend needs a server with JetStream enabled (-js)', { server: nc.info?.server_name });
}

/**
 * Finds or creates the stream and checks that it keeps every message.
 * @throws InvalidStreamOptionError when an existing stream could drop messages or does not capture the prefix
 */
export async function ensureStream(jsm: JetStreamManager, spec: StreamSpec): Promise<StreamFacts> {
  let info: StreamInfo;
  try {
    info = await jsm.streams.info(spec.stream);
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === STREAM_NOT_FOUND)) throw err;
    if (!spec.create) throw new InvalidStreamOptionError(`JetStream stream "${spec.stream}" does not exist (and create is false)`, { stream: spec.stream });
    info = await jsm.streams.add({
      name: spec.stream,
      subjects: [`${spec.subjectPrefix}.>`],
      retention: 'limits',
      storage: spec.storage,
      num_replicas: spec.replicas,
      duplicate_window: nanos(spec.duplicateWindowMs),
      max_msgs: -1,
      max_bytes: -1,
      max_age: 0,
      max_msgs_per_subject: -1,
      discard: 'old',
      // Messages are the store: nobody may delete or purge them.
      deny_delete: true,
      deny_purge: true,
    });
  }
  const c = info.config;
  const drops: string[] = [];
  if (c.retention !== 'limits') drops.push(`retention ${c.retention}`);
  if (c.max_msgs > 0) drops.push(`max_msgs ${c.max_msgs}`);
  if (c.max_bytes > 0) drops.push(`max_bytes ${c.max_bytes}`);
  if (c.max_age > 0) drops.push(`max_age ${c.max_age} ns`);
  if (c.max_msgs_per_subject > 0) drops.push(`max_msgs_per_subject ${c.max_msgs_per_subject}`);
  if (c.sealed) drops.push('sealed');
  if (drops.length > 0) throw new InvalidStreamOptionError(`JetStream stream "${spec.stream}" can drop or refuse messages (${drops.join(', ')}); the streams need every message kept`, { stream: spec.stream, drops });
  const owner = await jsm.streams.find(`${spec.subjectPrefix}.probe`).catch(() => undefined);
  if (owner !== spec.stream) {
    throw new InvalidStreamOptionError(`subjects "${spec.subjectPrefix}.>" are not captured by stream "${spec.stream}" (but by ${owner ?? 'no stream'})`, { stream: spec.stream, subjectPrefix: spec.subjectPrefix });
  }
  return {
    duplicateWindowMs: Math.floor((c.duplicate_window ?? 0) / 1e6),
    maxMsgSize: c.max_msg_size !== undefined && c.max_msg_size > 0 ? c.max_msg_size : undefined,
    durable: c.storage === 'file',
  };
}

/** A subject token kept as is; every other byte is escaped as `_` + two hex digits. */
const SAFE = /^[A-Za-z0-9-]$/;
/** Longest readable subject; longer shards get a hashed one (servers refuse long control lines). */
const MAX_READABLE = 240;

/** Escapes one path segment into a subject token (injective; `_` alone for an empty segment). */
function token(segment: string): string {
  if (segment.length === 0) return '_';
  let out = '';
  for (const ch of segment) {
    if (SAFE.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `_${b.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/**
 * The subject of a shard: `<prefix>.k.<segment tokens>` (readable: a database's
 * shards share `<prefix>.k.<database>.>`), or `<prefix>.h.<sha-256>` when that
 * would be too long.
 */
export function shardSubject(prefix: string, shard: string): string {
  const readable = `${prefix}.k.${shard.split('/').map(token).join('.')}`;
  if (readable.length <= MAX_READABLE) return readable;
  return `${prefix}.h.${createHash('sha256').update(shard, 'utf8').digest('base64url')}`;
}
