import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { LmdbBackend, ManualClock, MemoryBackend, NatsBackend } from '../../dist/src/streams/index.js';
import { sharedNatsServer, stopSharedNatsServer } from '../nats/server.js';
import { backendContract } from './backend-contract.js';

backendContract('memory', async () => {
  const clock = new ManualClock();
  const backend = new MemoryBackend({ clock });
  return { backend, clock, cleanup: () => backend.close() };
});

backendContract('lmdb', async () => {
  const clock = new ManualClock();
  const dir = mkdtempSync(join(tmpdir(), 'rs-lmdb-'));
  const backend = new LmdbBackend({ path: dir, clock, noSync: true });
  return {
    backend,
    clock,
    cleanup: async () => {
      await backend.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

afterAll(stopSharedNatsServer);
let natsStreams = 0;
backendContract('nats', async () => {
  const clock = new ManualClock();
  const n = `C${++natsStreams}`;
  const backend = await NatsBackend.connect({ servers: (await sharedNatsServer()).url, stream: n, subjectPrefix: `rs.${n}`, clock });
  return { backend, clock, cleanup: () => backend.close() };
});
