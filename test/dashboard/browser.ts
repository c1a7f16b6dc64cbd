// Debian's Chromium driven by playwright-core, for the dashboard tests. `.ci/run`
// installs the `chromium` package when /usr/bin/chromium is missing.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.RINGSTORE_CHROMIUM ?? '/usr/bin/chromium';

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'];

/** A browser with a fresh profile (so a fresh sessionStorage), and what its pages did wrong. */
export interface TestBrowser {
  context: BrowserContext;
  page: Page;
  /** Uncaught page errors and console errors. */
  errors: string[];
  /** Every request's URL, method and headers, in order. */
  requests: { url: string; method: string; headers: Record<string, string> }[];
  close(): Promise<void>;
}

/** Launches Chromium with a new `--user-data-dir` and opens one page. */
export async function launch(): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (.ci/run does), or set RINGSTORE_CHROMIUM`);
  const profile = mkdtempSync(join(tmpdir(), 'ringstore-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 1000 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(10_000);
  const errors: string[] = [];
  const requests: TestBrowser['requests'] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // Chromium logs every 4xx answer as "Failed to load resource"; the tests provoke some (401, 403, 423) on purpose.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(`console: ${m.text()}`);
  });
  page.on('request', (r) => {
    const entry = { url: r.url(), method: r.method(), headers: {} as Record<string, string> };
    requests.push(entry);
    void r.allHeaders().then((h) => (entry.headers = h), () => undefined);
  });
  return {
    context,
    page,
    errors,
    requests,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
