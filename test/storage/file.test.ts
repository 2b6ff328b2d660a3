import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileEventStore } from '../../src/storage/file/file-store.ts';
import type { EventStore } from '../../src/storage/types.ts';
import { describeEventStoreConformance } from './conformance.ts';

describeEventStoreConformance('file', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'factum-file-'));
  let store: EventStore = new FileEventStore({ dataDir });
  await store.open();
  return {
    store,
    reopen: async () => {
      await store.close();
      store = new FileEventStore({ dataDir });
      await store.open();
      return store;
    },
    cleanup: async () => {
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
});
