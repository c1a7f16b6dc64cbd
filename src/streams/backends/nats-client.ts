/**
 * The NATS client values the JetStream backend uses, in one module loaded
 * only when a `NatsBackend` connects: the clients are optional peer
 * dependencies, so `ringstore/streams` loads without them.
 */
export { connect, nanos } from '@nats-io/transport-node';
export { JetStreamApiError, jetstream, jetstreamManager } from '@nats-io/jetstream';
export { ShardLog } from './nats-log.js';
