/**
 * Server settings, from command-line flags over environment variables over defaults.
 */
import { resolve } from 'node:path';
import { InvalidArgumentError } from './core/errors.ts';

export const STORAGE_ADAPTERS = ['file', 'memory', 'dynamodb'] as const;
export type StorageAdapterName = (typeof STORAGE_ADAPTERS)[number];

export interface FactumConfig {
  host: string;
  port: number;
  storage: StorageAdapterName;
  dataDir: string;
  logLevel: string;
  maxBodyBytes: number;
  dynamodb: {
    table: string;
    /** Unset: AWS itself, by region and the standard credential chain. */
    endpoint?: string;
    region?: string;
    createTable: boolean;
    /** How long GSIs are assumed to lag behind writes (see the DynamoDB adapter). */
    indexSettleMs?: number;
  };
}

export interface ConfigFlags {
  host?: string;
  port?: string;
  storage?: string;
  dataDir?: string;
  logLevel?: string;
  maxBodyBytes?: string;
  dynamodbTable?: string;
  dynamodbEndpoint?: string;
  region?: string;
  createTable?: boolean;
}

export function resolveConfig(flags: ConfigFlags, env: NodeJS.ProcessEnv = process.env): FactumConfig {
  const storage = flags.storage ?? env.FACTUM_STORAGE ?? 'file';
  if (!(STORAGE_ADAPTERS as readonly string[]).includes(storage)) {
    throw new InvalidArgumentError(`storage must be one of ${STORAGE_ADAPTERS.join(', ')}, not "${storage}"`);
  }
  return {
    host: flags.host ?? env.FACTUM_HOST ?? '127.0.0.1',
    port: integer(flags.port ?? env.PORT ?? '8080', 'port', 0, 65535),
    storage: storage as StorageAdapterName,
    dataDir: resolve(flags.dataDir ?? env.FACTUM_DATA_DIR ?? './data'),
    logLevel: flags.logLevel ?? env.FACTUM_LOG_LEVEL ?? 'info',
    maxBodyBytes: integer(flags.maxBodyBytes ?? env.FACTUM_MAX_BODY_BYTES ?? String(16 * 1024 * 1024), 'max body bytes', 1024, 2 ** 31),
    dynamodb: {
      table: flags.dynamodbTable ?? env.FACTUM_DYNAMODB_TABLE ?? 'factum',
      endpoint: flags.dynamodbEndpoint ?? env.FACTUM_DYNAMODB_ENDPOINT ?? undefined,
      region: flags.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? undefined,
      createTable: flags.createTable ?? ['1', 'true', 'yes'].includes((env.FACTUM_DYNAMODB_CREATE_TABLE ?? '').toLowerCase()),
      indexSettleMs:
        env.FACTUM_DYNAMODB_INDEX_SETTLE_MS === undefined
          ? undefined
          : env.FACTUM_DYNAMODB_INDEX_SETTLE_MS === 'Infinity'
            ? Infinity
            : integer(env.FACTUM_DYNAMODB_INDEX_SETTLE_MS, 'FACTUM_DYNAMODB_INDEX_SETTLE_MS', 0, 3_600_000),
    },
  };
}

function integer(text: string, what: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(`${what} must be an integer from ${min} to ${max}, not "${text}"`);
  }
  return value;
}
