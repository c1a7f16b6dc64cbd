import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LmdbBackend, ManualClock, MemoryBackend } from '../../dist/src/streams/index.js';
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
