// The 503 RS_ERR_PARTIAL_APPEND body must carry `stored` and `notStored` (docs/daemon.md's table): without them a
// client cannot tell which events of the batch to retry.
import { describe, expect, it } from 'vitest';
import { toErrorResponse } from '../../dist/src/server/index.js';
import { PartialAppendError, RingstoreError } from '../../dist/src/errors.js';
import { errorFromResponse } from '../../dist/src/client/index.js';

describe('RS_ERR_PARTIAL_APPEND over HTTP', () => {
  it('the error body lists the events stored and not stored, and the client keeps them in details', () => {
    const stored = { id: 'a', partition: 0, position: 7, version: 3, duplicate: false };
    const err = new PartialAppendError([stored, undefined], [undefined, new RingstoreError('RS_ERR_WORKER_FAILED' as never, 'worker died')]);
    const r = toErrorResponse(err);
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBe('RS_ERR_PARTIAL_APPEND');
    expect(r.body.error.stored).toEqual([{ index: 0, partition: 0, position: 7, version: 3, id: 'a', duplicate: false }]);
    expect(r.body.error.notStored).toEqual([{ index: 1, code: 'RS_ERR_WORKER_FAILED' }]);
    const client = errorFromResponse(r.status, JSON.parse(JSON.stringify(r.body)), undefined);
    expect(client.details).toMatchObject({ stored: [{ index: 0 }], notStored: [{ index: 1 }] });
  });
});
