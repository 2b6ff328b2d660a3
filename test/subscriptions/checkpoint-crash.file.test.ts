/** The checkpoint crash run (checkpoint-crash.ts) on the file store: SIGKILL mid-write, then recovery. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, it } from 'vitest';
import { projectAcrossCrashes } from './checkpoint-crash.ts';
import { startSubscriptionChild } from './support/server.ts';

const dataDir = await mkdtemp(join(tmpdir(), 'factum-checkpoint-crash-'));
afterAll(() => rm(dataDir, { recursive: true, force: true }));

it('commits a projection’s events and its position together or not at all across SIGKILLs', () => projectAcrossCrashes(() => startSubscriptionChild(dataDir)), 120_000);
