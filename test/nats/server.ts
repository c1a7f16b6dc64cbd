// nats-server processes for the tests: a single server or a 3-node cluster,
// on free loopback ports with temporary store directories (never the
// session's server on 4222). Each server runs under guard.sh, which kills it
// when the test process goes away, even by a crash; stop() and afterAll hooks
// kill them normally.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager, StorageType } from '@nats-io/jetstream';

const GUARD = fileURLToPath(new URL('./guard.sh', import.meta.url));

/** A running nats-server. */
export interface NatsServerProcess {
  readonly url: string;
  readonly port: number;
  /** pid of nats-server itself (not of its guard). */
  readonly pid: number;
  /** Its log so far (stderr), for failure messages. */
  log(): string;
  /** `kill -9` of the server (its guard stays, stop() still cleans up). */
  kill(): Promise<void>;
  /** Kills the server and waits for it to be gone. Idempotent. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  // Closing the guards' stdin makes them kill their servers.
  for (const g of running) g.stdin?.destroy();
});

/** A free TCP port on 127.0.0.1 (released just before use). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts nats-server with `args` under the guard; resolves once it listens for clients. */
export async function startNatsServer(args: readonly string[], timeoutMs = 15_000): Promise<NatsServerProcess> {
  const guard = spawn('sh', [GUARD, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  running.add(guard);
  let log = '';
  let pid = 0;
  const guardExited = new Promise<void>((r) => guard.once('exit', () => r()));
  void guardExited.then(() => running.delete(guard));
  const ready = new Promise<{ port: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nats-server did not start within ${timeoutMs} ms:\n${log}`)), timeoutMs);
    guard.stdout!.on('data', (d: Buffer) => {
      const m = /pid (\d+)/.exec(d.toString());
      if (m) pid = Number(m[1]);
    });
    guard.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
      if (log.length > 200_000) log = log.slice(-100_000);
      const m = /Listening for client connections on [^:\s]+:(\d+)/.exec(log);
      if (m && /Server is ready/.test(log)) {
        clearTimeout(timer);
        resolve({ port: Number(m[1]) });
      }
    });
    void guardExited.then(() => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited at start:\n${log}`));
    });
  });
  let port: number;
  try {
    ({ port } = await ready);
  } catch (err) {
    guard.stdin!.destroy();
    await guardExited;
    throw err;
  }
  const waitGone = async (): Promise<void> => {
    for (let i = 0; i < 500 && pidAlive(pid); i++) await new Promise((r) => setTimeout(r, 10));
  };
  let stopped: Promise<void> | undefined;
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    pid,
    log: () => log,
    kill: async () => {
      if (pid > 0 && pidAlive(pid)) process.kill(pid, 'SIGKILL');
      await waitGone();
    },
    stop: () => {
      stopped ??= (async () => {
        guard.stdin!.destroy();
        await guardExited;
        await waitGone();
      })();
      return stopped;
    },
  };
}

/**
 * Waits until JetStream answers on `urls` (a cluster needs a meta leader first)
 * and, with `replicas` > 1, until a stream of that many replicas can be placed:
 * the meta leader answers before every node has joined it as a peer, and an R3
 * stream created then fails with "no suitable peers for placement".
 */
