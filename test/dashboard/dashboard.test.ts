// The dashboard in a real browser (Debian's Chromium through playwright-core):
// its figures are the API's, the live tail shows a new event within a second,
// the versioned streams browser reads and releases streams, and with --token
// the page asks for the token, keeps it in sessionStorage and sends it in a
// header. Screenshots are kept under test-results/.
import { mkdirSync, statSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { raw, startDaemon, type TestDaemon } from '../server/helpers.js';
import { launch, type TestBrowser } from './browser.js';

const RESULTS = 'test-results';
const TOKEN = 'dashboard-token-42';

// The page's number formats, written out independently of its code.
const int = (n: number): string => n.toLocaleString('en-US');
const pct = (ratio: number): string => `${(ratio * 100).toFixed(1)} %`;
const rate = (n: number | null | undefined): string => (n === null || n === undefined ? '–' : new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 }).format(n));
const ms = (v: number | null): string => (v === null ? '–' : `${v.toFixed(v < 1 ? 3 : v < 10 ? 2 : v < 100 ? 1 : 0)} ms`);

type Fields = Record<string, string>;
interface Shown {
  statsTime: string;
  stores: Record<string, Record<string, Fields>>;
  routes: Record<string, Fields>;
  ingest: Fields;
  latency: Fields;
  topStreams: [string, string][];
  topLabels: [string, string][];
}

/** Everything the page shows, as text, read from the DOM in one go. */
function readPage(page: Page): Promise<Shown> {
  return page.evaluate(() => {
    const d = (globalThis as any).document;
    const fields = (root: any): Record<string, string> => Object.fromEntries([...root.querySelectorAll('[data-field]')].map((e: any) => [e.dataset.field, e.textContent]));
    const text = (id: string): string => d.getElementById(id).textContent;
    const stores: Record<string, Record<string, Record<string, string>>> = {};
    for (const t of d.querySelectorAll('table.partitions')) {
      stores[t.dataset.store] = Object.fromEntries([...t.querySelectorAll('tbody tr')].map((tr: any) => [tr.dataset.partition, fields(tr)]));
    }
    const list = (id: string): [string, string][] => [...d.querySelectorAll(`#${id} li[data-key]`)].map((li: any) => [li.dataset.key, li.querySelector('[data-field=value]').textContent]);
    return {
      statsTime: d.body.dataset.statsTime,
      stores,
      routes: Object.fromEntries([...d.querySelectorAll('#latency-routes tbody tr')].map((tr: any) => [tr.dataset.route, fields(tr)])),
      ingest: {
        streamsNow: text('ingest-streams-now'), streamsCommitted: text('ingest-streams-committed'),
        metricsNow: text('ingest-metrics-now'), metricsCommitted: text('ingest-metrics-committed'),
        points: d.getElementById('ingest-chart').dataset.points,
      },
      latency: { p50: text('latency-p50'), p99: text('latency-p99'), count: text('latency-count') },
      topStreams: list('top-streams'),
      topLabels: list('top-labels'),
    };
  });
}

/** Collects every /stats answer the page receives, by its `time`. */
function captureStats(page: Page): Map<string, any> {
  const seen = new Map<string, any>();
  page.on('response', async (res) => {
    if (new URL(res.url()).pathname !== '/stats' || res.status() !== 200) return;
    const body = await res.json().catch(() => undefined);
    if (body !== undefined) seen.set(String(body.time), body);
  });
  return seen;
}

/** Waits until the live tail has shown version `version` of its stream; returns the ms it took from `since`. */
async function tailShows(page: Page, version: number, since: number, timeout = 1000): Promise<number> {
  await page.waitForSelector(`#tail-events tr[data-version="${version}"]`, { timeout });
  return Date.now() - since;
}

async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(RESULTS, { recursive: true });
  const path = `${RESULTS}/${name}`;
  await page.screenshot({ path, fullPage: true });
  expect(statSync(path).size).toBeGreaterThan(10_000);
}

