/**
 * Types shared by the harness: a scenario is a list of cases (the ringstore
 * subjects and the peers and floors they are divided by), all measured in the
 * same run by `runner.ts`, rendered by `report.ts`, `svg.ts` and `docs.ts`.
 */

/** `subject`: ringstore. `peer`: another store doing the same work. `floor`: a bare loop nothing can beat by much. */
export type Role = 'subject' | 'peer' | 'floor';

/** What one measured round of a case did. */
export interface Sample {
  /** Operations done (events appended, events scanned, queries answered: see {@link Case.op}). */
  ops: number;
  /** Wall time of the round, ms. */
  ms: number;
  /** Per-operation latencies (ms) when the case measures them. */
  latenciesMs?: ArrayLike<number>;
  /** Percentiles computed elsewhere (e.g. by autocannon), when raw latencies are not available. */
  latencySummary?: LatencySummary;
  /** Shared memory the subject holds (SharedArrayBuffer bytes), when known. */
  sharedBytes?: number;
  /** Free text shown under the table (last round wins). */
  note?: string;
  /** CPU time per operation of the process under test (µs): its main thread and the whole process (Linux). */
  cpuUsPerOp?: CpuPerOp;
}

export interface CpuPerOp {
  main: number;
  process: number;
  /** The partition workers' threads together (in-process scenarios: thread-cpu.ts). */
  workers?: number;
  /** Every other thread: producer threads, V8's GC and compiler helpers, libuv. */
  other?: number;
  /** Per group of named threads (e.g. main, ingest, partitions, other), µs per op, where the server's threads are known. */
  threads?: Record<string, number>;
}

/**
 * A goal a case is held to (an issue's target, stated in the terms of the
 * case's row): `met` reads the case's result and the scenario's others, and
 * says null when a figure it needs is missing (a skipped peer).
 */
export interface Target {
  text: string;
  met(c: CaseResult, all: readonly CaseResult[]): boolean | null;
}

/** One line of a scenario's table. */
export interface Case {
  name: string;
  role: Role;
  /** What one operation is: 'events' (default), 'queries', 'requests', 'events scanned'. */
  op?: string;
  /**
   * The case this one is divided by (a floor or a peer of the same scenario).
   * Default: the scenario's `reference`. A case without any baseline is its own reference (ratio 1).
   */
  vs?: string;
  /** Set when the case cannot run here (e.g. no redis-server): shown, never measured. */
  skip?: string;
  /** The goal this row is held to, shown beside its figures. */
  target?: Target;
  setup?(): Promise<void> | void;
  run(round: number): Promise<Sample> | Sample;
  teardown?(): Promise<void> | void;
}

/** A numeric or text parameter of a scenario, settable as `--name value`. */
export interface ParamSpec {
  default: number | string;
  help: string;
  /** Largest value a numeric parameter takes (e.g. 1 for a fraction); checked before anything runs. */
  max?: number;
}

export type Params = Record<string, number | string>;

/** What a scenario gets to build its cases. */
export interface ScenarioContext {
  params: Params;
  /** Writes one progress/diagnostic line (stderr). */
  log(msg: string): void;
  /** The Redis Streams peer, when a redis-server binary and ioredis exist (started lazily, stopped by the runner); else why not. */
  redis(): Promise<import('./redis.js').RedisPeer | string>;
  /** Only ringstore cases (used by `ringstore profile`, so the profile shows the store). */
  subjectsOnly: boolean;
}

/** A benchmark scenario, shared by `ringstore bench` and `ringstore profile`. */
export interface Scenario {
  name: string;
  title: string;
  description: string;
  params: Record<string, ParamSpec>;
  /** Name of the case every other case is divided by, unless it names its own `vs`. */
  reference: string;
  /** In the default run (`ringstore bench` with no scenario names). */
  default: boolean;
  /** Set when the scenario cannot run in this build (reported, not faked). */
  pending?(): Promise<string | null>;
  cases(ctx: ScenarioContext): Promise<Case[]> | Case[];
}

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

/** Memory at the end of a case's measured rounds (largest over rounds). */
export interface MemoryFigures {
  rssBytes: number;
  heapUsedBytes: number;
  /** SharedArrayBuffer bytes the subject reports (null for cases that hold none). */
  sharedBytes: number | null;
}

/** Statistics of one case. */
export interface CaseResult {
  name: string;
  role: Role;
  op: string;
  skipped?: string;
  error?: string;
  rounds: number;
  /** Operations per second: one figure per measured round. */
  perSecond: number[];
  median: number;
  min: number;
  max: number;
  /** (max - min) / median, as a fraction. */
  spread: number;
  latency?: LatencySummary;
  memory?: MemoryFigures;
  /** The case divided by, and median / its median (NaN when the baseline did not run). */
  vs: string;
  ratio: number;
  /** median / the scenario reference's median (NaN when it did not run or counts other operations). */
  refRatio: number;
  note?: string;
  /** Medians over the measured rounds, when the case measures CPU. */
  cpuUsPerOp?: CpuPerOp;
  /** The case's target and whether this run met it (null: could not tell). */
  target?: { text: string; met: boolean | null };
}

/** One scenario's result, as written to bench/results/<scenario>.json. */
export interface ScenarioResult {
  scenario: string;
  title: string;
  description: string;
  date: string;
  command: string;
  machine: Machine;
  params: Params;
  warmup: number;
  rounds: number;
  seconds: number;
  reference: string;
  pending?: string;
  cases: CaseResult[];
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  platform: string;
  loadavg1m: number;
}
