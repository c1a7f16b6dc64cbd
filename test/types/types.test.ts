// Runs the type tests (test/types/*.test-d.ts) through tsc: an assertion of
// expectTypeOf that does not hold, or an `@ts-expect-error` line that compiles,
// is a compile error.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const TSC = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));

function tsc(project: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [TSC, '-p', project, '--pretty', 'false'], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('type tests of the public API', () => {
  it('test/types/*.test-d.ts compile against the built declarations', () => {
    const r = tsc(path.join(HERE, 'tsconfig.json'));
    expect(r.out).toBe('');
    expect(r.status).toBe(0);
  });

  it('a false assertion and a needless @ts-expect-error each fail', () => {
    const dir = mkdtempSync(path.join(HERE, '.tmp-'));
    try {
      writeFileSync(path.join(dir, 'wrong.test-d.ts'), [
        "import { expectTypeOf } from 'vitest';",
        "import { EventStore } from 'ringstore';",
        'expectTypeOf(EventStore.create().tryAppend({})).toEqualTypeOf<string>();',
        '// @ts-expect-error',
        'EventStore.create({ capacity: 1 });',
        '',
      ].join('\n'));
      writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ extends: '../tsconfig.json', include: ['*.test-d.ts'] }));
      const r = tsc(path.join(dir, 'tsconfig.json'));
      expect(r.status).not.toBe(0);
      expect(r.out).toMatch(/wrong\.test-d\.ts\(3,\d+\): error/);
      expect(r.out).toMatch(/wrong\.test-d\.ts\(4,\d+\): error TS2578: Unused '@ts-expect-error' directive/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
