// Live tail of one stream: GET /streams/{stream}/subscribe (server-sent events,
// read with fetch so the token stays in a header), starting a few events
// before the newest held, newest row first. Reconnects after a drop with
// Last-Event-ID, as the route supports.
import { api, serverSentEvents, streamPath } from './api.js';
import { el, setRows, setStatus } from './dom.js';

/** Rows kept on the page. */
const ROWS = 50;
/** Events already held that the tail starts with. */
const BACKLOG = 20;
const RECONNECT_MS = 1000;

/** The version a tail starts at: BACKLOG events before the newest held (1 for an empty stream). */
async function startVersion(path, signal) {
  const [oldest] = await api('GET', `/streams/${path}?limit=1`, { signal });
  if (oldest === undefined) return 1;
  const { totalEvents } = await api('GET', `/streams/${path}?aggregate=true`, { signal });
  return Math.max(oldest.version, oldest.version + totalEvents - BACKLOG);
}

function row(item) {
  const { version, id, timestamp, ...rest } = item;
  return el('tr', { dataset: { version: String(version) } },
    el('td', { className: 'num' }, String(version)),
    el('td', {}, el('code', {}, String(id))),
    el('td', {}, String(timestamp ?? '')),
    el('td', {}, el('code', {}, JSON.stringify(rest))));
}

/** Wires the tail form; returns `tail(stream)` to start one from elsewhere (the top streams list). */
export function setUpTail() {
  const form = document.getElementById('tail-form');
  const input = document.getElementById('tail-stream');
  const stop = document.getElementById('tail-stop');
  const status = document.getElementById('tail-status');
  const tbody = document.querySelector('#tail-events tbody');
  let current;

  const show = (state, text) => setStatus(status, state, text);

  async function run(stream, signal) {
    const path = streamPath(stream);
    let from = await startVersion(path, signal);
    let lastEventId;
    const rows = [];
    while (!signal.aborted) {
      try {
        const url = `/streams/${path}/subscribe?from=${from}`;
        for await (const m of serverSentEvents(url, { signal, lastEventId, onOpen: () => show('live', `live: ${stream}`) })) {
          if (m.event === 'error') throw new Error(JSON.parse(m.data).error.message);
          if (m.event !== 'event') continue;
          lastEventId = m.id;
          rows.unshift(row(JSON.parse(m.data)));
          rows.length = Math.min(rows.length, ROWS);
          setRows(tbody, rows);
        }
      } catch (err) {
        if (signal.aborted) return;
        if (err.status >= 400 && err.status < 500) return show('error', err.message);
      }
      if (lastEventId !== undefined) from = Number(lastEventId) + 1;
      show('reconnecting', `reconnecting to ${stream}…`);
      await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
    }
  }

  function tail(stream) {
    current?.abort();
    const controller = new AbortController();
    current = controller;
    input.value = stream;
    stop.disabled = false;
    setRows(tbody, []);
    show('connecting', `connecting to ${stream}…`);
    run(stream, controller.signal).catch((err) => {
      if (!controller.signal.aborted) show('error', err.message);
    });
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    tail(input.value.trim());
  });
  stop.addEventListener('click', () => {
    current?.abort();
    current = undefined;
    stop.disabled = true;
    show('idle', 'stopped');
  });
  return tail;
}
