/**
 * Daemon configuration: command-line flags, then `RINGSTORE_*` environment
 * variables, then defaults. Validated once, then frozen (no checks on the hot
 * path).
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { defaultIngestThreads, MAX_INGEST_THREADS } from './ingest/sizing.js';
import { keySet, unknownKey } from '../known-keys.js';

/** Validated, frozen daemon configuration. */
export interface ServerConfig {
  /** Interface to bind (default `127.0.0.1`: loopback only). */
  readonly host: string;
  /** TCP port (default 7070; 0 picks a free port). */
  readonly port: number;
  /** Partitions (worker threads) of each ring store (default: the core count). */
  readonly partitions: number;
  /** Events kept by each ring store, split across partitions (default 65,536 per partition). */
  readonly capacity: number | undefined;
  /** Arena bytes for encoded events of each ring store (default 256 per event of capacity). */
  readonly arenaBytes: number | undefined;
  /** pino level: fatal, error, warn, info, debug, trace or silent (default info). */
  readonly logLevel: string;
  /**
   * Data directory; everything is in memory when unset. With it, the versioned
   * streams live in LMDB at the directory's top, and the `/streams` and
   * `/metrics` ring stores in `ring/streams` and `ring/metrics` (segment logs
   * and checkpoints, docs/durability.md).
   */
  readonly dataDir: string | undefined;
  /**
   * NATS server URLs (`--nats`, comma-separated): the versioned streams live in JetStream (`NatsBackend`),
   * shared by every daemon given the same servers (sessions lock a stream across daemons), and the ring
   * stores' appends go through one JetStream log per store that every daemon applies to its own memory
   * (`src/server/replication`); `dataDir` then no longer makes the ring stores durable. Unset: LMDB under
   * `dataDir`, or memory.
   */
  readonly nats: readonly string[] | undefined;
  /** JetStream replicas of the streams `--nats` creates (default 1; 3 on a 3-node cluster). */
  readonly natsReplicas: number;
  /**
   * With `--nats`: this daemon publishes a shared checkpoint of a ring store once its log moved on this
   * many messages since the newest one (undefined: a quarter of the capacity; 0: this daemon publishes
   * none, it still loads them). Must stay below the capacity (the log keeps `capacity` messages).
   */
  readonly natsCheckpointEvery: number | undefined;
  /** With `--nats`: at most one checkpoint per ring store from this daemon in this many ms (default 5,000). */
  readonly natsCheckpointMinMs: number;
  /** When the ring stores' logs are fsynced under `dataDir`: `always` (before each ack), `interval` (default, every second), `never`. */
  readonly fsync: 'always' | 'interval' | 'never';
  /** Bearer token required by writes and admin routes; none when unset. */
  readonly token: string | undefined;
  /** Bearer token required by reads (the write token is accepted too); reads are open when unset. Needs `token`. */
  readonly readToken: string | undefined;
  /** Largest accepted request body in bytes (default 1 MiB). */
  readonly bodyLimit: number;
  /** Most events in one batch append (default 10,000). */
  readonly maxBatch: number;
  /** How long shutdown waits for in-flight requests before closing connections (default 10,000 ms). */
  readonly shutdownTimeoutMs: number;
  /** Shortest gap between two reads of an SSE subscription, which reads only after its partition commits (default 10 ms). */
  readonly subscribePollMs: number;
  /** Time to receive a request's line and headers, from the connection or the previous response (default 10,000 ms): 408 beyond. */
  readonly headersTimeoutMs: number;
  /** Time to receive a whole request, body included (default 30,000 ms): 408 beyond. */
  readonly bodyTimeoutMs: number;
  /** Time a keep-alive connection may stay idle between requests (default 72,000 ms: above common balancers' 60 s). */
  readonly idleTimeoutMs: number;
  /** Most open client connections; further ones get 503 `RS_ERR_TOO_MANY_CONNECTIONS` (default: 10,000, or less under a low `ulimit -n`). */
  readonly maxConnections: number;
  /** Time to keep reading (and discarding) a request body after an early error answer, so that the client reads it (default 5,000 ms). */
  readonly lingerMs: number;
  /**
   * Ingest threads that parse bulk bodies (JSON arrays, NDJSON) and append them straight into the rings; 0 = none,
   * the main thread does it (default: the cores left after the main thread and one per partition; 0 on 2 cores).
   */
  readonly ingestThreads: number;
}

