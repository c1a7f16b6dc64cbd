/**
 * Runs one scenario: sets its cases up, runs every case through the warm-up
 * rounds, then the measured rounds with the cases alternating inside each
 * round (so machine noise hits the store and its peers alike), and aggregates.
 */
import os from 'node:os';
import { resolveParams } from './args.js';
import type { Progress } from './progress.js';
import type { RedisManager } from './redis.js';
import { aggregateCase, withRatios, withTargets, type CaseSamples } from './stats.js';
import type { Case, Machine, MemoryFigures, Params, Scenario, ScenarioContext, ScenarioResult } from './types.js';

export interface RunOptions {
  rounds: number;
  warmup: number;
  subjectsOnly: boolean;
  progress: Progress;
  redis: RedisManager;
  /** Raw `--name value` parameters from the command line. */
  rawParams: Record<string, string>;
  command: string;
}

export function machine(): Machine {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}/${process.arch}`,
    loadavg1m: Number(os.loadavg()[0].toFixed(2)),
  };
}

function memoryNow(sharedBytes: number | undefined): MemoryFigures {
  const m = process.memoryUsage();
  return { rssBytes: m.rss, heapUsedBytes: m.heapUsed, sharedBytes: sharedBytes ?? null };
}

function message(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

export async function runScenario(s: Scenario, opts: RunOptions): Promise<ScenarioResult> {
  const started = performance.now();
  const params: Params = resolveParams(s.params, opts.rawParams);
  const base: ScenarioResult = {
    scenario: s.name, title: s.title, description: s.description, date: new Date().toISOString(), command: opts.command,
    machine: machine(), params, warmup: opts.warmup, rounds: opts.rounds, seconds: 0, reference: s.reference, cases: [],
  };
  const pending = s.pending ? await s.pending() : null;
  if (pending !== null) {
    opts.progress.line(`${s.name}: pending: ${pending}`);
    return { ...base, pending };
  }
  const ctx: ScenarioContext = {
    params,
    log: (msg) => opts.progress.line(`${s.name}: ${msg}`),
    redis: () => opts.redis.get(),
    subjectsOnly: opts.subjectsOnly,
  };
  let cases: Case[] = await s.cases(ctx);
  if (opts.subjectsOnly) cases = cases.filter((c) => c.role === 'subject');
  const collected: CaseSamples[] = cases.map((c) => ({
    name: c.name, role: c.role, op: c.op ?? 'events', vs: c.vs ?? s.reference, samples: [], memory: [],
    ...(c.skip !== undefined ? { skipped: c.skip } : {}),
  }));
  const live = (i: number): boolean => collected[i].skipped === undefined && collected[i].error === undefined;
  const runnable = cases.filter((_, i) => live(i)).length;
  opts.progress.expect(runnable * (1 + opts.warmup + opts.rounds));
  try {
    for (let i = 0; i < cases.length; i++) {
      if (!live(i)) continue;
      opts.progress.step(`${s.name}: setup ${cases[i].name}`);
      try {
        await cases[i].setup?.();
      } catch (err) {
        collected[i].error = `setup: ${message(err)}`;
        opts.progress.line(`${s.name}: ${cases[i].name}: ${collected[i].error}`);
      }
    }
    const total = opts.warmup + opts.rounds;
    for (let r = 0; r < total; r++) {
      const warm = r < opts.warmup;
      for (let i = 0; i < cases.length; i++) {
        if (!live(i)) continue;
        opts.progress.step(`${s.name}: ${cases[i].name} (${warm ? `warm-up ${r + 1}/${opts.warmup}` : `round ${r - opts.warmup + 1}/${opts.rounds}`})`);
        try {
          const sample = await cases[i].run(r);
          if (!warm) {
            collected[i].samples.push(sample);
            collected[i].memory.push(memoryNow(sample.sharedBytes));
          }
        } catch (err) {
          collected[i].error = message(err);
          opts.progress.line(`${s.name}: ${cases[i].name}: ${collected[i].error}`);
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  } finally {
    for (let i = cases.length - 1; i >= 0; i--) {
      if (collected[i].skipped !== undefined) continue;
      try {
        await cases[i].teardown?.();
      } catch (err) {
        collected[i].error ??= `teardown: ${message(err)}`;
      }
    }
  }
  const targets = new Map(cases.filter((c) => c.target !== undefined).map((c) => [c.name, c.target!]));
  const results = withTargets(withRatios(collected.map(aggregateCase), s.reference), targets);
  return { ...base, cases: results, seconds: Number(((performance.now() - started) / 1000).toFixed(1)) };
}
