/**
 * The JetStream side of the {@link NatsBackend}: one subject per shard, one
 * message per committed batch (or a chain of parts for a batch larger than a
 * message), each published on condition that the subject's last sequence is
 * still the one the writer's state was built from
 * (`Nats-Expected-Last-Subject-Sequence`). Catching up reads the messages a
 * state has not applied yet: the last one alone when it directly follows (the
 * common case: one message written by another process), else each by
 * `next_by_subj`, or through an ordered consumer when many are missing.
 *
 * I/O failures that a retry can cure (timeouts, no responders during a leader
 * election or a reconnect) are retried until the write deadline, with the
 * same message id: JetStream deduplicates a retry whose first attempt was
 * stored after all, because the deadline is shorter than the stream's
 * duplicate window.
 */
import { errors, RequestError, type MsgHdrs } from '@nats-io/transport-node';
import { DeliverPolicy, JetStreamApiError, type JetStreamClient, type JetStreamManager, type PubAck } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { MessageHeader, ShardState } from './nats-shard.js';
import { CLUSTER_NOT_AVAILABLE, WRONG_LAST_SEQUENCE } from './jetstream-codes.js';

/** Missing messages fetched one by one (`next_by_subj`) before an ordered consumer is used. */
const FETCH_ONE_BY_ONE = 8;
/** Bytes kept free in a message for the protocol headers (message id, expected sequence). */
const HEADER_ROOM = 512;
const NEWLINE = 0x0a;
const EXPECTED_HEADER = 'Nats-Expected-Last-Subject-Sequence';

