// Live view: committed stream events are published to a sink (the ring store in production).
import { expect, it } from 'vitest';
import type { LiveStreamEvent } from '../../dist/src/streams/index.js';
import { code, describeBackends, evs } from './helpers.js';

describeBackends('publishTo (live view)', ({ manual }) => {
  it('publishes each committed event, in order, as { stream, id, type, version, data, metadata }', async () => {
    const seen: LiveStreamEvent[] = [];
    const sink = { append: async (e: LiveStreamEvent) => void seen.push(e) };
    const { provider } = manual({ publishTo: sink });
    const s = await provider.open('Acc/7');
    await s.append([{ id: 'x1', type: 'Opened', data: { owner: 'Joe' } }, { type: 'Deposited', data: { amount: 10 } }]);
    await s.append([{ type: 'Withdrawn', data: { amount: 3 } }]);
    expect(seen.map((e) => [e.stream, e.version, e.type])).toEqual([
      ['Acc/7', 1, 'Opened'],
      ['Acc/7', 2, 'Deposited'],
      ['Acc/7', 3, 'Withdrawn'],
    ]);
    expect(seen[0]).toMatchObject({ stream: 'Acc/7', database: 'EventStores', id: 'x1', data: { owner: 'Joe' } });
    expect(seen[0]!.metadata.correlationId).toBe('x1');
  });

  it('publishes nothing for a rejected append', async () => {
    const seen: unknown[] = [];
    const { provider } = manual({ publishTo: { append: (e: unknown) => seen.push(e) } });
    const s = await provider.open('Acc/7');
    await s.append(evs(1, 1));
    expect(await code(s.append(evs(2, 1), { expectedVersion: 5 }))).toBe('RS_ERR_STORE_VERSION_MISMATCH');
    expect(seen).toHaveLength(1);
  });

  it('a failing sink does not undo or fail the committed append', async () => {
    const { provider } = manual({
      publishTo: {
        append: async () => {
          throw new Error('ring full');
        },
      },
    });
    const s = await provider.open('Acc/7');
    expect(await s.append(evs(1, 2))).toBe(2);
    expect(await s.version()).toBe(2);
  });
});
