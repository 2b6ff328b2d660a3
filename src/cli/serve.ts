/**
 * `factum serve` (and `factum` with no command, as `npm start` runs it): the server, with flags
 * over environment variables over defaults. The server's modules load only when it starts, so the
 * other commands start quickly.
 */
import { Command, Option } from 'commander';
import { resolveConfig, STORAGE_ADAPTERS, type ConfigFlags } from '../config.ts';
import { fail } from './failure.ts';

export function serveCommand(): Command {
  return new Command('serve')
    .description('run the server (the default command)')
    .addOption(new Option('--host <host>', 'address to listen on (env FACTUM_HOST)').default(undefined, '127.0.0.1'))
    .addOption(new Option('-p, --port <port>', 'port to listen on (env PORT)').default(undefined, '8080'))
    .addOption(new Option('--storage <adapter>', 'storage adapter (env FACTUM_STORAGE)').choices(STORAGE_ADAPTERS).default(undefined, 'file'))
    .addOption(new Option('--data-dir <dir>', 'where the file store keeps its data (env FACTUM_DATA_DIR)').default(undefined, './data'))
    .addOption(new Option('--log-level <level>', 'trace, debug, info, warn, error or silent (env FACTUM_LOG_LEVEL)').default(undefined, 'info'))
    .addOption(new Option('--max-body-bytes <n>', 'largest accepted request body (env FACTUM_MAX_BODY_BYTES)').default(undefined, '16 MiB'))
    .addOption(new Option('--max-view-snapshot-sets <n>', 'parameter sets per state view whose snapshots are kept (env FACTUM_MAX_VIEW_SNAPSHOT_SETS)').default(undefined, '1000'))
    .addOption(new Option('--subscription-heartbeat-ms <ms>', 'heartbeat interval of subscriptions (env FACTUM_SUBSCRIPTION_HEARTBEAT_MS)').default(undefined, '15000'))
    .addOption(new Option('--max-subscriptions <n>', 'open subscriptions per server (env FACTUM_MAX_SUBSCRIPTIONS)').default(undefined, '1000'))
    .addOption(new Option('--max-subscriptions-per-caller <n>', 'open subscriptions per API key, or per client address without keys (env FACTUM_MAX_SUBSCRIPTIONS_PER_CALLER)').default(undefined, '100'))
    .addOption(new Option('--subscription-buffer-bytes <n>', 'bytes a slow subscriber may hold unread (env FACTUM_SUBSCRIPTION_BUFFER_BYTES)').default(undefined, '256 KiB'))
    .addOption(new Option('--slow-consumer-timeout-ms <ms>', 'how long a subscriber may stay over its buffer (env FACTUM_SLOW_CONSUMER_TIMEOUT_MS)').default(undefined, '30000'))
    .addOption(new Option('--live-view-interval-ms <ms>', 'least time between renders of a live state view (env FACTUM_LIVE_VIEW_INTERVAL_MS)').default(undefined, '1000'))
    .addOption(new Option('--subscription-poll-ms <ms>', 'how often heads are read for appends by other servers (env FACTUM_SUBSCRIPTION_POLL_MS)').default(undefined, '500'))
    .addOption(new Option('--component-cache-dir <dir>', 'where transpiled components are cached (env FACTUM_COMPONENT_CACHE_DIR)'))
    .addOption(new Option('--component-timeout-ms <ms>', 'time limit of one component call (env FACTUM_COMPONENT_TIMEOUT_MS)').default(undefined, '30000'))
    .addOption(new Option('--component-memory-mb <mb>', 'memory limit of a component (env FACTUM_COMPONENT_MEMORY_MB)').default(undefined, '100'))
    .addOption(new Option('--max-component-bytes <n>', 'largest accepted component upload (env FACTUM_MAX_COMPONENT_BYTES)').default(undefined, '64 MiB'))
    .addOption(new Option('--dynamodb-table <name>', 'DynamoDB table (env FACTUM_DYNAMODB_TABLE)').default(undefined, 'factum'))
    .addOption(new Option('--dynamodb-endpoint <url>', 'DynamoDB endpoint, e.g. DynamoDB Local (env FACTUM_DYNAMODB_ENDPOINT; unset: AWS)'))
    .addOption(new Option('--region <region>', 'AWS region (env AWS_REGION)'))
    .addOption(new Option('--create-table', 'create the DynamoDB table if it is missing (env FACTUM_DYNAMODB_CREATE_TABLE=1)'))
    .addOption(new Option('--cors-origin <origin...>', 'an origin whose pages may use the API, repeatable (env FACTUM_CORS_ORIGINS, comma-separated; default none)'))
    .addOption(new Option('--admin-key-file <file>', 'file holding an admin API key to create on start (env FACTUM_ADMIN_KEY holds the key itself)'))
    .addOption(new Option('--rate-limit <n>', 'requests per window per API key, or per client address without keys; 0: none (env FACTUM_RATE_LIMIT)').default(undefined, '0'))
    .addOption(new Option('--rate-limit-window-ms <ms>', 'the rate limit window (env FACTUM_RATE_LIMIT_WINDOW_MS)').default(undefined, '60000'))
    .addOption(new Option('--onboarding', 'let POST /onboard create a database and a key for it without a key (env FACTUM_ONBOARDING=1)'))
    .addOption(new Option('--onboarding-events-quota <n>', 'events quota of each onboarded database (env FACTUM_ONBOARDING_EVENTS_QUOTA)').default(undefined, '100000'))
    .addOption(new Option('--onboarding-per-hour <n>', 'onboarding calls per client address per hour (env FACTUM_ONBOARDING_PER_HOUR)').default(undefined, '10'))
    .addOption(new Option('--metrics-database-labels', 'label per-database metrics with the database name (env FACTUM_METRICS_DATABASE_LABELS=1)'))
    .action((flags: ConfigFlags) => serve(flags));
}

async function serve(flags: ConfigFlags): Promise<void> {
  const [{ startServer }, { pino }] = await Promise.all([import('../server.ts'), import('pino')]);
  try {
    const config = resolveConfig(flags);
    const logger = pino({ level: config.logLevel });
    const server = await startServer(config, logger);
    const shutdown = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      server.close().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  } catch (error) {
    fail(error);
  }
}
