/** The built-in scenarios, in the order of a default run (`core`, the long issue-2 run, only when named). */
import type { Scenario } from '../types.js';
import { appendScenario } from './append.js';
import { coreScenario } from './core.js';
import { daemonScenario } from './daemon.js';
import { durabilityScenario } from './durability.js';
import { hotColdScenario } from './hotcold.js';
import { metricScenario } from './metric.js';
import { replicationScenario } from './replication.js';
import { snapshotScenario } from './snapshot.js';
import { streamsScenario } from './streams.js';
import { windowScenario } from './window.js';

export const SCENARIOS: readonly Scenario[] = [
  appendScenario, snapshotScenario, windowScenario, hotColdScenario, metricScenario, streamsScenario, daemonScenario, durabilityScenario, replicationScenario, coreScenario,
];

export function findScenario(name: string, extra: readonly Scenario[] = []): Scenario | undefined {
  return [...extra, ...SCENARIOS].find((s) => s.name === name);
}
