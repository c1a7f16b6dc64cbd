/**
 * What one JetStream message of a replicated ring store holds: one operation,
 * as JSON. An append batch is one message whatever its number of events
 * (`r`), with its expected version (`e`) and ids (`i`) as the daemon that
 * received the POST fixed them; a clear or a purge is one message too, so
 * that every daemon applies it at the same point of the log.
 */

/** One operation of a ring store's log. */
export type RingOp<R> =
  | { readonly k: 'append'; readonly r: readonly R[]; readonly e?: number; readonly i?: readonly string[] }
  | { readonly k: 'clear' }
  | { readonly k: 'purge'; readonly before: number };

const encoder = new TextEncoder();

/** The message body of an operation. */
export function encodeOp<R>(op: RingOp<R>): Uint8Array {
  return encoder.encode(JSON.stringify(op));
}

/**
 * Reads a message body back; `undefined` when it is not an operation this
 * version writes (a foreign publisher on the subject): every daemon skips it
 * the same way.
 */
export function decodeOp<R>(data: Uint8Array): RingOp<R> | undefined {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== 'object') return undefined;
  const o = v as Record<string, unknown>;
  if (o.k === 'clear') return { k: 'clear' };
  if (o.k === 'purge') return typeof o.before === 'number' && Number.isFinite(o.before) ? { k: 'purge', before: o.before } : undefined;
  if (o.k !== 'append' || !Array.isArray(o.r) || o.r.length === 0) return undefined;
  if (o.e !== undefined && !(Number.isSafeInteger(o.e) && (o.e as number) >= 0)) return undefined;
  if (o.i !== undefined && !(Array.isArray(o.i) && o.i.length === o.r.length && o.i.every((x) => typeof x === 'string'))) return undefined;
  return o as unknown as RingOp<R>;
}
