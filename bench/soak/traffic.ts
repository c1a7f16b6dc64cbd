/**
 * The soak's traffic, as users would send it: single-event POSTs, JSON-array
 * and NDJSON batches, metrics, reads, aggregates, window queries and SSE
 * subscribers, over a pool of distinct stream names and metric labels (or
 * ever-new ones). Paced to a target rate over keep-alive connections;
 * latencies and failures are collected per sample window.
 */
import http from 'node:http';

export interface TrafficOptions {
  /** Base URL of the daemon. */
  url: string;
  /** Target requests per second. */
  rate: number;
  /** Requests in flight at most (keep-alive connections). */
  concurrency: number;
  /** Distinct stream names and metric labels cycled through. */
  names: number;
  /** Use a new name for every write instead of the pool (memory per distinct name). */
  freshNames: boolean;
  /** Live SSE subscriptions (reconnected when they end). */
  subscribers: number;
  /** Bearer token, when the daemon has one. */
  token?: string | undefined;
}

/** What one sample window saw. */
export interface TrafficWindow {
  latencies: number[];
  requests: number;
  errors: number;
  sseEvents: number;
  subscribers: number;
  /** The first few failures of the window, for the log. */
  failures: string[];
  /** Latencies (ms) of the window's `/health` probes (one every 100 ms on a connection of its own; a probe without an answer within 30 s counts as a failure). */
  health: number[];
}

interface Call {
  method: 'GET' | 'POST';
  path: string;
  type?: string;
  body?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Traffic {
  readonly #o: TrafficOptions;
  readonly #agent: http.Agent;
  readonly #base: URL;
  #running = false;
  #loops: Promise<void>[] = [];
  #subs = new Set<http.ClientRequest>();
  #fresh = 0;
  #w: TrafficWindow = { latencies: [], requests: 0, errors: 0, sseEvents: 0, subscribers: 0, failures: [], health: [] };
  /** The `/health` prober's own connection: its latency is not queued behind the traffic's. */
  readonly #probeAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  constructor(options: TrafficOptions) {
    this.#o = options;
    this.#base = new URL(options.url);
    this.#agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
  }

