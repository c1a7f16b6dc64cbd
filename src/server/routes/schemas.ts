/** JSON schemas shared by the route modules. */
import { errorSchema } from '../errors.js';

/** Error responses every route may give. */
export const errors = {
  '4xx': errorSchema,
  '5xx': errorSchema,
} as const;

const TIME_RULE = 'epoch ms within ±8.64e15, or ISO 8601 with a real calendar date (UTC when no offset); see docs/daemon.md, "Time values"';

/** A time value in a body: epoch ms or an ISO 8601 string (checked by the route, `time.ts`). */
export const time = { anyOf: [{ type: 'number' }, { type: 'string', maxLength: 64 }], description: TIME_RULE } as const;

/** A time value in a query string (parsed by the route, `time.ts`; empty = absent). */
export const timeQuery = { type: 'string', maxLength: 64, description: TIME_RULE } as const;

/** `{ id, partition, position, version, duplicate }`. */
export const appendResult = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    partition: { type: 'integer' },
    position: { type: 'integer' },
    version: { type: 'integer' },
    duplicate: { type: 'boolean' },
  },
  required: ['id', 'partition', 'position', 'version', 'duplicate'],
} as const;

/** `{ count, sum, min, max, avg }`. */
export const aggregate = {
  type: 'object',
  properties: { count: { type: 'integer' }, sum: { type: 'number' }, min: { type: 'number' }, max: { type: 'number' }, avg: { type: 'number' } },
  required: ['count', 'sum', 'min', 'max', 'avg'],
} as const;

/** Security requirement of write and admin routes (when a token is configured). */
export const bearer = [{ bearer: [] }];
