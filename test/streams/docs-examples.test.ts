// Every ```js block of docs/streams.md marked "runs as a test" runs as a module
// against the built package, with NATS_URL pointing to this file's own
// nats-server, and must print what its comments say.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sharedNatsServer, stopSharedNatsServer } from '../nats/server.js';

describe('docs/streams.md examples run', () => {
  const doc = readFileSync(new URL('../../docs/streams.md', import.meta.url), 'utf8');
  const blocks = [...doc.matchAll(/```js\n\/\/ runs as a test\n([\s\S]*?)```/g)].map((m) => m[1]!);
  afterAll(stopSharedNatsServer);
  it('has runnable examples', () => expect(blocks.length).toBeGreaterThan(0));
  blocks.forEach((code, i) => {
    it(`example ${i + 1} prints what it says`, async () => {
      const { url } = await sharedNatsServer();
      const dir = mkdtempSync(join(tmpdir(), 'rs-streams-doc-'));
      try {
        const file = join(dir, 'example.mjs');
        const entry = new URL('../../dist/src/streams/index.js', import.meta.url).href;
        writeFileSync(file, code.replaceAll("from 'ringstore/streams'", `from '${entry}'`));
        const out = execFileSync(process.execPath, [file], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, NATS_URL: url } });
        const expected = [...code.matchAll(/\/\/ prints: (.*)$/gm)].map((m) => m[1]);
        expect(out.trim().split('\n')).toEqual(expected);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
