/**
 * The options of `NatsBackend`, with no type from the NATS clients: they are
 * optional peer dependencies, so a program that does not use the backend
 * type-checks without them.
 */
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';

/** A `NatsConnection` of `@nats-io/transport-node` (structurally: what the backend checks before use). */
export interface NatsConnectionLike {
  request(...args: never[]): Promise<unknown>;
  close(): Promise<void>;
}

/** Options of `NatsBackend` (see docs/streams.md). */
export interface NatsBackendOptions {
  /** NATS server URL(s), e.g. `"nats://127.0.0.1:4222"` (all nodes of a cluster, preferably). Required unless `connection` is given. */
  servers?: string | string[];
  /** An open connection to use instead (not closed by `close()`). */
  connection?: NatsConnectionLike;
  /** JetStream stream name (default `"RINGSTORE_STREAMS"`); created when missing. */
  stream?: string;
  /** Subject prefix of the shards (default `"ringstore.streams"`); the stream captures `<prefix>.>`. */
  subjectPrefix?: string;
  /** Replicas when the stream is created (1..5, default 1; 3 on a 3-node cluster). */
  replicas?: number;
  /** Storage when the stream is created (default `"file"`; `"memory"` is not durable). */
  storage?: 'file' | 'memory';
  /** Duplicate window when the stream is created, ms (default 120_000). Must exceed `writeTimeoutMs`. */
  duplicateWindowMs?: number;
  /** Create the stream when missing (default true). */
  create?: boolean;
  /** Timeout of one request (publish, get), ms (default 5_000). */
  requestTimeoutMs?: number;
  /** How long an operation retries through outages (reconnects, leader elections), ms (default 30_000). */
  writeTimeoutMs?: number;
  /** Folder levels that make a shard (default 3: `database/name/id`). */
  shardDepth?: number;
  /** Shards kept in memory; the least recently used idle ones are dropped beyond this (default 10_000). */
  maxCachedShards?: number;
  /** Largest body of one message, bytes (default: the server's max_payload less room for headers). Larger batches are split into parts. */
  maxPartBytes?: number;
  /** Clock for TTLs (default: the system clock). Processes sharing a store should use real, synchronised time. */
  clock?: Clock;
  /** pino logger (default: silent). */
  logger?: Logger;
}

