/**
 * The stores behind the daemon: one ring store for `/streams` (keyed by stream,
 * so a stream's events have versions 1..N and live in one partition), one for
 * `/metrics` (keyed by label), and the versioned streams provider. All in
 * memory, or, under `--data-dir D`: the versioned streams in LMDB at `D`, the
 * ring stores durable in `D/ring/streams` and `D/ring/metrics` (segment logs
 * and checkpoints, fsynced as `--fsync` says).
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { EventStore } from '../store/event-store.js';
import { LmdbBackend } from '../streams/backends/lmdb.js';
import type { KeyValueBackend } from '../streams/backend.js';
import { StreamStoreProvider } from '../streams/provider.js';
import type { ServerConfig } from './config.js';
import type { RingReplication } from './replication/index.js';
import { streamType, streamValor } from './ingest/selectors.js';
import { commitRingMemory } from './ring-memory.js';

/** What `/streams` stores per event: the stream, the server's commit-order time, and the body. */
export interface StreamRecord {
  /** Stream name (the routing key). */
  s: string;
  /** Server receive time, ms, non-decreasing: the store's timestamp, so time order is version order. */
  t: number;
  /** The posted event, with `timestamp` normalised to ISO 8601 UTC. */
  d: Record<string, unknown>;
}

/** What `/metrics` stores per event (the reference's MetricEvent). */
export interface MetricRecord {
  label: string;
  value: number;
  /** ms since the epoch. */
  ts: number;
}

/** The daemon's stores. */
export interface Stores {
  streams: EventStore<StreamRecord>;
  metrics: EventStore<MetricRecord>;
  versioned: StreamStoreProvider;
  /**
   * With `--nats`: the ring stores' JetStream logs. POSTs append through it
   * (and only it): every daemon applies the log to its own `streams` and `metrics`.
   */
  replication: RingReplication | undefined;
  /** Stops every store: ring workers and the versioned provider (and its backend). */
  close(): Promise<void>;
}


/**
 * Opens the stores of a configuration; with a data directory, resolves once
 * both ring stores restored their logs (`restored N events in T ms` is logged
 * per partition). Throws the store's error (a corrupt log, a locked or
 * mismatched directory) after closing what it opened.
 */
export async function openStores(config: ServerConfig, logger: Logger): Promise<Stores> {
  const sizing = {
    partitions: config.partitions,
    ...(config.capacity !== undefined ? { capacity: config.capacity } : {}),
    ...(config.arenaBytes !== undefined ? { payloadBytes: config.arenaBytes } : {}),
  };
  // With --nats the ring stores' log is JetStream: a local one would apply every batch twice after a restart.
  const dataDir = config.nats === undefined ? config.dataDir : undefined;
  const durable = (name: string): { durability?: { dir: string; fsync: ServerConfig['fsync'] } } =>
    dataDir === undefined ? {} : { durability: { dir: join(dataDir, 'ring', name), fsync: config.fsync } };
  const streams = await EventStore.open<StreamRecord>({
    ...sizing,
    ...durable('streams'),
    name: 'streams',
    key: 's',
    timestamp: 't',
    type: streamType,
    values: { valor: streamValor },
    logger: logger.child({ store: 'streams' }),
  });
  let metrics: EventStore<MetricRecord>;
  try {
    metrics = await EventStore.open<MetricRecord>({
      ...sizing,
      ...durable('metrics'),
      name: 'metrics',
      key: 'label',
      timestamp: 'ts',
      values: { value: 'value' },
      window: { sizeMs: 24 * 3600_000, bucketMs: 60_000 },
      logger: logger.child({ store: 'metrics' }),
    });
  } catch (err) {
    await streams.close();
    throw err;
  }
  let backend: KeyValueBackend | undefined;
  try {
    backend = config.nats !== undefined
      ? await (await import('../streams/backends/nats.js')).NatsBackend.connect({ servers: [...config.nats], replicas: config.natsReplicas, logger: logger.child({ store: 'versioned', backend: 'nats' }) })
      : config.dataDir !== undefined ? new LmdbBackend({ path: config.dataDir }) : undefined;
  } catch (err) {
    await Promise.allSettled([streams.close(), metrics.close()]);
    throw err;
  }
  let replication: RingReplication | undefined;
  if (config.nats !== undefined) {
    try {
      replication = await (await import('./replication/index.js')).openReplication({
        servers: config.nats, streams, metrics, replicas: config.natsReplicas,
        checkpointEvery: config.natsCheckpointEvery, checkpointMinMs: config.natsCheckpointMinMs, logger,
      });
    } catch (err) {
      await Promise.allSettled([streams.close(), metrics.close(), backend?.close()]);
      throw err;
    }
  }
  // Resident from the start: RSS does not creep up as the rings fill for the first time (ring-memory.ts).
  const committed = commitRingMemory(streams as EventStore<unknown>) + commitRingMemory(metrics as EventStore<unknown>);
  logger.debug({ bytes: committed }, 'ring memory committed');
  const versioned = new StreamStoreProvider({ ...(backend ? { backend } : {}), logger: logger.child({ store: 'versioned' }) });
  let closing: Promise<void> | undefined;
  return {
    streams,
    metrics,
    versioned,
    replication,
    close() {
      closing ??= (async () => {
        await replication?.close().catch((err: unknown) => logger.warn({ err }, 'replication: close failed'));
        await Promise.allSettled([streams.close(), metrics.close(), versioned.close()]);
        if (backend) await backend.close();
      })();
      return closing;
    },
  };
}

let lastT = 0;
/** A non-decreasing receive time, so a stream's time order is its version order even if the clock steps back. */
export function receiveTime(): number {
  const now = Date.now();
  lastT = now > lastT ? now : lastT;
  return lastT;
}