/** The subject sequence a stored message was published conditionally on (server-enforced), if it was. */
export function previousOf(headers: MsgHdrs | undefined): number | undefined {
  const v = headers?.get(EXPECTED_HEADER);
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** Encodes a shard message: the header as one JSON line, then the body bytes. */
export function encodeMessage(h: MessageHeader, body: Uint8Array): Uint8Array {
  const head = Buffer.from(`${JSON.stringify(h)}\n`, 'utf8');
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}

/** Decodes a shard message; the header is undefined when the payload is not one. */
export function decodeMessage(data: Uint8Array): { h: MessageHeader | undefined; body: Uint8Array } {
  const nl = data.indexOf(NEWLINE);
  if (nl < 0) return { h: undefined, body: data };
  let h: MessageHeader | undefined;
  try {
    const parsed = JSON.parse(Buffer.from(data.buffer, data.byteOffset, nl).toString('utf8')) as MessageHeader;
    const ok = parsed !== null && typeof parsed === 'object' && typeof parsed.s === 'string' && Number.isSafeInteger(parsed.n)
      && typeof parsed.b === 'string' && Number.isSafeInteger(parsed.a) && Number.isSafeInteger(parsed.i) && Number.isSafeInteger(parsed.k) && parsed.k >= 1 && parsed.i < parsed.k;
    h = ok ? parsed : undefined;
  } catch {
    h = undefined;
  }
  return { h, body: data.subarray(nl + 1) };
}

/** Whether a NATS failure may go away on retry (the connection is reconnecting, a leader is being elected). */
export function isTransient(err: unknown): boolean {
  if (err instanceof errors.TimeoutError || err instanceof errors.NoRespondersError || err instanceof RequestError) return true;
  // "jetstream is not enabled": nobody answered (the client does not export this class).
  if (err instanceof Error && err.name === 'JetStreamNotEnabled') return true;
  // 503: JetStream answered but is not ready (e.g. no stream leader yet).
  if (err instanceof JetStreamApiError) return err.status === 503 || err.code === CLUSTER_NOT_AVAILABLE;
  return false;
}

/** What a {@link ShardLog} needs from its backend. */
export interface ShardLogOptions {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  /** The JetStream stream holding every shard subject. */
  readonly stream: string;
  /** Timeout of one request (publish, message get), ms. */
  readonly requestTimeoutMs: number;
  /** How long an operation retries transient failures, ms (shorter than the duplicate window). */
  readonly writeTimeoutMs: number;
  /** The largest payload the server accepts now (it can change after a reconnect). */
  readonly maxPayload: () => number;
  /** Largest body of one part, bytes (default: what the payload limit leaves). */
  readonly maxPartBytes: number | undefined;
  readonly logger: Logger;
}

/** Outcome of {@link ShardLog.commit}. */
export type CommitOutcome = { readonly seq: number } | 'conflict';

/** Reads and appends shard messages. */
export class ShardLog {
  readonly #o: ShardLogOptions;

  constructor(options: ShardLogOptions) {
    this.#o = options;
  }

  /** Runs `fn` again on transient failures until the write deadline. */
  async #retrying<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.#o.writeTimeoutMs;
    let wait = 50;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (!isTransient(err) || Date.now() + wait >= deadline) throw err;
        this.#o.logger.warn({ err: (err as Error).message, what, attempt }, 'nats: transient failure, retrying');
        await new Promise((r) => setTimeout(r, wait));
        wait = Math.min(wait * 2, 1_000);
      }
    }
  }

  #apply(state: ShardState, data: Uint8Array, headers: MsgHdrs | undefined, seq: number): void {
    const { h, body } = decodeMessage(data);
    if (state.apply(h, previousOf(headers), body, seq) === 'skipped') this.#o.logger.warn({ subject: state.subject, seq }, 'nats: skipped a message that is not the next of its shard');
  }

  /**
   * Applies to `state` every message of its subject it has not applied yet.
   * @throws when the subject holds fewer messages than the state applied (it was purged)
   */
  async catchUp(state: ShardState): Promise<void> {
    const { jsm, stream } = this.#o;
    const last = await this.#retrying('get last', () => jsm.streams.getMessage(stream, { last_by_subj: state.subject }));
    const lastSeq = last?.seq ?? 0;
    if (lastSeq === state.seq) return;
    if (lastSeq < state.seq) throw new Error(`nats: subject ${state.subject} of stream ${stream} ends at sequence ${lastSeq}, before the ${state.seq} already read (purged?)`);
    // The last message directly follows the state (the server checked it did when it stored it).
    if (previousOf(last!.header) === state.seq) {
      this.#apply(state, last!.data, last!.header, lastSeq);
      return;
    }
    const { h } = decodeMessage(last!.data);
    const missing = h === undefined ? Infinity : h.n - state.count;
    if (missing <= FETCH_ONE_BY_ONE) {
      while (state.seq < lastSeq) {
        const from = state.seq + 1;
        // `next_by_subj` is supported by the server since 2.9 (the client types it for direct gets only).
        const m = await this.#retrying('get next', () => jsm.streams.getMessage(stream, { seq: from, next_by_subj: state.subject } as unknown as { seq: number }));
        if (m === null) throw new Error(`nats: subject ${state.subject} lost message ${lastSeq} while catching up`);
        this.#apply(state, m.data, m.header, m.seq);
      }
      return;
    }
    await this.#replay(state, lastSeq);
  }

  /** Reads the subject from `state.seq + 1` to `target` through an ordered consumer. */
  async #replay(state: ShardState, target: number): Promise<void> {
    const { js, stream } = this.#o;
    const deadline = Date.now() + this.#o.writeTimeoutMs;
    const consumer = await this.#retrying('replay', () =>
      js.consumers.get(stream, { filter_subjects: state.subject, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: state.seq + 1 }),
    );
    try {
      while (state.seq < target) {
        if (Date.now() >= deadline) throw new errors.TimeoutError();
        const batch = await consumer.fetch({ max_messages: 1_000, expires: Math.max(1_000, Math.min(5_000, deadline - Date.now())) });
        for await (const m of batch) {
          if (m.seq > state.seq) this.#apply(state, m.data, m.headers, m.seq);
          if (state.seq >= target) break;
        }
      }
    } finally {
      await consumer.delete().catch(() => undefined);
    }
  }

  /**
   * Publishes `body` (the JSON writes of one batch) as the next message(s) of
   * `state`'s subject, applying each to `state` once acknowledged.
   * @returns the stream sequence of the commit, or `'conflict'` when the
   *   subject moved on: another writer got there first (nothing of this
   *   attempt takes effect), or this attempt itself did, unbeknown (the
   *   caller catches up and finds it, see `ShardState.watch`)
   */
  async commit(state: ShardState, body: Uint8Array, batchId: string, attempt: number): Promise<CommitOutcome> {
    const m = Number.MAX_SAFE_INTEGER;
    const headerBytes = Buffer.byteLength(JSON.stringify({ s: state.shard, n: m, b: batchId, a: attempt, i: m, k: m })) + 1;
    const budget = this.#o.maxPartBytes ?? this.#o.maxPayload() - HEADER_ROOM - headerBytes;
    if (budget <= 0) throw new Error(`nats: shard "${state.shard}" is too long for a message header`);
    const k = Math.max(1, Math.ceil(body.length / budget));
    for (let i = 0; i < k; i++) {
      const part = body.subarray(i * budget, Math.min(body.length, (i + 1) * budget));
      const expected = state.seq;
      const h: MessageHeader = { s: state.shard, n: state.count + 1, b: batchId, a: attempt, i, k };
      const payload = encodeMessage(h, part);
      let ack: PubAck;
      try {
        ack = await this.#retrying('publish', () =>
          this.#o.js.publish(state.subject, payload, { msgID: `${batchId}.${attempt}.${i}`, expect: { lastSubjectSequence: expected }, timeout: this.#o.requestTimeoutMs }),
        );
      } catch (err) {
        if (err instanceof JetStreamApiError && err.code === WRONG_LAST_SEQUENCE) return 'conflict';
        throw err;
      }
      // A duplicate's seq names the first copy; one that does not follow `expected` cannot be ours
      // (a dedup record with no sequence yet): let the caller catch up and look for the batch.
      if (ack.duplicate && !(ack.seq > expected)) return 'conflict';
      // The publish was conditional on `expected`, so nothing came between: apply it as a replay would.
      state.apply(h, expected, part, ack.seq);
    }
    return { seq: state.seq };
  }
}