export async function waitForJetStream(urls: readonly string[], timeoutMs = 30_000, replicas = 1): Promise<void> {
  const nc = await connect({ servers: [...urls], maxReconnectAttempts: -1 });
  try {
    const t0 = Date.now();
    for (let probe = 0; ; probe++) {
      try {
        const jsm = await jetstreamManager(nc, { timeout: 2_000 });
        await jsm.getAccountInfo();
        if (replicas > 1) {
          const name = `RS_PLACEMENT_PROBE_${process.pid}_${probe}`;
          await jsm.streams.add({ name, subjects: [`rs-probe.${process.pid}.${probe}`], num_replicas: replicas, storage: StorageType.Memory });
          await jsm.streams.delete(name);
        }
        return;
      } catch (err) {
        if (Date.now() - t0 > timeoutMs) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    await nc.close();
  }
}

/** A single JetStream server with a temporary store, removed by stop(). */
export async function startSingleServer(): Promise<NatsServerProcess & { dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'rs-nats-'));
  try {
    const s = await startNatsServer(['-a', '127.0.0.1', '-p', '-1', '-js', '-sd', dir, '-n', `rs-test-${process.pid}`]);
    return {
      ...s,
      dir,
      stop: async () => {
        await s.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

let shared: Promise<NatsServerProcess> | undefined;

/**
 * The server shared by the tests of a file: started on first use. Register
 * {@link stopSharedNatsServer} with `afterAll` at the file's top level (the
 * parameterised suites do); a later use starts a new one.
 */
export function sharedNatsServer(): Promise<NatsServerProcess> {
  shared ??= startSingleServer();
  return shared;
}

/** Stops the shared server, if started. */
export async function stopSharedNatsServer(): Promise<void> {
  const s = shared;
  shared = undefined;
  await (await s?.catch(() => undefined))?.stop();
}

/** One node of a {@link NatsCluster}. */
export interface ClusterNode {
  readonly name: string;
  readonly url: string;
  /** The running process, or undefined while killed. */
  proc: NatsServerProcess | undefined;
}

/** A 3-node JetStream cluster on loopback (routes between three processes). */
export interface NatsCluster {
  readonly urls: string[];
  readonly nodes: ClusterNode[];
  /** `kill -9` of node i. */
  kill(i: number): Promise<void>;
  /** Starts node i again on its ports and store. */
  restart(i: number): Promise<void>;
  /** Stops every node and removes the stores. */
  stop(): Promise<void>;
}

/**
 * Starts a cluster of `size` nodes and waits for its JetStream meta leader.
 * Its ports are found free, then released before the servers bind them, so
 * another test process can take one in between: a start that fails is
 * tried again on new ports (twice).
 */
export async function startCluster(size = 3): Promise<NatsCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startClusterOnce(size);
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
}

async function startClusterOnce(size: number): Promise<NatsCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'rs-nats-cluster-'));
  const clientPorts: number[] = [];
  const routePorts: number[] = [];
  for (let i = 0; i < size; i++) {
    clientPorts.push(await freePort());
    routePorts.push(await freePort());
  }
  const routes = routePorts.map((p) => `nats-route://127.0.0.1:${p}`).join(', ');
  const confs: string[] = [];
  const nodes: ClusterNode[] = [];
  for (let i = 0; i < size; i++) {
    const name = `n${i + 1}`;
    const conf = join(dir, `${name}.conf`);
    writeFileSync(
      conf,
      [
        `server_name: ${name}`,
        `listen: 127.0.0.1:${clientPorts[i]}`,
        `jetstream { store_dir: "${join(dir, name)}" }`,
        `cluster { name: rs-test, listen: 127.0.0.1:${routePorts[i]}, no_advertise: true, routes: [ ${routes} ] }`,
      ].join('\n'),
    );
    confs.push(conf);
    nodes.push({ name, url: `nats://127.0.0.1:${clientPorts[i]}`, proc: undefined });
  }
  const stopAll = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.proc?.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all(nodes.map(async (n, i) => (n.proc = await startNatsServer(['-c', confs[i]!]))));
    await waitForJetStream(nodes.map((n) => n.url), 30_000, size);
  } catch (err) {
    await stopAll();
    throw err;
  }
  return {
    urls: nodes.map((n) => n.url),
    nodes,
    kill: async (i) => {
      await nodes[i]!.proc?.kill();
      await nodes[i]!.proc?.stop();
      nodes[i]!.proc = undefined;
    },
    restart: async (i) => {
      nodes[i]!.proc = await startNatsServer(['-c', confs[i]!]);
    },
    stop: stopAll,
  };
}
