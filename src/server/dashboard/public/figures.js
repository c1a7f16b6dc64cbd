// Renders the API's answers as they are: GET /stats (ingest, partitions,
// latency), GET /stats/top-streams and GET /metrics/top. No figure is computed
// here, only formatted.
import { el, fmtDuration, fmtInt, fmtMs, fmtNum, fmtPct, fmtRate, setRows, setText } from './dom.js';

const STORES = [['streams', '/streams'], ['metrics', '/metrics']];
const last = (a) => (a.length === 0 ? null : a[a.length - 1]);

function partitionTable(name, label, store) {
  const rows = store.partitions.map((p) =>
    el('tr', { dataset: { store: name, partition: String(p.partition) } },
      el('td', {}, String(p.partition)),
      el('td', { className: 'fill' }, el('meter', { min: 0, max: 1, low: 0.75, high: 0.95, optimum: 0, value: p.fill }), ' ', el('span', { dataset: { field: 'fill' } }, fmtPct(p.fill))),
      el('td', { className: 'num', dataset: { field: 'live' } }, fmtInt(p.live)),
      el('td', { className: 'num', dataset: { field: 'capacity' } }, fmtInt(p.capacity)),
      el('td', { className: 'num', dataset: { field: 'discarded' } }, fmtInt(p.discarded)),
      el('td', { className: 'num', dataset: { field: 'restarts' } }, fmtInt(p.restarts))));
  const total = el('tr', { className: 'total', dataset: { store: name, partition: 'all' } },
    el('td', {}, 'all'),
    el('td', { className: 'fill' }, el('span', { dataset: { field: 'fill' } }, fmtPct(store.fill))),
    el('td', { className: 'num', dataset: { field: 'live' } }, fmtInt(store.live)),
    el('td', { className: 'num', dataset: { field: 'capacity' } }, fmtInt(store.capacity)),
    el('td', { className: 'num', dataset: { field: 'discarded' } }, fmtInt(store.discarded)),
    el('td', { className: 'num', dataset: { field: 'restarts' } }, fmtInt(store.restarts)));
  return el('table', { className: 'partitions', dataset: { store: name } },
    el('caption', {}, `${label} ring store`),
    el('thead', {}, el('tr', {}, ...['partition', 'fill', 'live', 'capacity', 'discarded', 'restarts'].map((h, i) => el('th', { className: i > 1 ? 'num' : '' }, h)))),
    el('tbody', {}, ...rows, total));
}

/** Draws one GET /stats answer. */
export function renderStats(stats, chart) {
  setText('uptime', `up ${fmtDuration(stats.uptimeSeconds)}`);
  for (const [name] of STORES) {
    setText(`ingest-${name}-now`, fmtRate(last(stats.ingest[name])));
    setText(`ingest-${name}-committed`, fmtInt(stats.stores[name].committed));
  }
  chart.update(stats.ingest);
  document.getElementById('partition-tables').replaceChildren(...STORES.map(([name, label]) => partitionTable(name, label, stats.stores[name])));

  const lat = stats.latency;
  setText('latency-window', `last ${Math.round(lat.windowSeconds)} s, estimated from the histogram buckets`);
  setText('latency-p50', fmtMs(lat.all.p50Ms));
  setText('latency-p99', fmtMs(lat.all.p99Ms));
  setText('latency-count', fmtInt(lat.all.count));
  setRows(document.querySelector('#latency-routes tbody'), lat.routes.slice(0, 12).map((r) =>
    el('tr', { dataset: { route: `${r.method} ${r.route}` } },
      el('td', {}, el('code', {}, `${r.method} ${r.route}`)),
      el('td', { className: 'num', dataset: { field: 'count' } }, fmtInt(r.count)),
      el('td', { className: 'num', dataset: { field: 'p50' } }, fmtMs(r.p50Ms)),
      el('td', { className: 'num', dataset: { field: 'p99' } }, fmtMs(r.p99Ms)))));
  // The answer this rendering shows: lets a test pair what it reads here with what the API said.
  document.body.dataset.statsTime = String(stats.time);
}

/** Draws GET /stats/top-streams; a click on a stream calls `onPick(stream)`. */
export function renderTopStreams(list, onPick) {
  const items = list.map((s) => {
    const button = el('button', { type: 'button', className: 'link', title: `tail ${s.stream}` }, s.stream);
    button.addEventListener('click', () => onPick(s.stream));
    return el('li', { dataset: { key: s.stream } }, button, el('span', { className: 'num', dataset: { field: 'value' } }, fmtInt(s.events)));
  });
  document.getElementById('top-streams').replaceChildren(...(items.length > 0 ? items : [el('li', { className: 'empty' }, 'no events held')]));
  document.getElementById('stream-names').replaceChildren(...list.map((s) => el('option', { value: s.stream })));
}

/** Draws GET /metrics/top. */
export function renderTopLabels(list) {
  const items = list.map((m) => el('li', { dataset: { key: m.key } }, el('span', {}, m.key), el('span', { className: 'num', dataset: { field: 'value' } }, fmtNum(m.value))));
  document.getElementById('top-labels').replaceChildren(...(items.length > 0 ? items : [el('li', { className: 'empty' }, 'no metrics held')]));
}
