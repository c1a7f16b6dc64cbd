import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ClosedError, ConflictError, ErrorCodes, RingstoreError, errorFromWire } from '../dist/src/index.js';
import { StreamErrorCodes } from '../dist/src/streams/index.js';
import { HttpErrorCodes } from '../dist/src/server/index.js';
import { AuthError, NotFoundError, RingstoreHttpError, SessionGoneError, VersionConflictError, errorFromResponse } from '../dist/src/client/index.js';
import { ERROR_CODES } from '../dist/src/error-codes.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ALL = Object.keys(ERROR_CODES).sort();
/** The codes the client raises on its own (no answer, an answer beyond its bounds, a bad option). */
const BY_CLIENT = ALL.filter((c) => (ERROR_CODES as Record<string, { by: string[] }>)[c]!.by.includes('client'));

/** Every file under `dir` (relative to the repository) whose name ends with one of `exts`. */
function sources(dir: string, exts: string[]): string[] {
  return readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => exts.some((e) => f.endsWith(e)))
    .map((f) => path.join(ROOT, dir, f));
}

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
  it('every store code crosses the wire with its code; conflicts and closes keep their class', () => {
    for (const code of Object.keys(ErrorCodes) as (keyof typeof ErrorCodes)[]) {
      const sent = code === 'RS_ERR_CONFLICT' ? new ConflictError('k', 1, 2) : new RingstoreError(code, `m ${code}`, { n: 1 });
      const back = errorFromWire(structuredClone(sent.toWire()));
      expect(back).toBeInstanceOf(RingstoreError);
      expect(back.code).toBe(code);
      expect(back.message).toBe(sent.message);
    }
    expect(errorFromWire(new ClosedError('bye').toWire())).toBeInstanceOf(ClosedError);
    expect(errorFromWire(new ConflictError('k', 1, 2).toWire())).toBeInstanceOf(ConflictError);
  });
});

describe('one source of codes (src/error-codes.ts)', () => {
  it('the store, streams and daemon tables are views of it, and every code is in one of them or the client\'s', () => {
    const meaning = (c: string): string => (ERROR_CODES as Record<string, { meaning: string }>)[c]!.meaning;
    for (const [code, m] of Object.entries(ErrorCodes)) expect(m).toBe(meaning(code));
    for (const [code, m] of Object.entries(StreamErrorCodes)) expect(m).toBe(meaning(code));
    for (const [code, v] of Object.entries(HttpErrorCodes)) expect(v).toEqual((ERROR_CODES as Record<string, { http?: unknown }>)[code]!.http);
    expect(BY_CLIENT).toEqual(['RS_ERR_INVALID_OPTION', 'RS_ERR_NETWORK', 'RS_ERR_RESPONSE_TOO_LARGE', 'RS_ERR_TIMEOUT']);
    const covered = new Set([...Object.keys(ErrorCodes), ...Object.keys(StreamErrorCodes), ...Object.keys(HttpErrorCodes), ...BY_CLIENT]);
    expect([...covered].sort()).toEqual(ALL);
    // The views are frozen: nobody adds a code beside the table.
    for (const view of [ErrorCodes, StreamErrorCodes, HttpErrorCodes]) expect(Object.isFrozen(view)).toBe(true);
  });

  it('every RS_ERR_ code named in src/ (the dashboard included) is in the table', () => {
    const files = sources('src', ['.ts', '.js']);
    expect(files.length).toBeGreaterThan(50);
    const named = new Set<string>();
    for (const f of files) for (const m of readFileSync(f, 'utf8').matchAll(/\bRS_ERR_[A-Z]+(?:_[A-Z]+)*\b/g)) named.add(m[0]);
    named.delete('RS_ERR_KV'); // "RS_ERR_KV_*" in a comment
    expect([...named].filter((c) => !ALL.includes(c))).toEqual([]);
    // And the table holds nothing the code never raises or names.
    expect(ALL.filter((c) => !named.has(c))).toEqual([]);
  });

  it('every code the daemon can send is known to the client, with its one status and the class of that status', () => {
    const classOf = (status: number, code: string): unknown =>
      code === 'RS_ERR_CONFLICT' || code === 'RS_ERR_STORE_VERSION_MISMATCH' ? VersionConflictError
        : status === 401 || status === 403 ? AuthError
          : status === 404 ? NotFoundError
            : status === 410 ? SessionGoneError
              : RingstoreHttpError;
    const entries = Object.entries(HttpErrorCodes);
    expect(entries.length).toBeGreaterThan(30);
    for (const [code, { status }] of entries) {
      expect(Number.isInteger(status) && status >= 400 && status <= 599).toBe(true);
      const e = errorFromResponse(status, { error: { code, message: 'm', expected: 1, actual: 2 } }, 'req-1');
      expect(e).toBeInstanceOf(classOf(status, code));
      expect(e).toMatchObject({ code, status, message: 'm', requestId: 'req-1' });
      expect(e.details?.serverCode).toBeUndefined();
    }
    // Backend-level codes never reach HTTP; the client does not take them (or any unknown code) as the daemon's.
    for (const [code, status] of [['RS_ERR_KV_CONCURRENCY', 409], ['RS_ERR_FROM_A_NEWER_DAEMON', 503], ['RS_ERR_NETWORK', 400]] as const) {
      const e = errorFromResponse(status, { error: { code, message: 'm' } }, undefined);
      expect(e).toMatchObject({ code: status >= 500 ? 'RS_ERR_INTERNAL' : 'RS_ERR_BAD_REQUEST', status, details: { serverCode: code } });
    }
  });

  it('the client section of docs/daemon.md names every code the client raises on its own', () => {
    const daemon = readFileSync(new URL('../docs/daemon.md', import.meta.url), 'utf8');
    const start = daemon.indexOf('\n## Client\n');
    expect(start).toBeGreaterThan(0);
    const end = daemon.indexOf('\n## ', start + 1);
    const section = daemon.slice(start, end < 0 ? undefined : end);
    expect(BY_CLIENT.filter((c) => !section.includes(`\`${c}\``))).toEqual([]);
  });

  it('docs/daemon.md lists every code the daemon sends with its status and meaning, as the source says', () => {
    const daemon = readFileSync(new URL('../docs/daemon.md', import.meta.url), 'utf8');
    const rows = [...daemon.matchAll(/^\| `(RS_ERR_[A-Z_]+)` \| (\d{3}) \| (.*) \|$/gm)].map((m) => [m[1], Number(m[2]), m[3]]);
    const table = Object.entries(HttpErrorCodes).map(([code, v]) => [code, v.status, v.meaning]);
    expect(rows.sort()).toEqual(table.sort());
  });
});
