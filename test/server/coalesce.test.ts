// The coalescer of single-event POSTs (src/server/coalesce.ts) when its store call stores part of a batch.
import { describe, expect, it } from 'vitest';
import { AppendCoalescer } from '../../dist/src/server/coalesce.js';
import { ClosedError, PartialAppendError, RingstoreError, type AppendResult, type EventStore } from '../../dist/src/index.js';

const result = (n: number): AppendResult => ({ id: `id-${n}`, partition: 0, position: n, version: 1, duplicate: false });

describe('AppendCoalescer and PartialAppendError', () => {
  it('resolves the stored events with their results, tries the others again alone, and rejects those refused as closed', async () => {
    const calls: number[][] = [];
    const store = {
      append(events: number | number[]) {
        if (!Array.isArray(events)) {
          calls.push([events]);
          return Promise.resolve(result(100 + events));
        }
        calls.push(events);
        // Events 0 and 2 stored; 1 not (its partition failed), 3 not (closed).
        return Promise.reject(new PartialAppendError(
          [result(1), undefined, result(2), undefined],
          [undefined, new RingstoreError('RS_ERR_WORKER', 'failed'), undefined, new ClosedError()],
        ));
      },
    } as unknown as EventStore<number>;
    const c = new AppendCoalescer<number>(store);
    const settled = await Promise.allSettled([0, 1, 2, 3].map((n) => c.append(n, undefined)));
    expect(settled[0]).toEqual({ status: 'fulfilled', value: result(1) });
    expect(settled[1]).toEqual({ status: 'fulfilled', value: result(101) });
    expect(settled[2]).toEqual({ status: 'fulfilled', value: result(2) });
    expect(settled[3]).toMatchObject({ status: 'rejected', reason: { code: 'RS_ERR_CLOSED' } });
    // Only event 1 was appended again: the stored ones are never stored twice.
    expect(calls).toEqual([[0, 1, 2, 3], [1]]);
  });

  it('never tries again an event whose outcome is unknown (RS_ERR_IO_UNKNOWN): it may be stored, and alone it would get "not stored"', async () => {
    for (const partial of [true, false]) {
      const calls: number[][] = [];
      const unknown = new RingstoreError('RS_ERR_IO_UNKNOWN', 'the append may or may not have been stored');
      const store = {
        append(events: number | number[]) {
          if (!Array.isArray(events)) {
            calls.push([events]);
            return Promise.reject(new RingstoreError('RS_ERR_IO', 'nothing was stored'));
          }
          calls.push(events);
          return Promise.reject(partial ? new PartialAppendError([result(1), undefined], [undefined, unknown]) : unknown);
        },
      } as unknown as EventStore<number>;
      const c = new AppendCoalescer<number>(store);
      const settled = await Promise.allSettled([0, 1].map((n) => c.append(n, undefined)));
      if (partial) expect(settled[0]).toEqual({ status: 'fulfilled', value: result(1) });
      else expect(settled[0]).toMatchObject({ status: 'rejected', reason: { code: 'RS_ERR_IO_UNKNOWN' } });
      expect(settled[1]).toMatchObject({ status: 'rejected', reason: { code: 'RS_ERR_IO_UNKNOWN' } });
      expect(calls).toEqual([[0, 1]]);
    }
  });
});
