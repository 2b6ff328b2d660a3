/** Servers for the subscription tests: the real server, in this process or as a child. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigFlags } from '../../../src/config.ts';
import type { FactumContext } from '../../../src/usecases/context.ts';
import type { SubscriptionHub } from '../../../src/usecases/subscriptions/hub.ts';
import type { SubscriptionSettings } from '../../../src/usecases/subscriptions/settings.ts';
import { startChildServer, type ChildServer } from '../../support/child-server.ts';
import { TestClient } from '../../support/http.ts';
import { startTestServer } from '../../support/server.ts';

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
  const running = (await startTestServer({ ...flags, dataDir })).server;
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
  return startChildServer(['--data-dir', dataDir, '--log-level', 'info']);
}
