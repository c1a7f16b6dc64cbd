import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, RingstoreError, errorFromWire } from '../dist/src/index.js';

describe('error codes', () => {
  const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
  it('every code is documented in docs/errors.md, and every documented RS_ERR_ code exists', () => {
    for (const code of Object.keys(ErrorCodes)) expect(doc).toContain(`\`${code}\``);
    const documented = [...doc.matchAll(/\| `(RS_ERR_[A-Z_]+)` \| core/g)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(ErrorCodes).sort());
  });
  it('errors survive the wire form with class and code', () => {
    const e = errorFromWire({ code: 'RS_ERR_CONFLICT', message: 'x', details: { key: 'k', expected: 1, actual: 2 } });
    expect(e).toBeInstanceOf(RingstoreError);
    expect(e).toMatchObject({ code: 'RS_ERR_CONFLICT', expected: 1, actual: 2 });
  });
});
