/**
 * Starting and stopping a Factum server: open storage, serve HTTP, and on shutdown stop
 * accepting, let requests in flight (appends included) finish, then close storage.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import type { FactumConfig } from './config.ts';
import { createHttpHandler } from './http/app.ts';
import { attachWebSockets } from './http/websocket.ts';
import { SubscriptionHub } from './usecases/subscriptions/hub.ts';
import { answerClientErrors, refusingHttp09 } from './http/client-errors.ts';
import { closeConnectionsLingering } from './http/lingering-close.ts';
import { createStore, type StoreOptions } from './storage/create-store.ts';
import { ComponentHost } from './wasm/index.ts';
import type { FactumContext } from './usecases/context.ts';
import { bootstrapAdminKey } from './usecases/access/keys.ts';
import { keysRequired, sharedSecret } from './usecases/access/keys-required.ts';
import { InvalidArgumentError } from './core/errors.ts';
import { createServerMetrics } from './metrics/server-metrics.ts';

export const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export interface RunningServer {
  url: string;
  ctx: FactumContext;
  logger: Logger;
  close(): Promise<void>;
}

export async function startServer(config: FactumConfig, logger: Logger = pino({ level: config.logLevel })): Promise<RunningServer> {
  const metrics = createServerMetrics(config.metrics);
  const store = createStore({ ...storeOptions(config), observer: metrics.store });
  await store.open();
  const components = new ComponentHost({
    cacheDir: config.components.cacheDir,
    limits: { timeMs: config.components.timeoutMs, memoryBytes: config.components.memoryBytes },
    observer: metrics.components,
  });
  const subscriptions = new SubscriptionHub(store, config.subscriptions);
  const ctx: FactumContext = { store, components, now: () => new Date(), settings: { maxViewSnapshotSets: config.maxViewSnapshotSets }, subscriptions };
  metrics.watch(ctx);
  let csrfSecret: string;
  try {
    csrfSecret = await prepareAccess(ctx, config, logger);
  } catch (error) {
    await closeQuietly(logger, () => components.close(), () => store.close());
    throw error;
  }
  const { listener } = createHttpHandler(ctx, {
    logger,
    version: VERSION,
    maxBodyBytes: config.maxBodyBytes,
    maxComponentBytes: config.components.maxUploadBytes,
    access: config.access,
    csrfSecret,
    metrics,
  });
  const server = createServer(refusingHttp09(listener));
  attachWebSockets(server, ctx, { allowedOrigins: config.access.corsOrigins });
  // What the HTTP parser refuses never reaches the app; it gets the error shape all the same.
  answerClientErrors(server);
  // No connection is closed on a client still sending: it could lose the answer to a reset.
  closeConnectionsLingering(server);
  try {
    await listen(server, config.port, config.host);
  } catch (error) {
    // A server that never listened must not keep what it opened: above all the file store's
    // LOCK, which would hold the data directory against the next start in this process (and
    // leave a stale file behind). The listen error is what the caller needs to see.
    await closeQuietly(logger, () => components.close(), () => store.close());
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  logger.info({ url, storage: store.adapter, dataDir: config.storage === 'file' ? config.dataDir : undefined, version: VERSION }, 'factum listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    ctx,
    logger,
    close: () =>
      (closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        // Open streams end with an `end` frame (shutdown), so the connections they hold close.
        await subscriptions.close();
        await stopped;
        await components.close();
        await store.close();
        logger.info('factum stopped');
      })()),
  };
}

/**
 * The admin key the operator supplies, created if new; and the refusal to offer onboarding on a
 * server without keys (an onboarded key would close the server to everyone else unawares).
 */
async function prepareAccess(ctx: FactumContext, config: FactumConfig, logger: Logger): Promise<string> {
  if (config.access.adminKey !== undefined) {
    const key = await bootstrapAdminKey(ctx, config.access.adminKey);
    logger.info({ keyId: key.id }, 'admin key ready: every request now needs an API key');
  }
  if (config.access.onboarding.enabled && !(await keysRequired(ctx))) {
    throw new InvalidArgumentError('onboarding needs API keys: start the server with an admin key (FACTUM_ADMIN_KEY or --admin-key-file)');
  }
  return sharedSecret(ctx, 'access/csrf-secret');
}

/** The storage adapter's own options, from the server's settings. */
function storeOptions(config: FactumConfig): StoreOptions {
  switch (config.storage) {
    case 'file':
      return { adapter: 'file', dataDir: config.dataDir };
    case 'memory':
      return { adapter: 'memory' };
    case 'dynamodb':
      return {
        adapter: 'dynamodb',
        tableName: config.dynamodb.table,
        endpoint: config.dynamodb.endpoint,
        region: config.dynamodb.region,
        createTable: config.dynamodb.createTable,
        indexSettleMs: config.dynamodb.indexSettleMs,
        connectTimeoutMs: config.dynamodb.connectTimeoutMs,
        requestTimeoutMs: config.dynamodb.requestTimeoutMs,
        operationTimeoutMs: config.dynamodb.operationTimeoutMs,
      };
  }
}

/** Runs each cleanup in turn; a failing one is logged, not thrown, so the others still run. */
async function closeQuietly(logger: Logger, ...steps: Array<() => Promise<void>>): Promise<void> {
  for (const step of steps) {
    await step().catch((error: unknown) => logger.warn({ err: error }, 'cleanup after a failed start failed'));
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
