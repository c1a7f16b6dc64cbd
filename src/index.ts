/**
 * ringstore: a multi-core in-memory event store for Node.js.
 * @packageDocumentation
 */
export * from './errors.js';
