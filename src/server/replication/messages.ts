/**
 * What one JetStream message of a replicated ring store holds: one operation
 * (or a few from concurrent requests), as JSON. An append batch is one message whatever its number of events
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

/** One operation as JSON (the body of a message that holds only it). */
export function opJson<R>(op: RingOp<R>): string {
  return JSON.stringify(op);
}

/**
 * The body of a message holding the operations (their {@link opJson}s): the
 * operation itself when there is one, else `{ k: 'ops', o: [...] }`
 * (appends that reached one daemon while its previous publishes were in
 * flight share a message; each keeps its own outcome).
 */
export function encodeOps(jsons: readonly string[]): Uint8Array {
  return encoder.encode(jsons.length === 1 ? jsons[0]! : `{"k":"ops","o":[${jsons.join(',')}]}`);
}

/** One operation checked (undefined when it is not one this version writes). */
function checkOp<R>(v: unknown): RingOp<R> | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const o = v as Record<string, unknown>;
  if (o.k === 'clear') return { k: 'clear' };
  if (o.k === 'purge') return typeof o.before === 'number' && Number.isFinite(o.before) ? { k: 'purge', before: o.before } : undefined;
  if (o.k !== 'append' || !Array.isArray(o.r) || o.r.length === 0) return undefined;
  if (o.e !== undefined && !(Number.isSafeInteger(o.e) && (o.e as number) >= 0)) return undefined;
  if (o.i !== undefined && !(Array.isArray(o.i) && o.i.length === o.r.length && o.i.every((x) => typeof x === 'string'))) return undefined;
  return o as unknown as RingOp<R>;
}

/**
 * Reads a message body back: its operations, and whether it held several;
 * `undefined` when it is not a message this version writes (a foreign
 * publisher on the subject): every daemon skips it the same way.
 */
export function decodeOps<R>(data: Uint8Array): { ops: RingOp<R>[]; multi: boolean } | undefined {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
  } catch {
    return undefined;
  }
  if (v !== null && typeof v === 'object' && (v as { k?: unknown }).k === 'ops') {
    const list = (v as { o?: unknown }).o;
    if (!Array.isArray(list) || list.length === 0) return undefined;
    const ops = list.map((x) => checkOp<R>(x));
    return ops.every((x) => x !== undefined) ? { ops: ops as RingOp<R>[], multi: true } : undefined;
  }
  const op = checkOp<R>(v);
  return op === undefined ? undefined : { ops: [op], multi: false };
}

/** The key under which the daemon that published operation `index` of message `msgId` waits for it. */
export const opKey = (msgId: string, index: number, multi: boolean): string => (multi ? `${msgId}/${index}` : msgId);
