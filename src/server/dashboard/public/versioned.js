// Browser of versioned streams (the /sessions routes). A session is exclusive,
// so each read opens one that fails at once if a writer holds the stream
// (openTimeoutMs 0), reads a page of events and the snapshot list, and closes
// it: the page never keeps a stream from its writers.
import { api, ApiError } from './api.js';
import { el, setRows, setStatus, setText } from './dom.js';

const PAGE = 20;
const RECENT_KEY = 'ringstore.versioned.recent';

/** Opens a session on `stream`, runs `read(sessionPath, version)`, closes the session. */
async function withSession(stream, read) {
  const s = await api('POST', '/sessions', { body: { stream, openTimeoutMs: 0, sessionTimeoutMs: 10_000 } });
  const path = `/sessions/${encodeURIComponent(s.sessionId)}`;
  try {
    return { storeId: `${s.stream.database}/${s.stream.name}/${s.stream.id}`, version: s.version, ...(await read(path, s.version)) };
  } finally {
    await api('DELETE', path).catch(() => undefined);
  }
}

function eventRow(e) {
  return el('tr', { dataset: { version: String(e.version) } },
    el('td', { className: 'num' }, String(e.version)),
    el('td', {}, e.type),
    el('td', {}, el('code', {}, e.id)),
    el('td', {}, el('code', {}, JSON.stringify(e.data))));
}

function remember(stream) {
  const recent = [stream, ...JSON.parse(sessionStorage.getItem(RECENT_KEY) ?? '[]').filter((s) => s !== stream)].slice(0, 20);
  sessionStorage.setItem(RECENT_KEY, JSON.stringify(recent));
  document.getElementById('versioned-recent').replaceChildren(...recent.map((s) => el('option', { value: s })));
}

/** Wires the versioned streams form. */
export function setUpVersioned() {
  const form = document.getElementById('versioned-form');
  const input = document.getElementById('versioned-stream');
  const view = document.getElementById('versioned-view');
  const status = document.getElementById('versioned-status');
  const older = document.getElementById('versioned-older');
  const newer = document.getElementById('versioned-newer');
  const state = document.getElementById('versioned-snapshot-state');
  let shown; // { stream, last, version }

  const show = (state, text) => setStatus(status, state, text);

  /** Shows events up to version `upTo` (the head when undefined) and the snapshots; `snapshot` also shows that snapshot's state. */
  async function load(stream, upTo, snapshot) {
    show('loading', 'reading…');
    try {
      const r = await withSession(stream, async (path, version) => {
        const last = Math.min(upTo ?? version, version);
        const first = Math.max(1, last - PAGE + 1);
        const [slice, snaps, at] = await Promise.all([
          last === 0 ? { events: [] } : api('GET', `${path}/slice?first=${first}&last=${last}`),
          api('GET', `${path}/snapshots`),
          snapshot === undefined ? undefined : api('GET', `${path}/events?toVersion=${snapshot}&useSnapshot=true`),
        ]);
        return { first, last, events: slice.events, snapshots: snaps.versions, snapshotAt: at?.snapshot };
      });
      shown = { stream, last: r.last, version: r.version };
      remember(stream);
      view.hidden = false;
      setText('versioned-id', r.storeId);
      setText('versioned-version', String(r.version));
      setText('versioned-range', r.last === 0 ? 'none' : `${r.first}–${r.last} of ${r.version}`);
      setRows(document.querySelector('#versioned-events tbody'), [...r.events].reverse().map(eventRow));
      older.disabled = r.first <= 1;
      newer.disabled = r.last >= r.version;
      setText('versioned-snapshot-count', `${r.snapshots.length}`);
      document.getElementById('versioned-snapshots').replaceChildren(...r.snapshots.map((v) => {
        const b = el('button', { type: 'button', className: v === snapshot ? 'chip selected' : 'chip' }, `v${v}`);
        b.addEventListener('click', () => load(stream, shown.last, v));
        return el('li', { dataset: { version: String(v) } }, b);
      }));
      state.textContent = r.snapshotAt === undefined ? '' : `state at v${r.snapshotAt.version} (${r.snapshotAt.createdAt}):\n${JSON.stringify(r.snapshotAt.state, null, 2)}`;
      show('ok', `read at ${new Date().toLocaleTimeString()}`);
    } catch (err) {
      const held = err instanceof ApiError && err.code === 'RS_ERR_STORE_OPEN_FAILED';
      show('error', held ? 'held by another session (a writer): try again once it is released' : err.message);
    }
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    load(input.value.trim());
  });
  older.addEventListener('click', () => load(shown.stream, Math.max(PAGE, shown.last - PAGE)));
  newer.addEventListener('click', () => load(shown.stream, shown.last + PAGE));
}
