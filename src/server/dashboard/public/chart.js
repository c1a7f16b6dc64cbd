// The ingest chart: uPlot (vendored from the package, no CDN), two series of
// events per second, exactly the points GET /stats answers.

const HEIGHT = 180;

/** A chart in `container`; `update(ingest)` draws the `ingest` part of a /stats answer. */
export function ingestChart(container) {
  const uPlot = globalThis.uPlot;
  const width = () => Math.max(240, container.clientWidth);
  const plot = new uPlot({
    width: width(),
    height: HEIGHT,
    legend: { live: true },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
    axes: [{}, { label: 'events/s', size: 60 }],
    series: [
      { label: 'time' },
      { label: '/streams', stroke: '#2563eb', fill: 'rgba(37, 99, 235, 0.08)', width: 2, value: (_u, v) => (v === null ? '–' : `${v}/s`) },
      { label: '/metrics', stroke: '#d97706', fill: 'rgba(217, 119, 6, 0.08)', width: 2, value: (_u, v) => (v === null ? '–' : `${v}/s`) },
    ],
  }, [[], [], []], container);
  new ResizeObserver(() => plot.setSize({ width: width(), height: HEIGHT })).observe(container);
  return {
    update(ingest) {
      plot.setData([ingest.t.map((t) => t / 1000), ingest.streams, ingest.metrics]);
      container.dataset.points = String(ingest.t.length);
    },
  };
}
