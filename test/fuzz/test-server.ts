/** The server a hostile test file talks to, raw: started before its tests, stopped after. */
import { afterAll, beforeAll, expect } from 'vitest';
import type { ConfigFlags } from '../../src/config.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { describeOutcome, type RawOutcome, type RawReply } from './raw-http.ts';

export interface HostileServer {
  ts: TestServer;
  port: number;
}

/** Creates the database most hostile tests aim at. */
export async function createFz(ts: TestServer): Promise<void> {
  expect((await ts.client.post('/databases', { name: 'fz' })).status).toBe(201);
}

/**
 * Registers the hooks that start a server (in memory unless `flags` say otherwise) and run
 * `setup` on it; the returned object is filled in once it runs.
 */
export function useServer(flags: ConfigFlags = {}, setup: (ts: TestServer) => Promise<void> = createFz, setupTimeoutMs?: number): HostileServer {
  const server = {} as HostileServer;
  beforeAll(async () => {
    server.ts = await startTestServer({ storage: 'memory', ...flags });
    server.port = Number(new URL(server.ts.server.url).port);
    await setup(server.ts);
  }, setupTimeoutMs);
  afterAll(() => server.ts?.stop());
  return server;
}

/** The answer in `outcome`, checked to have `status` and no reset after it. */
export function expectReply(outcome: RawOutcome, status: number): RawReply {
  expect(outcome.kind === 'reply' && !outcome.resetAfter && outcome.reply.status, describeOutcome(outcome)).toBe(status);
  if (outcome.kind !== 'reply') throw new Error('unreachable');
  return outcome.reply;
}