/** A versioned stream with three events and a snapshot at version 2, its session closed. */
async function versionedStream(d: TestDaemon, stream: string): Promise<void> {
  const s = await d.client.openSession(stream);
  await s.append([
    { type: 'Opened', data: { owner: 'Ada' } },
    { type: 'Deposited', data: { amount: 15 } },
    { type: 'Withdrawn', data: { amount: 4 } },
  ], { expectedVersion: 0 });
  await s.snapshot(2, { balance: 15 });
  await s.close();
}

describe('dashboard without a token', () => {
  let d: TestDaemon;
  let b: TestBrowser;
  let stats: Map<string, any>;
  beforeAll(async () => {
    d = await startDaemon();
    b = await launch();
    stats = captureStats(b.page);
    await b.page.goto(`${d.url}/`);
    await b.page.waitForSelector('#status[data-state="live"]');
  });
  afterAll(async () => {
    await b?.close();
    await d?.close();
  });

  it('shows the figures the API answers after appends', async () => {
    await d.client.append('shop/orders', Array.from({ length: 7 }, (_, i) => ({ valor: 10 * i, gatewayId: `g${i % 2}` })));
    await d.client.append('shop/refunds', [{ valor: 1 }, { valor: 2 }, { valor: 3 }]);
    await d.client.append('audit/log', { valor: 0, note: 'one' });
    await d.client.metrics.append([{ label: 'cpu', value: 30 }, { label: 'cpu', value: 30 }, { label: 'mem', value: 12.5 }, { label: 'disk', value: 2 }]);
    await expect.poll(async () => (await raw(`${d.url}/stats`)).body.stores.metrics.committed).toBe(4);

    // The top lists refresh every third poll, the rest every poll.
    await b.page.waitForFunction(() => {
      const d = (globalThis as any).document;
      return d.querySelector('#top-streams li[data-key="shop/orders"] [data-field=value]')?.textContent === '7'
        && d.querySelector('#top-labels li[data-key="cpu"] [data-field=value]')?.textContent === '60'
        && d.getElementById('ingest-metrics-committed').textContent === '4';
    }, undefined, { timeout: 10_000 });

    const shown = await readPage(b.page);
    await expect.poll(() => stats.has(shown.statsTime)).toBe(true);
    const api = stats.get(shown.statsTime);

    // What the API said is what the stores hold.
    expect(api.stores.streams.committed).toBe(11);
    expect(api.stores.streams.partitions.reduce((a: number, p: { live: number }) => a + p.live, 0)).toBe(11);
    expect(api.stores.metrics.committed).toBe(4);

    // And the page shows exactly that answer.
    for (const name of ['streams', 'metrics']) {
      const store = api.stores[name];
      expect(Object.keys(shown.stores[name])).toEqual([...store.partitions.map((p: { partition: number }) => String(p.partition)), 'all']);
      for (const p of store.partitions) {
        expect(shown.stores[name][String(p.partition)], `${name} partition ${p.partition}`).toEqual({ fill: pct(p.fill), live: int(p.live), capacity: int(p.capacity), discarded: int(p.discarded), restarts: int(p.restarts) });
      }
      expect(shown.stores[name].all).toEqual({ fill: pct(store.fill), live: int(store.live), capacity: int(store.capacity), discarded: int(store.discarded), restarts: int(store.restarts) });
    }
    expect(shown.ingest).toEqual({
      streamsNow: rate(api.ingest.streams.at(-1)), streamsCommitted: int(api.stores.streams.committed),
      metricsNow: rate(api.ingest.metrics.at(-1)), metricsCommitted: int(api.stores.metrics.committed),
      points: String(api.ingest.t.length),
    });
    expect(api.ingest.t.length).toBeGreaterThan(0);
    expect(shown.latency).toEqual({ p50: ms(api.latency.all.p50Ms), p99: ms(api.latency.all.p99Ms), count: int(api.latency.all.count) });
    const expectedRoutes = Object.fromEntries(api.latency.routes.slice(0, 12).map((r: any) => [`${r.method} ${r.route}`, { count: int(r.count), p50: ms(r.p50Ms), p99: ms(r.p99Ms) }]));
    expect(shown.routes).toEqual(expectedRoutes);
    expect(api.latency.routes.find((r: any) => r.method === 'POST' && r.route === '/streams/*').count).toBe(3);

    // The top lists are stable once written: the page and a fresh API answer agree.
    const topStreams = (await raw(`${d.url}/stats/top-streams?k=10`)).body;
    expect(topStreams).toEqual([{ stream: 'shop/orders', events: 7 }, { stream: 'shop/refunds', events: 3 }, { stream: 'audit/log', events: 1 }]);
    expect(shown.topStreams).toEqual(topStreams.map((s: any) => [s.stream, int(s.events)]));
    const topLabels = (await raw(`${d.url}/metrics/top?k=10`)).body;
    expect(topLabels.map((m: any) => m.key)).toEqual(['cpu', 'mem', 'disk']);
    expect(shown.topLabels).toEqual(topLabels.map((m: any) => [m.key, String(m.value)]));
  });

  it('the live tail shows a new event within a second', async () => {
    await b.page.click('#top-streams li[data-key="shop/orders"] button');
    await b.page.waitForSelector('#tail-status[data-state="live"]');
    await tailShows(b.page, 7, Date.now(), 5000);
    const held = (await raw(`${d.url}/streams/shop/orders`)).body;
    const rows = await b.page.$$eval('#tail-events tbody tr', (trs) => trs.map((tr: any) => [tr.dataset.version, tr.children[1].textContent]));
    expect(rows).toEqual(held.map((e: any) => [String(e.version), e.id]).reverse());

    const since = Date.now();
    const appended = await d.client.append('shop/orders', { valor: 99, marker: 'tail-check' });
    expect(appended.version).toBe(8);
    const took = await tailShows(b.page, 8, since);
    expect(took).toBeLessThan(1000);
    const row = await b.page.textContent('#tail-events tr[data-version="8"]');
    expect(row).toContain(appended.id);
    expect(row).toContain('tail-check');
  });

  it('the versioned streams browser reads a stream and its snapshots, then releases it', async () => {
    await versionedStream(d, 'Account/7');
    await b.page.fill('#versioned-stream', 'Account/7');
    await b.page.click('#versioned-form button[type=submit]');
    await b.page.waitForSelector('#versioned-status[data-state="ok"]');
    expect(await b.page.textContent('#versioned-id')).toBe('EventStores/Account/7');
    expect(await b.page.textContent('#versioned-version')).toBe('3');
    const rows = await b.page.$$eval('#versioned-events tbody tr', (trs) => trs.map((tr: any) => [...tr.children].map((td: any) => td.textContent)));

    // The page released its session: a writer opens the stream at once.
    const s = await d.client.openSession('Account/7', { openTimeoutMs: 0 });
    const { events } = (await raw(`${d.url}/sessions/${s.sessionId}/events`)).body as { events: any[] };
    expect(events).toHaveLength(3);
    expect(rows).toEqual(events.map((e) => [String(e.version), e.type, e.id, JSON.stringify(e.data)]).reverse());
    expect(await s.snapshotVersions()).toEqual([2]);

    // While that writer holds it, the page says so instead of waiting.
    await b.page.click('#versioned-form button[type=submit]');
    await b.page.waitForSelector('#versioned-status[data-state="error"]');
    expect(await b.page.textContent('#versioned-status')).toContain('held by another session');
    await s.close();

    await b.page.click('#versioned-form button[type=submit]');
    await b.page.waitForSelector('#versioned-status[data-state="ok"]');
    await b.page.click('#versioned-snapshots li[data-version="2"] button');
    await b.page.waitForFunction(() => (globalThis as any).document.getElementById('versioned-snapshot-state').textContent.includes('"balance": 15'));
    await expect.poll(async () => (await raw(`${d.url}/stats`)).body.sessions, { timeout: 10_000 }).toBe(0);
  });

  it('loads nothing from another origin, logs no error, and keeps a screenshot', async () => {
    const origin = new URL(d.url).origin;
    expect(b.requests.length).toBeGreaterThan(10);
    for (const r of b.requests) expect(new URL(r.url).origin === origin || r.url.startsWith('data:'), r.url).toBe(true);
    expect(b.errors).toEqual([]);
    await screenshot(b.page, 'dashboard.png');
  });
});

