// Measures appends/s of ringstore/streams on the NATS backend against a local
// nats-server it starts itself (free port, temporary store, killed at the end).
// Not part of the test suite. Usage:
//   npm run build && node test/nats/append-rate.mjs [rounds]
import { NatsBackend, StreamStoreProvider } from '../../dist/src/streams/index.js';
import { startScriptServer } from './script-server.mjs';

const rounds = Number(process.argv[2] ?? 3);
const nats = await startScriptServer('rs-nats-rate-');
const url = nats.url;

const events = (n) => Array.from({ length: n }, (_, i) => ({ type: 'Deposited', data: { amount: i, note: 'x'.repeat(40) } }));

/** `count` appends of `size` events, spread over `streams` sessions appending concurrently. */
async function run(provider, name, size, count, streams) {
  const sessions = await Promise.all(Array.from({ length: streams }, (_, i) => provider.open(`${name}/${i}`)));
  const batch = events(size);
  const t0 = performance.now();
  await Promise.all(sessions.map(async (s, i) => {
    for (let k = i; k < count; k += streams) await s.append(batch);
  }));
  const s = (performance.now() - t0) / 1000;
  await Promise.all(sessions.map((x) => x.close()));
  return { appends: Math.round(count / s), events: Math.round((count * size) / s) };
}

try {
  const backend = await NatsBackend.connect({ servers: url, stream: 'RATE', subjectPrefix: 'rate' });
  const provider = new StreamStoreProvider({ backend });
  console.log(`nats-server at ${url}, file storage, R1; node ${process.version}`);
  for (let r = 1; r <= rounds; r++) {
    const one = await run(provider, `One${r}`, 1, 5_000, 1);
    const hundred = await run(provider, `Hundred${r}`, 100, 500, 1);
    const oneX16 = await run(provider, `OneX16r${r}`, 1, 10_000, 16);
    const hundredX16 = await run(provider, `HundredX16r${r}`, 100, 1_000, 16);
    console.log(
      `round ${r}: 1-event appends ${one.appends}/s; 100-event appends ${hundred.appends}/s (${hundred.events} events/s);` +
        ` 16 streams at once: 1-event ${oneX16.appends}/s, 100-event ${hundredX16.appends}/s (${hundredX16.events} events/s)`,
    );
  }
  await provider.close();
  await backend.close();
} finally {
  await nats.stop();
}
