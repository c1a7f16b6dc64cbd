/**
 * Finding keys an options object or an event does not know, so that they are
 * refused: a misspelt one (`expectedVerson`, `sessionTimout`) would otherwise
 * be ignored, and an append meant to be conditional would commit unconditionally.
 */

/** The first own key of `o` not in `known`, or undefined. */
export function unknownKey(o: object, known: ReadonlySet<string>): string | undefined {
  for (const k in o) if (Object.hasOwn(o, k) && !known.has(k)) return k;
  return undefined;
}

/** `"<what>.<key> is not known (use a, b)"`. */
export function unknownKeyMessage(what: string, key: string, known: ReadonlySet<string>): string {
  return `${what}.${key} is not known (use ${[...known].join(', ')})`;
}
