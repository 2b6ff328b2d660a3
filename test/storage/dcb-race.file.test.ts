/** The course-subscription race (dcb-race.ts) on the file store, several rounds, and again after a restart. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileEventStore } from '../../src/storage/file/file-store.ts';
import { runCourseRace } from './dcb-race.ts';

describe('file store: a DCB decision over two entities', () => {
  it('gives the course exactly its capacity and no student more than their limit, under races', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'factum-dcb-'));
    let store = new FileEventStore({ dataDir });
    await store.open();
    try {
      let conflicts = 0;
      for (let round = 1; round <= 3; round++) conflicts += (await runCourseRace(store, `school-${round}`)).conflicts;
      // Writers did collide (else the race tested nothing), and each collision was decided again.
      expect(conflicts).toBeGreaterThan(0);
      await store.close();
      store = new FileEventStore({ dataDir });
      await store.open();
      await runCourseRace(store, 'school-after-restart');
    } finally {
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