/** Defaults of {@link ServerConfig}. */
export const DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  port: 7070,
  logLevel: 'info',
  bodyLimit: 1024 * 1024,
  maxBatch: 10_000,
  shutdownTimeoutMs: 10_000,
  subscribePollMs: 10,
  headersTimeoutMs: 10_000,
  bodyTimeoutMs: 30_000,
  idleTimeoutMs: 72_000,
  maxConnections: 10_000,
  lingerMs: 5_000,
});

/** Descriptors kept free for the stores, logs and LMDB when the connection cap comes from `ulimit -n`. */
const FD_RESERVE = 256;

/**
 * The default connection cap: {@link DEFAULTS}.maxConnections, lowered to the
 * soft open-files limit minus a reserve when that is smaller, so that a flood
 * of connections meets the cap (and a 503) before it exhausts the descriptors.
 */
export function defaultMaxConnections(limitsFile = '/proc/self/limits'): number {
  let soft = Infinity;
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync(limitsFile, 'utf8'));
    if (m !== null) soft = Number(m[1]);
  } catch { /* not Linux: keep the default */ }
  return Math.max(16, Math.min(DEFAULTS.maxConnections, soft - FD_RESERVE));
}

interface FlagSpec {
  key: keyof ServerConfig;
  env: string;
  kind: 'string' | 'int';
  /** For strings: the accepted values. */
  oneOf?: readonly string[];
  min?: number;
  max?: number;
  help: string;
}

