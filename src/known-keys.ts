/**
 * Finding keys an options object, a query or an event does not know, so that
 * every public entry point refuses them: a misspelt one (`expectedVerson`,
 * `capcity`, `form`) would otherwise be ignored, and its default used silently
 * (an append meant to be conditional would commit unconditionally; a filter
 * would narrow nothing). Each caller throws its own typed error.
 */

/** The first own enumerable string key of `o` not in `known`, or undefined. Symbol keys are not looked at. */
export function unknownKey(o: object, known: ReadonlySet<string>): string | undefined {
  for (const k in o) if (Object.hasOwn(o, k) && !known.has(k)) return k;
  return undefined;
}

/** `"<what>.<key> is not known (use a, b)"`. */
export function unknownKeyMessage(what: string, key: string, known: ReadonlySet<string>): string {
  return `${what}.${key} is not known (use ${[...known].join(', ')})`;
}
