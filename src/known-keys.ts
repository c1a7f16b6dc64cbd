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

/**
 * The keys of an options type, from a record that names each of them: `keySet<OpenOptions>({ signal: 1, ... })`.
 * The record must name every key of `T` and nothing else, so an option added to an interface and not to
 * its list fails to compile instead of being refused at run time.
 */
export function keySet<T>(keys: Record<keyof T, 1>): ReadonlySet<string> {
  return new Set(Object.keys(keys));
}

/** `"<what>.<key> is not known (use a, b)"`. */
export function unknownKeyMessage(what: string, key: string, known: ReadonlySet<string>): string {
  return `${what}.${key} is not known (use ${[...known].join(', ')})`;
}
