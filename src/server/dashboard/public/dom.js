// Small DOM and formatting helpers. Text goes in with textContent only: stream
// names and event bodies are data, never markup.

/** `el('td', { className: 'num' }, 'text', child)`: an element with properties and children. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'dataset') Object.assign(node.dataset, v);
    else node[k] = v;
  }
  for (const c of children) node.append(c instanceof Node ? c : String(c));
  return node;
}

/** Sets the text of the element with this id. */
export function setText(id, text) {
  document.getElementById(id).textContent = text;
}

const intFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const rateFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });
const numFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 3 });

/** 12,345 */
export const fmtInt = (n) => (n === null || n === undefined ? '–' : intFormat.format(n));
/** 1,234.5 (events per second) */
export const fmtRate = (n) => (n === null || n === undefined ? '–' : rateFormat.format(n));
/** 1,234.567 (a sum) */
export const fmtNum = (n) => (n === null || n === undefined ? '–' : numFormat.format(n));
/** 0.123 ms, 1.23 ms, 12.3 ms, 123 ms; – when there is no figure */
export function fmtMs(ms) {
  if (ms === null || ms === undefined) return '–';
  const digits = ms < 1 ? 3 : ms < 10 ? 2 : ms < 100 ? 1 : 0;
  return `${ms.toFixed(digits)} ms`;
}
/** 12.5 % */
export const fmtPct = (ratio) => `${(ratio * 100).toFixed(1)} %`;
/** 1h 02m 03s */
export function fmtDuration(seconds) {
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h ${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m ${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** Sets a status line: its text, and its state (`data-state`, which the styles colour). */
export function setStatus(node, state, text) {
  node.dataset.state = state;
  node.textContent = text;
}

/** Replaces the rows of a table body. */
export function setRows(tbody, rows) {
  tbody.replaceChildren(...rows);
}
