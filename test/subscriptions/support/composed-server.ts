/**
 * The server put together the way src/server.ts does, plus the subscription hub and WebSocket
 * upgrades: the stand-in the subscription tests use until src/server.ts has those lines.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { resolveConfig, type ConfigFlags } from '../../../src/config.ts';
import { createApp } from '../../../src/http/app.ts';
import { attachWebSockets } from '../../../src/http/websocket.ts';
import { createStore } from '../../../src/storage/create-store.ts';
import type { FactumContext } from '../../../src/usecases/context.ts';
import { SubscriptionHub } from '../../../src/usecases/subscriptions/hub.ts';
import { ComponentHost } from '../../../src/wasm/index.ts';

export interface ComposedServer {
  url: string;
  ctx: FactumContext;
  close(): Promise<void>;
}

export async function startComposedServer(flags: ConfigFlags, logLevel = 'silent'): Promise<ComposedServer> {
  const config = resolveConfig({ port: '0', logLevel, ...flags }, {});
  const store = createStore(
    config.storage === 'dynamodb'
      ? { adapter: 'dynamodb', tableName: config.dynamodb.table, endpoint: config.dynamodb.endpoint, region: config.dynamodb.region, createTable: config.dynamodb.createTable }
      : config.storage === 'file'
        ? { adapter: 'file', dataDir: config.dataDir }
        : { adapter: 'memory' },
  );
  await store.open();
  const components = new ComponentHost({ cacheDir: config.components.cacheDir, limits: { timeMs: config.components.timeoutMs, memoryBytes: config.components.memoryBytes } });
  const subscriptions = new SubscriptionHub(store);
  const ctx: FactumContext = { store, components, now: () => new Date(), settings: { maxViewSnapshotSets: config.maxViewSnapshotSets }, subscriptions };
  const logger = pino({ level: config.logLevel });
  const app = createApp(ctx, { logger, version: 'test', maxBodyBytes: config.maxBodyBytes, maxComponentBytes: config.components.maxUploadBytes });
  const server = createServer(app);
  attachWebSockets(server, ctx);
  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  const url = `http://${config.host}:${(server.address() as AddressInfo).port}`;
  logger.info({ url }, 'factum listening');
  return {
    url,
    ctx,
    close: async () => {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await subscriptions.close();
      await stopped;
      await components.close();
      await store.close();
    },
  };
}
