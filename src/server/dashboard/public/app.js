// The dashboard: polls GET /stats every second and the top lists every few
// seconds, and wires the token dialog, the live tail and the versioned
// streams browser. Every figure shown is one the API answered.
import { api, onTokenNeeded, token } from './api.js';
import { ingestChart } from './chart.js';
import { setStatus, setText } from './dom.js';
import { renderStats, renderTopLabels, renderTopStreams } from './figures.js';
import { setUpTail } from './tail.js';
import { setUpVersioned } from './versioned.js';

const STATS_MS = 1000;
const TOP_EVERY = 3; // top lists every third /stats poll
const TOP_K = 10;

// ---- token: asked when the daemon has one and this tab does not, or when a request is refused.
const dialog = document.getElementById('token-dialog');
const tokenInput = document.getElementById('token-input');
const tokenError = document.getElementById('token-error');
let pendingAsk;
let authOn = false;

function showAuthState() {
  const button = document.getElementById('token-button');
  button.hidden = !authOn;
  button.textContent = token.get() ? 'Token ✓' : 'Set token…';
  setText('auth-state', authOn ? (token.get() ? 'token set (this tab)' : 'writes need a token') : 'no --token');
}

/** Shows the dialog; resolves true once a token the daemon accepts is stored, false if the user declines. */
function askForToken(reason) {
  pendingAsk ??= new Promise((resolve) => {
    tokenError.textContent = reason?.status === 403 ? 'The daemon refused the stored token.' : '';
    tokenInput.value = '';
    const finish = (ok) => {
      dialog.close();
      pendingAsk = undefined;
      showAuthState();
      resolve(ok);
    };
    dialog.onsubmit = async (e) => {
      e.preventDefault();
      const candidate = tokenInput.value.trim();
      try {
        await api('POST', '/auth/check', { bearer: candidate });
        token.set(candidate);
        finish(true);
      } catch (err) {
        tokenError.textContent = err.status === 403 || err.status === 401 ? `Refused (${err.status}): not this daemon's token.` : err.message;
      }
    };
    dialog.querySelector('#token-cancel').onclick = () => finish(false);
    dialog.querySelector('#token-forget').onclick = () => {
      token.clear();
      finish(false);
    };
    dialog.oncancel = () => finish(false);
    dialog.showModal();
    tokenInput.focus();
  });
  return pendingAsk;
}
onTokenNeeded(askForToken);
document.getElementById('token-button').addEventListener('click', () => askForToken());

// ---- polling
const chart = ingestChart(document.getElementById('ingest-chart'));
const tail = setUpTail();
setUpVersioned();
const statusEl = document.getElementById('status');
let polls = 0;

async function poll() {
  try {
    const stats = await api('GET', '/stats');
    renderStats(stats, chart);
    if (stats.auth !== authOn || polls === 0) {
      authOn = stats.auth;
      showAuthState();
      if (authOn && !token.get() && polls === 0) void askForToken();
    }
    if (polls % TOP_EVERY === 0) {
      const [streams, labels] = await Promise.all([api('GET', `/stats/top-streams?k=${TOP_K}`), api('GET', `/metrics/top?k=${TOP_K}`)]);
      renderTopStreams(streams, tail);
      renderTopLabels(labels);
    }
    polls++;
    setStatus(statusEl, 'live', `live · ${new Date(stats.time).toLocaleTimeString()}`);
  } catch (err) {
    setStatus(statusEl, 'error', `daemon unreachable: ${err.message}`);
  }
}

async function loop() {
  for (;;) {
    if (!document.hidden) await poll();
    await new Promise((resolve) => setTimeout(resolve, STATS_MS));
  }
}
void loop();
