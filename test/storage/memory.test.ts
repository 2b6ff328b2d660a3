import { MemoryEventStore } from '../../src/storage/memory.ts';
import { describeEventStoreConformance } from './conformance.ts';

describeEventStoreConformance('memory', async () => {
  const store = new MemoryEventStore();
  await store.open();
  return { store, cleanup: () => store.close() };
});
