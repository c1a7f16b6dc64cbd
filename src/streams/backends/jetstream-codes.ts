/**
 * JetStream API error codes ringstore acts on, in one place for the versioned
 * streams' backend and the daemon's ring logs (nats-server 2.9, see docs/jetstream.md).
 */
/** The stream does not exist. */
export const STREAM_NOT_FOUND = 10059;
/** A publish's expected last (subject) sequence did not match: a lost compare-and-set. */
export const WRONG_LAST_SEQUENCE = 10071;
/** No message found (a direct get of a subject with none). */
export const NO_MESSAGE = 10037;
/** The JetStream cluster is not available (no quorum yet, a leader being elected): retry. */
export const CLUSTER_NOT_AVAILABLE = 10008;
