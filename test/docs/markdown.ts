/**
 * What the docs test reads in markdown: fenced code blocks with their info
 * string, and the references to files (relative links, backticked paths).
 *
 * The convention (README.md, "Docs"): a block in js, mjs or ts runs as a test
 * unless its info string says `fragment` (```` ```ts fragment ````); a shell
 * block must say `fragment` (nothing runs shell commands from the docs); a
 * block in text, json, another language or none is output, not code.
 */

export interface CodeBlock {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  fragment: boolean;
  code: string;
}

export const RUNNABLE_LANGS = new Set(['js', 'mjs', 'javascript', 'ts', 'typescript']);
export const SHELL_LANGS = new Set(['sh', 'bash', 'shell', 'console', 'zsh']);

/** Every fenced block (``` or ~~~, three or more) of a markdown text. */
export function codeBlocks(file: string, text: string): CodeBlock[] {
  const lines = text.split('\n');
  const out: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})(.*)$/.exec(lines[i]);
    if (open === null) continue;
    const [, indent, fence, info] = open;
    const words = info.trim().split(/\s+/).filter((w) => w !== '');
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = new RegExp(`^\\s*${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`);
      if (close.test(lines[j])) break;
      body.push(lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j]);
    }
    out.push({ file, line: i + 1, lang: (words[0] ?? '').toLowerCase(), fragment: words.slice(1).includes('fragment'), code: `${body.join('\n')}\n` });
    i = j;
  }
  return out;
}

/** Lines a block says it prints: its `// prints: …` comments, in order. */
export function expectedOutput(code: string): string[] {
  return [...code.matchAll(/\/\/ prints: (.*)$/gm)].map((m) => m[1]);
}

/** Markdown text without its fenced blocks (references inside code are code). */
function prose(text: string): string {
  return text.replace(/^(\s*)(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\s*\2\s*$/gm, '');
}

/**
 * Files a doc refers to: relative link targets (resolved against the doc's
 * folder) and backticked repository paths such as `src/store/producer.ts`
 * (resolved against the repository root). Templates (`<scenario>`, `*`) and
 * built output (`dist/…`) are not files to check.
 */
export function fileReferences(text: string): { links: string[]; paths: string[] } {
  const p = prose(text);
  const links = [...p.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1].split('#')[0]).filter((t) => t !== '' && !/^[a-z]+:/i.test(t));
  const paths = [...p.matchAll(/`([^`\s]+)`/g)]
    .map((m) => m[1])
    .filter((t) => /^(\.\.\/)*(src|test|bench|docs|workers|shared)\/[\w./-]*\.[a-z]+$/.test(t));
  return { links, paths };
}