const FLAGS: Record<string, FlagSpec> = {
  '--host': { key: 'host', env: 'RINGSTORE_HOST', kind: 'string', help: `interface to bind (default ${DEFAULTS.host}; beyond loopback use --token, and --read-token to keep payloads private)` },
  '--port': { key: 'port', env: 'RINGSTORE_PORT', kind: 'int', min: 0, max: 65535, help: `TCP port (default ${DEFAULTS.port}; 0 = any free port)` },
  '--partitions': { key: 'partitions', env: 'RINGSTORE_PARTITIONS', kind: 'int', min: 1, max: 256, help: 'partitions (worker threads) per ring store (default: cores)' },
  '--capacity': { key: 'capacity', env: 'RINGSTORE_CAPACITY', kind: 'int', min: 1, max: 2 ** 28, help: 'events kept per ring store (default 65536 x partitions)' },
  '--arena-bytes': { key: 'arenaBytes', env: 'RINGSTORE_ARENA_BYTES', kind: 'int', min: 64, max: 2 ** 40, help: 'arena bytes per ring store (default 256 x capacity)' },
  '--log-level': { key: 'logLevel', env: 'RINGSTORE_LOG_LEVEL', kind: 'string', help: `fatal|error|warn|info|debug|trace|silent (default ${DEFAULTS.logLevel})` },
  '--data-dir': { key: 'dataDir', env: 'RINGSTORE_DATA_DIR', kind: 'string', help: 'data directory: durable versioned streams (LMDB) and ring stores (logs, checkpoints); default: all in memory' },
  '--fsync': { key: 'fsync', env: 'RINGSTORE_FSYNC', kind: 'string', oneOf: ['always', 'interval', 'never'], help: 'with --data-dir, when ring-store logs reach the disk: always (before each ack), interval (every second, default), never (left to the OS)' },
  '--nats': { key: 'nats', env: 'RINGSTORE_NATS', kind: 'string', help: 'NATS server URL(s), comma-separated: versioned streams and the /streams and /metrics ring stores on JetStream, shared by every daemon on them (needs @nats-io/transport-node, @nats-io/jetstream)' },
  '--nats-replicas': { key: 'natsReplicas', env: 'RINGSTORE_NATS_REPLICAS', kind: 'int', min: 1, max: 5, help: 'with --nats, replicas of the JetStream streams it creates (default 1; 3 on a 3-node cluster)' },
  '--nats-checkpoint-every': { key: 'natsCheckpointEvery', env: 'RINGSTORE_NATS_CHECKPOINT_EVERY', kind: 'int', min: 0, max: 2 ** 28, help: 'with --nats, publish a shared checkpoint of a ring store every this many log messages (default capacity / 4; 0 = this daemon publishes none); below --capacity' },
  '--nats-checkpoint-min-ms': { key: 'natsCheckpointMinMs', env: 'RINGSTORE_NATS_CHECKPOINT_MIN_MS', kind: 'int', min: 0, max: 3_600_000, help: 'with --nats, at most one checkpoint per ring store in this many ms from this daemon (default 5000)' },
  '--token': { key: 'token', env: 'RINGSTORE_TOKEN', kind: 'string', help: 'require "Authorization: Bearer <token>" on writes and admin routes' },
  '--read-token': { key: 'readToken', env: 'RINGSTORE_READ_TOKEN', kind: 'string', help: 'require a bearer token on reads too: this one or --token (needs --token; may equal it)' },
  '--body-limit': { key: 'bodyLimit', env: 'RINGSTORE_BODY_LIMIT', kind: 'int', min: 1024, max: 1 << 30, help: `largest request body in bytes (default ${DEFAULTS.bodyLimit})` },
  '--max-batch': { key: 'maxBatch', env: 'RINGSTORE_MAX_BATCH', kind: 'int', min: 1, max: 1_000_000, help: `most events per batch append (default ${DEFAULTS.maxBatch})` },
  '--shutdown-timeout': { key: 'shutdownTimeoutMs', env: 'RINGSTORE_SHUTDOWN_TIMEOUT_MS', kind: 'int', min: 0, max: 600_000, help: `ms to finish in-flight requests on SIGTERM/SIGINT (default ${DEFAULTS.shutdownTimeoutMs})` },
  '--subscribe-poll': { key: 'subscribePollMs', env: 'RINGSTORE_SUBSCRIBE_POLL_MS', kind: 'int', min: 1, max: 10_000, help: `shortest gap in ms between two reads of a partition's SSE feed, which reads only after the partition commits (default ${DEFAULTS.subscribePollMs})` },
  '--headers-timeout': { key: 'headersTimeoutMs', env: 'RINGSTORE_HEADERS_TIMEOUT_MS', kind: 'int', min: 100, max: 600_000, help: `ms to receive a request's headers, 408 beyond (default ${DEFAULTS.headersTimeoutMs})` },
  '--body-timeout': { key: 'bodyTimeoutMs', env: 'RINGSTORE_BODY_TIMEOUT_MS', kind: 'int', min: 100, max: 3_600_000, help: `ms to receive a whole request, body included, 408 beyond (default ${DEFAULTS.bodyTimeoutMs})` },
  '--idle-timeout': { key: 'idleTimeoutMs', env: 'RINGSTORE_IDLE_TIMEOUT_MS', kind: 'int', min: 100, max: 3_600_000, help: `ms a keep-alive connection may idle between requests (default ${DEFAULTS.idleTimeoutMs})` },
  '--max-connections': { key: 'maxConnections', env: 'RINGSTORE_MAX_CONNECTIONS', kind: 'int', min: 1, max: 1_000_000, help: `most open connections, 503 beyond (default ${DEFAULTS.maxConnections}, less under a low ulimit -n)` },
  '--ingest-threads': { key: 'ingestThreads', env: 'RINGSTORE_INGEST_THREADS', kind: 'int', min: 0, max: MAX_INGEST_THREADS, help: 'threads that parse bulk bodies (JSON arrays, NDJSON) and append them into the rings; 0 = the main thread does (default: cores - 1 - partitions, at least 0)' },
  '--linger-timeout': { key: 'lingerMs', env: 'RINGSTORE_LINGER_TIMEOUT_MS', kind: 'int', min: 0, max: 60_000, help: `ms to drain a body after an early error answer (default ${DEFAULTS.lingerMs})` },
};

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** Help text of `ringstore serve --help`. */
export function helpText(): string {
  const rows = Object.entries(FLAGS).map(([flag, s]) => `  ${`${flag} <${s.kind === 'int' ? 'n' : 'value'}>`.padEnd(24)} ${s.help}\n  ${''.padEnd(24)} env ${s.env}`);
  return [
    'usage: ringstore serve [options]',
    '',
    'Runs the ringstore HTTP daemon: ring stores for streams and metrics and versioned',
    'streams, all in memory, or durable with --data-dir (and --fsync); Prometheus metrics at',
    'GET /metrics and the OpenAPI document at GET /openapi.json. Flags override env.',
    '',
    'options:',
    ...rows,
    `  ${'-h, --help'.padEnd(24)} show this help`,
    '',
    'SIGTERM/SIGINT stop accepting, finish in-flight requests, close the stores, exit 0.',
    'Docs: docs/daemon.md',
    '',
  ].join('\n');
}

