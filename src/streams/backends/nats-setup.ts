/**
 * Setting up the {@link NatsBackend}: its options, the connection, the
 * JetStream stream that holds every shard (created when missing, checked when
 * present: no limit may ever drop a message, since an emptied subject would
 * accept a conditional append as if it were new), and the subject of each shard.
 */
import { createHash } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import type { JetStreamManager, StreamInfo } from '@nats-io/jetstream';
import { pino, type Logger } from 'pino';
import { assertClock, systemClock, type Clock } from '../clock.js';
import { InvalidStreamOptionError, refuseUnknownOption } from '../errors.js';
import { keySet } from '../../known-keys.js';
import type { ShardLog } from './nats-log.js';
import type { NatsBackendOptions } from './nats-options.js';
import { STREAM_NOT_FOUND } from './jetstream-codes.js';

export type { NatsBackendOptions } from './nats-options.js';

type NatsClient = typeof import('./nats-client.js');
let client: Promise<NatsClient> | undefined;

/** Loads the NATS clients (optional peer dependencies) on first use, with a clear error when they are missing. */
export function loadNatsClient(): Promise<NatsClient> {
  client ??= import('./nats-client.js').catch((cause: unknown) => {
    client = undefined;
    throw new InvalidStreamOptionError(
      'NatsBackend needs the NATS clients, optional peer dependencies of ringstore: npm install @nats-io/transport-node@~3.3.1 @nats-io/jetstream@~3.3.1',
      { cause: String(cause) },
    );
  });
  return client;
}

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
  const { JetStreamApiError, nanos } = await loadNatsClient();
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

const NAME = /^[A-Za-z0-9_-]+$/;
const PREFIX = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

function int(o: Record<string, unknown>, name: string, min: number, max: number, dflt: number): number {
  const v = o[name] ?? dflt;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw new InvalidStreamOptionError(`NatsBackend options.${name} must be an integer in ${min}..${max}`, { [name]: v });
  return v;
}

/** Validated options, defaults filled. */
export interface Settings {
  readonly servers: string[] | undefined;
  readonly connection: NatsConnection | undefined;
  readonly stream: string;
  readonly prefix: string;
  readonly storage: 'file' | 'memory';
  readonly create: boolean;
  readonly replicas: number;
  readonly duplicateWindowMs: number;
  readonly requestTimeoutMs: number;
  readonly writeTimeoutMs: number;
  readonly maxPartBytes: number | undefined;
  readonly logger: Logger;
}

const NATS_OPTIONS = keySet<NatsBackendOptions>({
  servers: 1, connection: 1, stream: 1, subjectPrefix: 1, replicas: 1, storage: 1, duplicateWindowMs: 1, create: 1, requestTimeoutMs: 1,
  writeTimeoutMs: 1, shardDepth: 1, maxCachedShards: 1, maxPartBytes: 1, clock: 1, logger: 1,
});

