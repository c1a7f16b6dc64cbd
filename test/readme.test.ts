import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// Every ```js block of README.md marked "runs as a test" is executed as a
// module against the built package, and must print what its comment says.
describe('README examples run', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const blocks = [...readme.matchAll(/```js\n\/\/ runs as a test\n([\s\S]*?)```/g)].map((m) => m[1]);
  it('has runnable examples', () => expect(blocks.length).toBeGreaterThan(0));
  blocks.forEach((code, i) => {
    it(`example ${i + 1} prints what it says`, () => {
      const dir = mkdtempSync(join(tmpdir(), 'ringstore-readme-'));
      const file = join(dir, 'example.mjs');
      const entry = new URL('../dist/src/index.js', import.meta.url).href;
      writeFileSync(file, code.replaceAll("from 'ringstore'", `from '${entry}'`));
      const out = execFileSync(process.execPath, [file], { encoding: 'utf8', timeout: 30_000 });
      const expected = [...code.matchAll(/\/\/ prints: (.*)$/gm)].map((m) => m[1]);
      expect(out.trim().split('\n')).toEqual(expected);
    });
  });
});
