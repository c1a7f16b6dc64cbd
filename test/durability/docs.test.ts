// Every ```js block of docs/durability.md marked "runs as a test" runs as a module against the built
// package and must print what its comments say. (Plain ```js blocks, the package's public API, run
// through test/docs like every other doc's.)
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tmpDir } from './helpers.js';

describe('docs/durability.md examples run', () => {
  const doc = readFileSync(new URL('../../docs/durability.md', import.meta.url), 'utf8');
  const blocks = [...doc.matchAll(/```js fragment\n\/\/ runs as a test \(test\/durability\/docs\.test\.ts[^\n]*\n([\s\S]*?)```/g)].map((m) => m[1]);
  it('has runnable examples, and every other code block is a fragment, text or shell', () => {
    expect(blocks.length).toBeGreaterThan(0);
    const fences = [...doc.matchAll(/^```(\S*(?: \S+)?)$/gm)].map((m) => m[1]).filter((f) => f !== '');
    for (const f of fences) expect(['js', 'js fragment', 'ts fragment', 'text', 'sh fragment']).toContain(f);
  });
  blocks.forEach((code, i) => {
    it(`example ${i + 1} prints what it says`, () => {
      const file = join(tmpDir(), 'example.mjs');
      const entry = new URL('../../dist/src/durability/index.js', import.meta.url).href;
      writeFileSync(file, code.replaceAll("from './dist/src/durability/index.js'", `from '${entry}'`));
      const out = execFileSync(process.execPath, [file], { encoding: 'utf8', timeout: 30_000 });
      const expected = [...code.matchAll(/\/\/ prints: (.*)$/gm)].map((m) => m[1]);
      expect(out.trim().split('\n')).toEqual(expected);
    });
  });
});