/** Checks the options. @throws InvalidStreamOptionError */
export function settings(options: NatsBackendOptions): Settings & { clock: Clock; depth: number; maxShards: number } {
  if (options === null || typeof options !== 'object') throw new InvalidStreamOptionError('NatsBackend options must be an object with servers or a connection');
  refuseUnknownOption(options, NATS_OPTIONS, 'NatsBackend options');
  const o = options as Record<string, unknown>;
  const servers = typeof options.servers === 'string' ? [options.servers] : options.servers;
  if (options.connection === undefined && (!Array.isArray(servers) || servers.length === 0 || servers.some((s) => typeof s !== 'string' || s.length === 0))) {
    throw new InvalidStreamOptionError('NatsBackend options.servers must be a URL or a non-empty list of URLs (or give options.connection)');
  }
  if (options.connection !== undefined && (options.connection === null || typeof options.connection.request !== 'function')) throw new InvalidStreamOptionError('NatsBackend options.connection must be a NatsConnection');
  const stream = options.stream ?? 'RINGSTORE_STREAMS';
  if (typeof stream !== 'string' || !NAME.test(stream)) throw new InvalidStreamOptionError('NatsBackend options.stream must match [A-Za-z0-9_-]+', { stream });
  const prefix = options.subjectPrefix ?? 'ringstore.streams';
  if (typeof prefix !== 'string' || !PREFIX.test(prefix)) throw new InvalidStreamOptionError('NatsBackend options.subjectPrefix must be dot-separated [A-Za-z0-9_-]+ tokens (no wildcards)', { subjectPrefix: prefix });
  const storage = options.storage ?? 'file';
  if (storage !== 'file' && storage !== 'memory') throw new InvalidStreamOptionError('NatsBackend options.storage must be "file" or "memory"', { storage });
  if (options.create !== undefined && typeof options.create !== 'boolean') throw new InvalidStreamOptionError('NatsBackend options.create must be a boolean');
  const clock = options.clock ?? systemClock;
  assertClock(clock, 'NatsBackend options.clock');
  if (options.logger !== undefined && (options.logger === null || typeof options.logger.child !== 'function')) throw new InvalidStreamOptionError('NatsBackend options.logger must be a pino logger');
  return {
    servers,
    connection: options.connection as NatsConnection | undefined,
    stream,
    prefix,
    storage,
    create: options.create ?? true,
    replicas: int(o, 'replicas', 1, 5, 1),
    duplicateWindowMs: int(o, 'duplicateWindowMs', 100, 7 * 86_400_000, 120_000),
    requestTimeoutMs: int(o, 'requestTimeoutMs', 10, 600_000, 5_000),
    writeTimeoutMs: int(o, 'writeTimeoutMs', 10, 3_600_000, 30_000),
    maxPartBytes: options.maxPartBytes === undefined ? undefined : int(o, 'maxPartBytes', 256, 64 * 1024 * 1024, 0),
    depth: int(o, 'shardDepth', 1, 64, 3),
    maxShards: int(o, 'maxCachedShards', 1, 2 ** 31, 10_000),
    clock,
    logger: (options.logger ?? pino({ level: 'silent' })).child({ backend: 'nats', stream }),
  };
}

/** Connects, checks the server and the stream; closes a connection it opened when that fails. */
export async function setUp(s: Settings): Promise<{ nc: NatsConnection; log: ShardLog; durable: boolean }> {
  const { connect, jetstream, jetstreamManager, ShardLog } = await loadNatsClient();
  const nc = s.connection ?? (await connect({ servers: s.servers!, name: 'ringstore-streams', maxReconnectAttempts: -1, reconnectTimeWait: 250, timeout: s.requestTimeoutMs }));
  try {
    checkServer(nc);
    const jsm = await jetstreamManager(nc, { timeout: s.requestTimeoutMs });
    const facts = await ensureStream(jsm, { stream: s.stream, subjectPrefix: s.prefix, replicas: s.replicas, storage: s.storage, duplicateWindowMs: s.duplicateWindowMs, create: s.create });
    if (s.writeTimeoutMs >= facts.duplicateWindowMs) {
      throw new InvalidStreamOptionError(
        `NatsBackend options.writeTimeoutMs (${s.writeTimeoutMs}) must be shorter than the duplicate window of stream "${s.stream}" (${facts.duplicateWindowMs} ms), so that a retried publish is deduplicated`,
        { writeTimeoutMs: s.writeTimeoutMs, duplicateWindowMs: facts.duplicateWindowMs },
      );
    }
    const maxPayload = (): number => Math.min(nc.info?.max_payload ?? 1_048_576, facts.maxMsgSize ?? Infinity);
    const js = jetstream(nc, { timeout: s.requestTimeoutMs });
    const log = new ShardLog({ js, jsm, stream: s.stream, requestTimeoutMs: s.requestTimeoutMs, writeTimeoutMs: s.writeTimeoutMs, maxPayload, maxPartBytes: s.maxPartBytes, logger: s.logger });
    s.logger.info({ server: nc.info?.version, subjectPrefix: s.prefix }, 'nats backend ready');
    return { nc, log, durable: facts.durable };
  } catch (err) {
    if (s.connection === undefined) await nc.close().catch(() => undefined);
    throw err;
  }
}

