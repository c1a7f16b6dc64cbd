// A smoke run of every built-in scenario with tiny sizes: each case runs (or is
// skipped for a missing peer) and none fails. Figures are not looked at.
import { describe, expect, it } from 'vitest';
import { Progress } from '../../dist/bench/harness/progress.js';
import { RedisManager } from '../../dist/bench/harness/redis.js';
import { runScenario } from '../../dist/bench/harness/runner.js';
import { SCENARIOS } from '../../dist/bench/harness/scenarios/index.js';

/** Tiny parameters per scenario (every built-in scenario must be listed). */
const TINY: Record<string, Record<string, string>> = {
  append: { events: '2000', capacity: '4096', partitions: '1,2', producers: '1,2' },
  snapshot: { ms: '100', interval: '20', capacity: '2000' },
  window: { events: '5000', keys: '64', queries: '2', partitions: '1,2' },
  hotcold: { events: '2000', appends: '200', keys: '64', capacity: '4096', queries: '2' },
  metric: { events: '4096', capacity: '4096', keys: '64' },
  streams: { events: '400', streams: '4', batch: '10', bigBatch: '50', lmdbSingle: '20', read: '200' },
  daemon: { seconds: '0.3', connections: '2', batch: '10' },
  durability: { events: '2000', restore: '5000', samples: '5000' },
  // 1 and 2 --nats daemons (3 is the same code with one more), one durable-log row: five daemons to start, not nine
  replication: { seconds: '0.3', connections: '2', batch: '10', lagSamples: '5', daemons: '1,2', fsync: 'never' },
  core: { metricEvents: '10000', events: '2000', scanEvents: '5000', queries: '3', snapshotEvents: '2000' },
};

describe('every built-in scenario runs with tiny sizes', () => {
  it('has tiny sizes for each', () => expect(Object.keys(TINY)).toEqual(SCENARIOS.map((s) => s.name)));
  const redis = new RedisManager();
  for (const s of SCENARIOS) {
    it(s.name, async () => {
      const progress = new Progress({ write: () => {}, isTTY: false });
      const r = await runScenario(s, { rounds: 1, warmup: 0, subjectsOnly: false, progress, redis, rawParams: TINY[s.name], command: 'test' });
      expect(r.pending).toBeUndefined();
      expect(r.cases.filter((c) => c.error !== undefined).map((c) => `${c.name}: ${c.error}`)).toEqual([]);
      for (const c of r.cases) {
        if (c.skipped !== undefined) expect(c.skipped, c.name).toMatch(/^(not installed: |no redis-(server|benchmark) binary on PATH)/);
        else expect(c.median, c.name).toBeGreaterThan(0);
      }
      expect(r.cases.filter((c) => c.role === 'subject' && c.skipped === undefined).length).toBeGreaterThan(0);
    }, 120_000);
  }
  it('stops its redis-server', () => redis.stop());
});
