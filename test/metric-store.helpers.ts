/** Helpers shared by the MetricStore test files. */
import { expect } from 'vitest';
import { RingstoreError } from '../dist/src/errors.js';

/** The code of the `RingstoreError` that `fn` throws (asserting it is one), or `undefined` if it returns. */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RingstoreError);
    return (err as RingstoreError).code;
  }
  return undefined;
}