/** A configuration error: the message names the flag or variable. */
export class ConfigError extends Error {
  readonly code = 'RS_ERR_INVALID_OPTION';
}

function parseValue(name: string, spec: FlagSpec, raw: string): string | number {
  if (spec.kind === 'string') {
    if (raw.length === 0) throw new ConfigError(`${name} must not be empty`);
    if (spec.oneOf !== undefined && !spec.oneOf.includes(raw)) throw new ConfigError(`${name} must be one of ${spec.oneOf.join(', ')}, got "${raw}"`);
    return raw;
  }
  const min = spec.min ?? 0;
  const range = spec.max === undefined ? `an integer >= ${min}` : `an integer between ${min} and ${spec.max}`;
  const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > (spec.max ?? Number.MAX_SAFE_INTEGER)) throw new ConfigError(`${name} must be ${range}, got "${raw}"`);
  return n;
}

/**
 * Parses flags (`--port 8080` or `--port=8080`) and environment variables.
 * Returns `'help'` for `--help`. Throws {@link ConfigError} on anything invalid.
 */
export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ServerConfig | 'help' {
  const values: Partial<Record<keyof ServerConfig, string | number>> = {};
  for (const [, spec] of Object.entries(FLAGS)) {
    const raw = env[spec.env];
    if (raw !== undefined && raw !== '') values[spec.key] = parseValue(spec.env, spec, raw);
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') return 'help';
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const spec = FLAGS[flag];
    if (spec === undefined) throw new ConfigError(`unknown option "${arg}" (see ringstore serve --help)`);
    const raw = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (raw === undefined) throw new ConfigError(`${flag} needs a value`);
    values[spec.key] = parseValue(flag, spec, raw);
  }
  return resolveConfig(values as Partial<ServerConfig>);
}

const CONFIG_KEYS = keySet<ServerConfig>({
  host: 1, port: 1, partitions: 1, capacity: 1, arenaBytes: 1, logLevel: 1, dataDir: 1, nats: 1, natsReplicas: 1, natsCheckpointEvery: 1,
  natsCheckpointMinMs: 1, fsync: 1, token: 1, readToken: 1, bodyLimit: 1, maxBatch: 1, shutdownTimeoutMs: 1, subscribePollMs: 1,
  headersTimeoutMs: 1, bodyTimeoutMs: 1, idleTimeoutMs: 1, maxConnections: 1, lingerMs: 1, ingestThreads: 1,
});

const CHECKED_BY_RESOLVE: ReadonlySet<keyof ServerConfig> = new Set([
  'logLevel', 'dataDir', 'fsync', 'nats', 'natsReplicas', 'natsCheckpointEvery', 'natsCheckpointMinMs', 'ingestThreads',
] as const);