describe('dashboard with --token', () => {
  let d: TestDaemon;
  let b: TestBrowser;
  const stored = (page: Page): Promise<string | null> => page.evaluate(() => (globalThis as any).sessionStorage.getItem('ringstore.token'));
  beforeAll(async () => {
    d = await startDaemon({ token: TOKEN });
    b = await launch();
  });
  afterAll(async () => {
    await b?.close();
    await d?.close();
  });

  it('asks for the token, refuses a wrong one, stores the right one in sessionStorage', async () => {
    await b.page.goto(`${d.url}/`);
    await b.page.waitForSelector('#token-dialog[open]');
    await b.page.fill('#token-input', 'not-the-token');
    await b.page.click('#token-form button[type=submit]');
    await b.page.waitForFunction(() => /Refused \(403\)/.test((globalThis as any).document.getElementById('token-error').textContent));
    expect(await stored(b.page)).toBeNull();
    await b.page.fill('#token-input', TOKEN);
    await b.page.click('#token-form button[type=submit]');
    await b.page.waitForSelector('#token-dialog', { state: 'hidden' });
    expect(await stored(b.page)).toBe(TOKEN);
    expect(await b.page.textContent('#auth-state')).toBe('token set (this tab)');
  });

  it('sends it in a header, never in a URL: versioned browser and live tail work', async () => {
    await versionedStream(d, 'Vault/1');
    await b.page.fill('#versioned-stream', 'Vault/1');
    await b.page.click('#versioned-form button[type=submit]');
    await b.page.waitForSelector('#versioned-status[data-state="ok"]');
    expect(await b.page.textContent('#versioned-version')).toBe('3');

    await d.client.append('vault/ops', { valor: 1 });
    await b.page.fill('#tail-stream', 'vault/ops');
    await b.page.click('#tail-form button[type=submit]');
    await b.page.waitForSelector('#tail-status[data-state="live"]');
    await tailShows(b.page, 1, Date.now(), 5000);
    const since = Date.now();
    await d.client.append('vault/ops', { valor: 2 });
    expect(await tailShows(b.page, 2, since)).toBeLessThan(1000);

    const sent = (path: string): Record<string, string> | undefined => b.requests.find((r) => new URL(r.url).pathname.startsWith(path))?.headers;
    await expect.poll(() => sent('/sessions')?.authorization).toBe(`Bearer ${TOKEN}`);
    expect(sent('/streams/vault/ops/subscribe')?.authorization).toBe(`Bearer ${TOKEN}`);
    for (const r of b.requests) expect(r.url).not.toContain(TOKEN);
  });

  it('keeps the token across a reload of the tab, and asks again when it is refused', async () => {
    await b.page.reload();
    await b.page.waitForSelector('#status[data-state="live"]');
    expect(await b.page.isVisible('#token-dialog')).toBe(false);
    expect(await stored(b.page)).toBe(TOKEN);

    await b.page.evaluate(() => (globalThis as any).sessionStorage.setItem('ringstore.token', 'a-stale-token'));
    await b.page.fill('#versioned-stream', 'Vault/1');
    await b.page.click('#versioned-form button[type=submit]');
    await b.page.waitForSelector('#token-dialog[open]');
    expect(await b.page.textContent('#token-error')).toContain('refused the stored token');
    await b.page.fill('#token-input', TOKEN);
    await b.page.click('#token-form button[type=submit]');
    // The refused request is retried with the new token.
    await b.page.waitForSelector('#versioned-status[data-state="ok"]');
    expect(await stored(b.page)).toBe(TOKEN);
    expect(b.errors).toEqual([]);
    await screenshot(b.page, 'dashboard-token.png');
  });
});
