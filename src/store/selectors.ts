import type { Selector } from './options.js';

/** Turns a selector (property path or function) into a function. */
export function compileSelector<T, R>(selector: Selector<T, R>): (event: T) => R {
  if (typeof selector === 'function') return selector;
  const path = selector.split('.');
  if (path.length === 1) {
    const prop = path[0];
    return (event: T) => (event as Record<string, unknown> | null | undefined)?.[prop] as R;
  }
  return (event: T) => {
    let v: unknown = event;
    for (const p of path) {
      if (v === null || v === undefined) return undefined as R;
      v = (v as Record<string, unknown>)[p];
    }
    return v as R;
  };
}