/**
 * The flags' bounds, for the programmatic config too: `resolveConfig({ port: -1 })` passed and
 * `startServer` threw a RangeError from listen; `{ maxBatch: 0 }` served and refused every batch.
 * The values resolveConfig checks with messages of their own are left to it.
 */
function checkFlagBounds(partial: Partial<ServerConfig>): void {
  for (const [flag, spec] of Object.entries(FLAGS)) {
    const v: unknown = partial[spec.key];
    if (v === undefined || CHECKED_BY_RESOLVE.has(spec.key)) continue;
    const name = `${spec.key} (${flag})`;
    if (spec.kind === 'string') {
      if (typeof v !== 'string') throw new ConfigError(`${name} must be a string, got ${typeof v}`);
      parseValue(name, spec, v);
    } else if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < (spec.min ?? 0) || v > (spec.max ?? Number.MAX_SAFE_INTEGER)) {
      throw new ConfigError(`${name} must be an integer between ${spec.min ?? 0} and ${spec.max ?? Number.MAX_SAFE_INTEGER}, got ${String(v)}`);
    }
  }
}

/** Fills defaults, checks cross-field rules and freezes. Throws {@link ConfigError}. */
export function resolveConfig(partial: Partial<ServerConfig> = {}): ServerConfig {
  if (partial === null || typeof partial !== 'object') throw new ConfigError('the config must be an object');
  // A misspelt key would otherwise be ignored for its default: `{ tokn: '…' }` would serve with no token.
  const k = unknownKey(partial, CONFIG_KEYS);
  if (k !== undefined) throw new ConfigError(`"${k}" is not a config option (known: ${[...CONFIG_KEYS].join(', ')})`);
  checkFlagBounds(partial);
  const logLevel = partial.logLevel ?? DEFAULTS.logLevel;
  if (!LEVELS.has(logLevel)) throw new ConfigError(`log level must be one of ${[...LEVELS].join(', ')}, got "${logLevel}"`);
  const partitions = partial.partitions ?? os.availableParallelism();
  if (partial.capacity !== undefined && partial.capacity < partitions) {
    throw new ConfigError(`capacity (${partial.capacity}) must be at least the partition count (${partitions})`);
  }
  if (partial.token !== undefined && partial.token.length < 8) throw new ConfigError('token must be at least 8 characters');
  if (partial.readToken !== undefined) {
    if (partial.token === undefined) throw new ConfigError('a read token needs --token too (otherwise reads would be protected and writes open)');
    if (partial.readToken.length < 8) throw new ConfigError('read token must be at least 8 characters');
  }
  const nats = parseNatsUrls(partial.nats as unknown);
  const natsReplicas = partial.natsReplicas ?? 1;
  if (!Number.isInteger(natsReplicas) || natsReplicas < 1 || natsReplicas > 5) throw new ConfigError(`nats replicas must be an integer from 1 to 5, got ${String(natsReplicas)}`);
  const natsCheckpointEvery = partial.natsCheckpointEvery;
  if (natsCheckpointEvery !== undefined) {
    if (!Number.isInteger(natsCheckpointEvery) || natsCheckpointEvery < 0) throw new ConfigError(`--nats-checkpoint-every must be a non-negative integer, got ${String(natsCheckpointEvery)}`);
    // The log keeps `capacity` messages: checkpoints further apart leave late daemons a gap.
    const capacity = partial.capacity ?? 65_536 * partitions;
    if (natsCheckpointEvery >= capacity) throw new ConfigError(`--nats-checkpoint-every (${natsCheckpointEvery}) must be below the capacity (${capacity}), the messages each log keeps`);
  }
  const natsCheckpointMinMs = partial.natsCheckpointMinMs ?? 5_000;
  if (!Number.isInteger(natsCheckpointMinMs) || natsCheckpointMinMs < 0) throw new ConfigError(`--nats-checkpoint-min-ms must be a non-negative integer, got ${String(natsCheckpointMinMs)}`);
  const fsync = partial.fsync ?? 'interval';
  if (fsync !== 'always' && fsync !== 'interval' && fsync !== 'never') throw new ConfigError(`fsync must be one of always, interval, never, got "${String(fsync)}"`);
  if (partial.dataDir !== undefined && (typeof partial.dataDir !== 'string' || partial.dataDir.length === 0)) throw new ConfigError('data directory must be a non-empty path');
  // Under --nats every ring-store append goes through the JetStream log; ingest threads append into the
  // local rings directly, so the two do not mix: the pool is off, and asking for it is an error.
  const ingestThreads = partial.ingestThreads ?? (nats !== undefined ? 0 : defaultIngestThreads(os.availableParallelism(), partitions));
  if (!Number.isInteger(ingestThreads) || ingestThreads < 0 || ingestThreads > MAX_INGEST_THREADS) throw new ConfigError(`ingest threads must be an integer between 0 and ${MAX_INGEST_THREADS}, got ${String(ingestThreads)}`);
  if (nats !== undefined && ingestThreads > 0) throw new ConfigError('--ingest-threads cannot be used with --nats: ring-store appends go through the JetStream log (use --ingest-threads 0)');
  const headersTimeoutMs = partial.headersTimeoutMs ?? DEFAULTS.headersTimeoutMs;
  const bodyTimeoutMs = partial.bodyTimeoutMs ?? Math.max(DEFAULTS.bodyTimeoutMs, headersTimeoutMs);
  if (headersTimeoutMs > bodyTimeoutMs) throw new ConfigError(`headers timeout (${headersTimeoutMs} ms) must not exceed the body timeout (${bodyTimeoutMs} ms)`);
  return Object.freeze({
    host: partial.host ?? DEFAULTS.host,
    port: partial.port ?? DEFAULTS.port,
    partitions,
    capacity: partial.capacity,
    arenaBytes: partial.arenaBytes,
    logLevel,
    dataDir: partial.dataDir,
    fsync,
    nats,
    natsReplicas,
    natsCheckpointEvery,
    natsCheckpointMinMs,
    token: partial.token,
    readToken: partial.readToken,
    bodyLimit: partial.bodyLimit ?? DEFAULTS.bodyLimit,
    maxBatch: partial.maxBatch ?? DEFAULTS.maxBatch,
    shutdownTimeoutMs: partial.shutdownTimeoutMs ?? DEFAULTS.shutdownTimeoutMs,
    subscribePollMs: partial.subscribePollMs ?? DEFAULTS.subscribePollMs,
    headersTimeoutMs,
    bodyTimeoutMs,
    idleTimeoutMs: partial.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs,
    maxConnections: partial.maxConnections ?? defaultMaxConnections(),
    lingerMs: partial.lingerMs ?? DEFAULTS.lingerMs,
    ingestThreads,
  });
}

/** `--nats` as given (a comma-separated string) or as a list: nats:// (or tls://, ws://) URLs. */
function parseNatsUrls(v: unknown): readonly string[] | undefined {
  if (v === undefined) return undefined;
  const list = typeof v === 'string' ? v.split(',').map((u) => u.trim()).filter((u) => u.length > 0) : v;
  if (!Array.isArray(list) || list.length === 0 || list.some((u) => typeof u !== 'string')) throw new ConfigError('nats must be one or more server URLs, comma-separated');
  for (const u of list as string[]) {
    let url: URL;
    try {
      url = new URL(u.includes('://') ? u : `nats://${u}`);
    } catch {
      throw new ConfigError(`nats: "${u}" is not a URL`);
    }
    if (!['nats:', 'tls:', 'ws:', 'wss:'].includes(url.protocol) || url.hostname === '') throw new ConfigError(`nats: "${u}" is not a nats:// URL`);
  }
  return Object.freeze([...(list as string[])]);
}

/** True when the host is a loopback address. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
