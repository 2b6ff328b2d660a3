/**
 * Servers for the subscription tests. They run the real server (src/server.ts) when it builds
 * the subscription hub and serves WebSocket upgrades; until those lines are in src/server.ts
 * (see the README's Subscriptions section), composed-server.ts puts the same parts together the
 * same way, so that these tests already exercise what the wired server will run.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigFlags } from '../../../src/config.ts';
import type { FactumContext } from '../../../src/usecases/context.ts';
import type { SubscriptionHub } from '../../../src/usecases/subscriptions/hub.ts';
import type { SubscriptionSettings } from '../../../src/usecases/subscriptions/settings.ts';
import { startChildServer, startServerCommand, type ChildServer } from '../../support/child-server.ts';
import { TestClient } from '../../support/http.ts';
import { startTestServer } from '../../support/server.ts';
import { startComposedServer } from './composed-server.ts';

/** Whether src/server.ts wires subscriptions itself. */
export const SERVER_WIRED = readFileSync(new URL('../../../src/server.ts', import.meta.url), 'utf8').includes('attachWebSockets(');

export interface SubscriptionServer {
  url: string;
  client: TestClient;
  ctx: FactumContext;
  hub: SubscriptionHub;
  dataDir: string;
  /** Stops the server (ending its streams) and removes its data. */
  stop(): Promise<void>;
  /** Stops the server, keeping its data. */
  close(): Promise<void>;
}

export async function startSubscriptionServer(flags: ConfigFlags = {}, settings: Partial<SubscriptionSettings> = {}): Promise<SubscriptionServer> {
  const dataDir = flags.dataDir ?? (await mkdtemp(join(tmpdir(), 'factum-sub-')));
  const running = SERVER_WIRED ? (await startTestServer({ ...flags, dataDir })).server : await startComposedServer({ storage: 'file', ...flags, dataDir });
  const hub = running.ctx.subscriptions!;
  hub.configure(settings);
  return {
    url: running.url,
    client: new TestClient(running.url),
    ctx: running.ctx,
    hub,
    dataDir,
    close: () => running.close(),
    stop: async () => {
      await running.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The server as its own process (file store on `dataDir`), for killing it. */
export function startSubscriptionChild(dataDir: string): Promise<ChildServer> {
  const args = ['--data-dir', dataDir, '--log-level', 'info'];
  if (SERVER_WIRED) return startChildServer(args);
  return startServerCommand(process.execPath, ['--import', 'tsx', 'test/subscriptions/support/composed-main.ts', '--port', '0', ...args]);
}
