// Query and path coercion, compiled per route from its schema: only integer, number and boolean fields convert,
// and a value that does not convert stays a string for validation to reject.
import { describe, expect, it } from 'vitest';
import { compileCoercion } from '../../dist/src/server/params.js';

const request = (query: Record<string, unknown>, params: Record<string, unknown> = {}) => ({ query, params }) as never;

describe('compileCoercion', () => {
  it('is undefined when the route has nothing to convert', () => {
    expect(compileCoercion(undefined)).toBeUndefined();
    expect(compileCoercion({})).toBeUndefined();
    expect(compileCoercion({ querystring: { properties: { name: { type: 'string' } } } })).toBeUndefined();
  });

  it('converts numbers, integers (also in a type array) and booleans; leaves the rest', () => {
    const coerce = compileCoercion({
      querystring: { properties: { from: { type: 'integer' }, x: { type: ['number', 'null'] }, on: { type: 'boolean' }, name: { type: 'string' } } },
      params: { properties: { v: { type: 'integer' } } },
    })!;
    const r = request({ from: '12', x: '-1.5e3', on: 'false', name: '7' }, { v: '3' });
    coerce(r);
    expect(r).toEqual({ query: { from: 12, x: -1500, on: false, name: '7' }, params: { v: 3 } });
    const empty = request({ on: '' });
    coerce(empty);
    expect(empty).toEqual({ query: { on: true }, params: {} }); // `?on` alone means true
  });

  it('leaves values that do not convert as strings (validation then answers 400)', () => {
    const coerce = compileCoercion({ querystring: { properties: { from: { type: 'integer' }, on: { type: 'boolean' } } } })!;
    const r = request({ from: '12abc', on: 'yes' });
    coerce(r);
    expect(r).toEqual({ query: { from: '12abc', on: 'yes' }, params: {} });
    const arrays = request({ from: ['1', '2'] });
    coerce(arrays);
    expect(arrays).toEqual({ query: { from: ['1', '2'] }, params: {} });
  });
});
