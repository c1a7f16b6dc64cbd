// The docs are true: every js/ts block of README.md and docs/**/*.md runs (twice,
// in the same folder: an example must work again, e.g. on its durable data),
// exits, and prints what its `// prints:` comments say; every other code block
// is marked as a fragment; every file a doc refers to exists.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedNatsServer, stopSharedNatsServer } from '../nats/server.js';
import { codeBlocks, expectedOutput, fileReferences, RUNNABLE_LANGS, SHELL_LANGS, type CodeBlock } from './markdown.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function markdownFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.md')).map((f) => path.join(dir, f)).sort();
}
const DOCS = ['README.md', ...markdownFiles('docs')];
const blocks: CodeBlock[] = DOCS.flatMap((f) => codeBlocks(f, readFileSync(path.join(ROOT, f), 'utf8')));
const runnable = blocks.filter((b) => RUNNABLE_LANGS.has(b.lang) && !b.fragment);

const tmp = mkdtempSync(path.join(tmpdir(), 'rs-docs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A folder where `import … from 'ringstore'` resolves to this package, through its exports, as for a user. */
function projectDir(name: string): string {
  const dir = path.join(tmp, name);
  mkdirSync(path.join(dir, 'node_modules'), { recursive: true });
  symlinkSync(ROOT, path.join(dir, 'node_modules', 'ringstore'));
  writeFileSync(path.join(dir, 'package.json'), '{ "type": "module", "private": true }\n');
  return dir;
}

/** A ts block as Node 20 runs it after a compile (types erased, nothing else changed). */
function toJs(b: CodeBlock): string {
  if (b.lang !== 'ts' && b.lang !== 'typescript') return b.code;
  const out = ts.transpileModule(b.code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false } });
  return out.outputText;
}

describe('docs code blocks', () => {
  it('the docs have runnable examples', () => {
    expect(runnable.map((b) => b.file)).toEqual(expect.arrayContaining(['README.md', 'docs/daemon.md', 'docs/metric-store.md', 'docs/streams.md']));
  });

  it('every shell block is marked as a fragment', () => {
    const unmarked = blocks.filter((b) => SHELL_LANGS.has(b.lang) && !b.fragment).map((b) => `${b.file}:${b.line} (\`\`\`${b.lang})`);
    expect(unmarked, 'mark these ```sh fragment, or make them js blocks that run').toEqual([]);
  });

  it('no example uses `await using` (Node 20 cannot run it)', () => {
    const users = blocks.filter((b) => /^\s*await using\b/m.test(b.code)).map((b) => `${b.file}:${b.line}`);
    const examples = readdirSync(path.join(ROOT, 'docs/examples'), { recursive: true, encoding: 'utf8' })
      .filter((f) => /\.(ts|js|mjs)$/.test(f) && /^\s*await using\b/m.test(readFileSync(path.join(ROOT, 'docs/examples', f), 'utf8')))
      .map((f) => `docs/examples/${f}`);
    expect([...users, ...examples]).toEqual([]);
  });

  // Examples of the NATS backend talk to this file's own nats-server (never the session's), through NATS_URL.
  let natsUrl: string | undefined;
  beforeAll(async () => {
    if (runnable.some((b) => b.code.includes('NatsBackend'))) natsUrl = (await sharedNatsServer()).url;
  }, 60_000);
  afterAll(stopSharedNatsServer);

  for (const b of runnable) {
    it(`${b.file}:${b.line} runs twice and prints what it says`, () => {
      const dir = projectDir(`${b.file.replace(/[/.]/g, '-')}-${b.line}`);
      writeFileSync(path.join(dir, 'example.mjs'), toJs(b));
      const expected = expectedOutput(b.code);
      for (const run of ['first', 'second']) {
        let out: string;
        try {
          out = execFileSync(process.execPath, ['example.mjs'], { cwd: dir, encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...(natsUrl !== undefined ? { NATS_URL: natsUrl } : {}) } });
        } catch (err) {
          const e = err as { stderr?: string; stdout?: string; message: string };
          throw new Error(`${run} run failed: ${e.stderr || e.message}\n${e.stdout ?? ''}`);
        }
        if (expected.length > 0) expect(out.trim().split('\n'), `${run} run`).toEqual(expected);
      }
    });
  }
});

describe('docs file references', () => {
  const exists = (p: string): boolean => existsSync(p) || (p.endsWith('.js') && existsSync(p.replace(/\.js$/, '.ts')));
  for (const file of DOCS) {
    it(`${file} refers only to files that exist`, () => {
      const { links, paths } = fileReferences(readFileSync(path.join(ROOT, file), 'utf8'));
      const missing = [
        ...links.filter((l) => !exists(path.resolve(ROOT, path.dirname(file), l))).map((l) => `link ${l}`),
        ...paths.filter((p) => !exists(path.resolve(ROOT, p))).map((p) => `path ${p}`),
      ];
      expect(missing).toEqual([]);
    });
  }
});

describe('the markdown reader', () => {
  it('reads fences, languages, the fragment marker and prints comments', () => {
    const md = ['# t', '```ts fragment', 'a', '```', '', '````js', '```', 'console.log(1); // prints: 1', '````', '```', 'out', '```', ''].join('\n');
    const bs = codeBlocks('x.md', md);
    expect(bs.map((b) => [b.line, b.lang, b.fragment])).toEqual([[2, 'ts', true], [6, 'js', false], [10, '', false]]);
    expect(bs[1].code).toBe('```\nconsole.log(1); // prints: 1\n');
    expect(expectedOutput(bs[1].code)).toEqual(['1']);
  });
  it('finds links and backticked repository paths outside code', () => {
    const md = 'See [a](b.md#x), [web](https://x.y), `src/a.ts`, `../shared/r.md`, `bench/results/<s>.json`, `dist/src/x.js`.\n```sh fragment\ncat `src/no.ts`\n```\n';
    expect(fileReferences(md)).toEqual({ links: ['b.md'], paths: ['src/a.ts', '../shared/r.md'] });
  });
});
