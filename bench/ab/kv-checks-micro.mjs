// Cost of KeyValueBackend argument checks (checkOps) per 4-op append batch, main's build against this one:
// node bench/ab/kv-checks-micro.mjs [<old dist>] [<new dist>]
const mk = (dist) => import(dist + '/src/streams/backends/validate.js');
const [oldDist = '/work/main/dist', newDist = 'dist'] = process.argv.slice(2);
const nw = await mk(new URL(newDist, 'file://' + process.cwd() + '/').pathname); const old = await mk(new URL(oldDist, 'file://' + process.cwd() + '/').pathname);
const P = 'EventStores/A/17/';
const ops = (i) => [{ op: 'check', key: P + 'l', etag: 'x' }, { op: 'set', key: P + 'h', value: { version: i }, etag: 'y' }, { op: 'add', key: P + 'e/' + String(i).padStart(16, '0'), value: {} }, { op: 'add', key: P + 'i/' + 'id' + i, value: i }];
for (let r = 0; r < 3; r++) for (const [name, m] of [['main', old], ['branch', nw]]) {
  const t0 = performance.now(); for (let i = 0; i < 300000; i++) m.checkOps(ops(i)); const ms = performance.now() - t0;
  console.log(r, name, (ms / 300000 * 1e6).toFixed(0), 'ns per 4-op batch (incl. building the ops)');
}
