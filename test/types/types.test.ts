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

  it('an event missing a field and an undeclared value name are reported plainly (no overload list)', () => {
    const dir = mkdtempSync(path.join(HERE, '.tmp-'));
    try {
      writeFileSync(path.join(dir, 'message.test-d.ts'), [
        "import { EventStore } from 'ringstore';",
        "interface Order { type: 'order' | 'refund'; user: string; amount: number }",
        "const store = EventStore.create({ key: 'user', values: { amount: (e: Order) => e.amount } });",
        "void store.append({ user: 'ada' });",
        "void store.append([{ type: 'order', user: 'ada' }]);",
        "void store.sum('nope');",
        '',
      ].join('\n'));
      writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ extends: '../tsconfig.json', include: ['*.test-d.ts'] }));
      const r = tsc(path.join(dir, 'tsconfig.json'));
      expect(r.status).not.toBe(0);
      expect(r.out).not.toMatch(/No overload matches/);
      expect(r.out).toMatch(/message\.test-d\.ts\(4,\d+\): error TS2345: Argument of type '\{ user: string; \}' is not assignable to parameter of type 'Order \| readonly Order\[\]'\.\s+Type '\{ user: string; \}' is missing the following properties from type 'Order': type, amount/);
      expect(r.out).toMatch(/message\.test-d\.ts\(5,\d+\): error TS2741: Property 'amount' is missing in type '\{ type: "order"; user: string; \}' but required in type 'Order'/);
      expect(r.out).toMatch(/message\.test-d\.ts\(6,\d+\): error TS2345: Argument of type '"nope"' is not assignable to parameter of type '"amount"'/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