  start(): void {
    this.#running = true;
    const gap = (1000 * this.#o.concurrency) / this.#o.rate;
    for (let i = 0; i < this.#o.concurrency; i++) this.#loops.push(this.#loop(gap, (i * gap) / this.#o.concurrency));
    for (let i = 0; i < this.#o.subscribers; i++) this.#loops.push(this.#subscriber(`soak/s${i}`));
    this.#loops.push(this.#probe());
  }

  /**
   * Writes once to every stream name and metric label of the pool, before the
   * sampled run: the daemon keeps a few hundred bytes per distinct name (key
   * directories, label tables), and names first seen during the run, drawn at
   * random from the pool, made the memory of a slow run climb for as long as
   * new names kept coming (half an hour at 130 requests/s). After the warm-up,
   * memory that still grows is not the pool's. Returns the requests that failed.
   */
  async warmUp(): Promise<number> {
    if (this.#o.freshNames) return 0;
    const calls: Call[] = [];
    for (let i = 0; i < this.#o.names; i++) calls.push({ method: 'POST', path: `/streams/soak/s${i}`, type: 'application/json', body: JSON.stringify({ valor: i % 1000, gatewayId: 'g0' }) });
    for (let i = 0; i < this.#o.names; i += 500) {
      const labels = Array.from({ length: Math.min(500, this.#o.names - i) }, (_, k) => JSON.stringify({ label: `soak-l${i + k}`, value: 1 }));
      calls.push({ method: 'POST', path: '/metrics', type: 'application/x-ndjson', body: labels.join('\n') });
    }
    let failed = 0;
    let next = 0;
    await Promise.all(Array.from({ length: this.#o.concurrency }, async () => {
      while (next < calls.length) {
        const status = await this.#send(calls[next++]);
        if (typeof status !== 'number' || status < 200 || status >= 300) failed++;
      }
    }));
    return failed;
  }

  /** The window since the last call, and a fresh one. */
  window(): TrafficWindow {
    const w = this.#w;
    w.subscribers = this.#subs.size;
    this.#w = { latencies: [], requests: 0, errors: 0, sseEvents: 0, subscribers: 0, failures: [], health: [] };
    return w;
  }

  async stop(): Promise<void> {
    this.#running = false;
    for (const s of this.#subs) s.destroy();
    await Promise.all(this.#loops);
    this.#agent.destroy();
    this.#probeAgent.destroy();
  }

  #name(prefix: string): string {
    if (this.#o.freshNames) return `${prefix}${this.#fresh++}`;
    // A fifth of the writes go to the subscribed (hot) streams so that subscribers see events.
    if (prefix === 'soak/s' && this.#o.subscribers > 0 && Math.random() < 0.2) return `${prefix}${Math.floor(Math.random() * this.#o.subscribers)}`;
    return `${prefix}${Math.floor(Math.random() * this.#o.names)}`;
  }

  /** The next request of the mix. */
  #next(): Call {
    const r = Math.random() * 100;
    const stream = (): string => `/streams/${this.#name('soak/s')}`;
    const label = (): string => this.#name('soak-l');
    const event = (): Record<string, unknown> => ({ valor: Math.round(Math.random() * 1000), gatewayId: `g${Math.floor(Math.random() * 8)}` });
    const metric = (): Record<string, unknown> => ({ label: label(), value: Math.random() * 100 });
    if (r < 30) return { method: 'POST', path: stream(), type: 'application/json', body: JSON.stringify(event()) };
    if (r < 38) return { method: 'POST', path: stream(), type: 'application/x-ndjson', body: Array.from({ length: 20 }, () => JSON.stringify(event())).join('\n') };
    if (r < 43) return { method: 'POST', path: stream(), type: 'application/json', body: JSON.stringify(Array.from({ length: 10 }, event)) };
    if (r < 63) return { method: 'POST', path: '/metrics', type: 'application/json', body: JSON.stringify(metric()) };
    if (r < 68) return { method: 'POST', path: '/metrics', type: 'application/x-ndjson', body: Array.from({ length: 50 }, () => JSON.stringify(metric())).join('\n') };
    if (r < 80) return { method: 'GET', path: `${stream()}?limit=10` };
    if (r < 85) return { method: 'GET', path: `${stream()}?aggregate=true` };
    if (r < 90) return { method: 'GET', path: `/metrics/window?label=${encodeURIComponent(label())}&from=${Date.now() - 300_000}` };
    if (r < 93) return { method: 'GET', path: '/metrics/top?k=5' };
    if (r < 96) return { method: 'GET', path: `/metrics/sum?label=${encodeURIComponent(label())}` };
    if (r < 98) return { method: 'GET', path: '/metrics/aggregate-zero-alloc' };
    return { method: 'GET', path: '/health' };
  }

  async #loop(gapMs: number, offsetMs: number): Promise<void> {
    let due = performance.now() + offsetMs;
    while (this.#running) {
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      // Behind schedule (a slow answer): go on from now, do not burst to catch up.
      due = Math.max(due + gapMs, performance.now());
      if (!this.#running) break;
      const call = this.#next();
      const t0 = performance.now();
      const status = await this.#send(call);
      const w = this.#w;
      w.requests++;
      w.latencies.push(performance.now() - t0);
      if (typeof status !== 'number' || status < 200 || status >= 300) {
        w.errors++;
        if (w.failures.length < 5) w.failures.push(`${call.method} ${call.path.slice(0, 60)}: ${status}`);
      }
    }
  }

  /** GET /health every 100 ms, as a liveness probe would: its p99 is the daemon's answer to "is it up?" under the load. */
  async #probe(): Promise<void> {
    while (this.#running) {
      const t0 = performance.now();
      const status = await this.#send({ method: 'GET', path: '/health' }, this.#probeAgent);
      const w = this.#w;
      w.requests++;
      w.health.push(performance.now() - t0);
      if (status !== 200) {
        w.errors++;
        if (w.failures.length < 5) w.failures.push(`health probe: ${status}`);
      }
      await sleep(100);
    }
  }

  #send(call: Call, agent: http.Agent = this.#agent): Promise<number | string> {
    return new Promise((resolve) => {
      const headers: Record<string, string> = {};
      if (call.type !== undefined) headers['content-type'] = call.type;
      if (this.#o.token !== undefined) headers.authorization = `Bearer ${this.#o.token}`;
      const req = http.request({ host: this.#base.hostname, port: this.#base.port, method: call.method, path: call.path, headers, agent, timeout: 30_000 }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', (err) => resolve(err.message));
      });
      req.on('timeout', () => req.destroy(new Error('no answer within 30 s')));
      req.on('error', (err) => resolve((err as NodeJS.ErrnoException).code ?? err.message));
      req.end(call.body);
    });
  }

  /** One SSE subscriber: counts events, resumes after the last one seen when the stream ends. */
  async #subscriber(stream: string): Promise<void> {
    let last = 0;
    while (this.#running) {
      await new Promise<void>((resolve) => {
        const headers: Record<string, string> = { accept: 'text/event-stream' };
        if (last > 0) headers['last-event-id'] = String(last);
        if (this.#o.token !== undefined) headers.authorization = `Bearer ${this.#o.token}`;
        const req = http.get({ host: this.#base.hostname, port: this.#base.port, path: `/streams/${stream}/subscribe`, headers, agent: false }, (res) => {
          let rest = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            const lines = (rest + chunk).split('\n');
            rest = lines.pop() ?? '';
            for (const line of lines) {
              if (line === 'event: event') this.#w.sseEvents++;
              else if (line.startsWith('id: ')) last = Number(line.slice(4)) || last;
            }
          });
          res.on('end', resolve);
          res.on('error', resolve);
        });
        req.on('error', () => resolve());
        req.on('close', () => {
          this.#subs.delete(req);
          resolve();
        });
        this.#subs.add(req);
      });
      if (this.#running) await sleep(1000);
    }
  }
}
