/**
 * The waits of {@link RingstoreClient} before a retry: the `Retry-After` header
 * (RFC 9110 §10.2.3: delta-seconds or an HTTP-date), the client's own
 * exponential backoff with jitter, and the abortable sleep itself.
 */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MON = MONTHS.join('|');
const DAY = 'Mon|Tue|Wed|Thu|Fri|Sat|Sun';
const WEEKDAY = 'Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday';
/** `Sun, 06 Nov 1994 08:49:37 GMT`, the form senders must use. */
const IMF_FIXDATE = new RegExp(`^(?:${DAY}), (\\d{2}) (${MON}) (\\d{4}) (\\d{2}):(\\d{2}):(\\d{2}) GMT$`);
/** `Sunday, 06-Nov-94 08:49:37 GMT` (obsolete RFC 850 form, which recipients must still read). */
const RFC850_DATE = new RegExp(`^(?:${WEEKDAY}), (\\d{2})-(${MON})-(\\d{2}) (\\d{2}):(\\d{2}):(\\d{2}) GMT$`);
/** `Sun Nov  6 08:49:37 1994` (obsolete asctime form, which recipients must still read). */
const ASCTIME_DATE = new RegExp(`^(?:${DAY}) (${MON}) ( \\d|\\d{2}) (\\d{2}):(\\d{2}):(\\d{2}) (\\d{4})$`);

/** The longest delay a Node timer keeps (a longer one fires at once). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Epoch ms of a valid date and time, or undefined (Feb 31, hour 24…). */
function utc(year: number, month: string, day: string, hour: string, minute: string, second: string): number | undefined {
  const m = MONTHS.indexOf(month);
  const [d, h, mi, s] = [Number(day), Number(hour), Number(minute), Number(second)];
  if (h > 23 || mi > 59 || s > 60) return undefined; // 60: a leap second
  const t = Date.UTC(year, m, d, h, mi, Math.min(s, 59));
  // Date.UTC rolls Feb 31 over to March: a date that does not come back as given does not exist.
  return new Date(t).getUTCDate() === d && new Date(t).getUTCMonth() === m ? t : undefined;
}

/** Epoch ms of an HTTP-date in any of its three forms, or undefined. */
function httpDate(value: string, now: number): number | undefined {
  let m = IMF_FIXDATE.exec(value);
  if (m) return utc(Number(m[3]), m[2]!, m[1]!, m[4]!, m[5]!, m[6]!);
  m = ASCTIME_DATE.exec(value);
  if (m) return utc(Number(m[6]), m[1]!, m[2]!.trim(), m[3]!, m[4]!, m[5]!);
  m = RFC850_DATE.exec(value);
  if (m) {
    // A two-digit year: RFC 9110 §5.6.7 reads one more than 50 years ahead as the past century's;
    // likewise, one more than 50 years behind is taken as the next century's.
    const current = new Date(now).getUTCFullYear();
    let year = Math.floor(current / 100) * 100 + Number(m[3]);
    if (year > current + 50) year -= 100;
    else if (year < current - 50) year += 100;
    return utc(year, m[2]!, m[1]!, m[4]!, m[5]!, m[6]!);
  }
  return undefined;
}

/**
 * How long a `Retry-After` value asks to wait, in ms (0 or more), from `now`
 * (epoch ms, the client's clock, for an HTTP-date). Undefined when the header is
 * absent, unparsable (`-5`, `1.5`, `soon`, a malformed date) or a date already
 * past: the client then waits its own backoff.
 */
export function retryAfterMs(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value == null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = httpDate(v, now);
  return at === undefined || at < now ? undefined : at - now;
}

/** Settings of {@link retryWaitMs}. */
export interface BackoffSettings {
  /** The first backoff, doubled per retry (at most 2 s), with jitter. */
  baseMs: number;
  /** No wait is longer. */
  maxMs: number;
}

/**
 * The wait before retry `attempt` (1 for the first retry): the server's ask
 * (`askedMs`, already checked to be at most `maxMs`) or the client's own
 * backoff (half of it as jitter, so clients spread out), whichever is longer, and never more than `maxMs`.
 */
export function retryWaitMs(attempt: number, askedMs: number | undefined, settings: BackoffSettings): number {
  const exp = Math.min(2000, settings.baseMs * 2 ** (attempt - 1));
  const own = Math.min(settings.maxMs, exp / 2 + Math.random() * (exp / 2));
  return Math.max(askedMs ?? 0, own);
}

/** Resolves after `ms`, or at once when `signal` aborts (its timer cleared, so it keeps no process alive). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
