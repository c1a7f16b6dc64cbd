// The daemon's HTTP API as the page uses it: same origin, JSON, and the bearer
// token (kept in this tab's sessionStorage) in the Authorization header of every
// request. Never in a URL: URLs end up in access logs.

const TOKEN_KEY = 'ringstore.token';

/** The token of this tab. */
export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** An error answer of the API: `{ error: { code, message } }` and its status. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Asked when a request is refused for its token (401/403); resolves true once a new token is stored. */
let askForToken = async () => false;

/** Sets the function that asks the user for a token. */
export function onTokenNeeded(ask) {
  askForToken = ask;
}

function headers(extra = {}, bearer = token.get()) {
  const h = { accept: 'application/json', ...extra };
  if (bearer) h.authorization = `Bearer ${bearer}`;
  return h;
}

async function errorOf(res) {
  const text = await res.text();
  try {
    const e = JSON.parse(text).error;
    return new ApiError(res.status, e.code, e.message);
  } catch {
    return new ApiError(res.status, 'HTTP_' + res.status, text.slice(0, 200) || res.statusText);
  }
}

/**
 * One request: the parsed JSON answer (null for an empty one). A 401 or 403
 * asks for a token and retries as long as the user gives one.
 * @param {string} method
 * @param {string} path
 * @param {{ body?: unknown, bearer?: string, signal?: AbortSignal }} [options] `bearer` overrides the stored token (and is not retried)
 */
export async function api(method, path, { body, bearer, signal } = {}) {
  for (;;) {
    const res = await fetch(path, {
      method,
      headers: headers(body === undefined ? {} : { 'content-type': 'application/json' }, bearer ?? token.get()),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      cache: 'no-store',
      signal,
    });
    if (res.ok) {
      const text = await res.text();
      return text === '' ? null : JSON.parse(text);
    }
    const err = await errorOf(res);
    if ((res.status === 401 || res.status === 403) && bearer === undefined && (await askForToken(err))) continue;
    throw err;
  }
}

/** A stream name as a URL path: each segment encoded, the slashes kept. */
export const streamPath = (stream) => stream.split('/').map(encodeURIComponent).join('/');

/**
 * Server-sent events read with fetch, so the token travels in a header
 * (EventSource cannot send one). Yields `{ id, event, data }` per message;
 * calls `onOpen` once the daemon answered. Ends when the daemon closes the
 * stream; throws on an error answer or when `signal` aborts.
 */
export async function* serverSentEvents(path, { signal, lastEventId, onOpen }) {
  const extra = { accept: 'text/event-stream' };
  if (lastEventId !== undefined) extra['last-event-id'] = String(lastEventId);
  const res = await fetch(path, { headers: headers(extra), cache: 'no-store', signal });
  if (!res.ok) throw await errorOf(res);
  onOpen?.();
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let message = { id: undefined, event: 'message', data: [] };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, end).replace(/\r$/, '');
      buffer = buffer.slice(end + 1);
      if (line === '') {
        if (message.data.length > 0) yield { id: message.id, event: message.event, data: message.data.join('\n') };
        message = { id: message.id, event: 'message', data: [] };
      } else if (!line.startsWith(':')) {
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const v = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') message.data.push(v);
        else if (field === 'event') message.event = v;
        else if (field === 'id') message.id = v;
      }
    }
  }
}
