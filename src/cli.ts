#!/usr/bin/env -S npx tsx
/**
 * `factum` / `npm start`: runs the server. Flags override environment variables.
 */
import { Command, Option } from 'commander';
import { pino } from 'pino';
import { resolveConfig, STORAGE_ADAPTERS, type ConfigFlags } from './config.ts';
import { FactumError } from './core/errors.ts';
import { startServer, VERSION } from './server.ts';

const program = new Command()
  .name('factum')
  .description('Factum event-sourcing database server')
  .version(VERSION)
  .addOption(new Option('--host <host>', 'address to listen on (env FACTUM_HOST)').default(undefined, '127.0.0.1'))
  .addOption(new Option('-p, --port <port>', 'port to listen on (env PORT)').default(undefined, '8080'))
  .addOption(new Option('--storage <adapter>', 'storage adapter (env FACTUM_STORAGE)').choices(STORAGE_ADAPTERS).default(undefined, 'file'))
  .addOption(new Option('--data-dir <dir>', 'where the file store keeps its data (env FACTUM_DATA_DIR)').default(undefined, './data'))
  .addOption(new Option('--log-level <level>', 'trace, debug, info, warn, error or silent (env FACTUM_LOG_LEVEL)').default(undefined, 'info'))
  .addOption(new Option('--max-body-bytes <n>', 'largest accepted request body (env FACTUM_MAX_BODY_BYTES)').default(undefined, '16 MiB'))
  .addOption(new Option('--max-view-snapshot-sets <n>', 'parameter sets per state view whose snapshots are kept (env FACTUM_MAX_VIEW_SNAPSHOT_SETS)').default(undefined, '1000'))
  .addOption(new Option('--component-cache-dir <dir>', 'where transpiled components are cached (env FACTUM_COMPONENT_CACHE_DIR)'))
  .addOption(new Option('--component-timeout-ms <ms>', 'time limit of one component call (env FACTUM_COMPONENT_TIMEOUT_MS)').default(undefined, '30000'))
  .addOption(new Option('--component-memory-mb <mb>', 'memory limit of a component (env FACTUM_COMPONENT_MEMORY_MB)').default(undefined, '100'))
  .addOption(new Option('--max-component-bytes <n>', 'largest accepted component upload (env FACTUM_MAX_COMPONENT_BYTES)').default(undefined, '64 MiB'))
  .addOption(new Option('--dynamodb-table <name>', 'DynamoDB table (env FACTUM_DYNAMODB_TABLE)').default(undefined, 'factum'))
  .addOption(new Option('--dynamodb-endpoint <url>', 'DynamoDB endpoint, e.g. DynamoDB Local (env FACTUM_DYNAMODB_ENDPOINT; unset: AWS)'))
  .addOption(new Option('--region <region>', 'AWS region (env AWS_REGION)'))
  .addOption(new Option('--create-table', 'create the DynamoDB table if it is missing (env FACTUM_DYNAMODB_CREATE_TABLE=1)'));

program.parse();
const flags = program.opts<ConfigFlags>();

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
  console.error(`factum: ${error instanceof FactumError || error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
