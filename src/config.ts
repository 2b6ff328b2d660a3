/**
 * Server settings, from command-line flags over environment variables over defaults.
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { InvalidArgumentError } from './core/errors.ts';
import type { SubscriptionSettings } from './usecases/subscriptions/settings.ts';

export const STORAGE_ADAPTERS = ['file', 'memory', 'dynamodb'] as const;
export type StorageAdapterName = (typeof STORAGE_ADAPTERS)[number];

export interface FactumConfig {
  host: string;
  port: number;
  storage: StorageAdapterName;
  dataDir: string;
  logLevel: string;
  maxBodyBytes: number;
  /** Parameter sets per state-view version whose snapshots are kept (least recently rendered dropped). */
  maxViewSnapshotSets: number;
  subscriptions: SubscriptionSettings;
  access: AccessConfig;
  metrics: {
    /** A `database` label on per-database metrics; off by default, since clients choose the names. */
    databaseLabels: boolean;
  };
  components: {
    /** Where transpiled components are cached (a cache: safe to delete). */
    cacheDir: string;
    timeoutMs: number;
    memoryBytes: number;
    /** Largest accepted component upload. */
    maxUploadBytes: number;
  };
  dynamodb: {
    table: string;
    /** Unset: AWS itself, by region and the standard credential chain. */
    endpoint?: string;
    region?: string;
    createTable: boolean;
    /** How long GSIs are assumed to lag behind writes (see the DynamoDB adapter). */
    indexSettleMs?: number;
    connectTimeoutMs?: number;
    requestTimeoutMs?: number;
    operationTimeoutMs?: number;
  };
}

/** Who may reach the server (README: Security). */
export interface AccessConfig {
  /** Origins whose pages may call the API (CORS) and change data; none by default. */
  corsOrigins: string[];
  /** An admin key to create on start, if it is not there yet. */
  adminKey?: string;
  /** Requests per window per key (per client address without keys); 0: no limit. */
  rateLimit: { requests: number; windowMs: number };
  onboarding: {
    enabled: boolean;
    /** The events quota of each database onboarding creates. */
    eventsQuota: number;
    /** Onboarding calls per client address per hour. */
    perHour: number;
  };
}

export interface ConfigFlags {
  host?: string;
  port?: string;
  storage?: string;
  dataDir?: string;
  logLevel?: string;
  maxBodyBytes?: string;
  maxViewSnapshotSets?: string;
  subscriptionHeartbeatMs?: string;
  maxSubscriptions?: string;
  maxSubscriptionsPerCaller?: string;
  subscriptionBufferBytes?: string;
  slowConsumerTimeoutMs?: string;
  liveViewIntervalMs?: string;
  subscriptionPollMs?: string;
  componentCacheDir?: string;
  componentTimeoutMs?: string;
  componentMemoryMb?: string;
  maxComponentBytes?: string;
  dynamodbTable?: string;
  dynamodbEndpoint?: string;
  region?: string;
  createTable?: boolean;
  corsOrigin?: string[];
  adminKeyFile?: string;
  rateLimit?: string;
  rateLimitWindowMs?: string;
  onboarding?: boolean;
  onboardingEventsQuota?: string;
  onboardingPerHour?: string;
  metricsDatabaseLabels?: boolean;
}

export function resolveConfig(flags: ConfigFlags, env: NodeJS.ProcessEnv = process.env): FactumConfig {
  const storage = flags.storage ?? env.FACTUM_STORAGE ?? 'file';
  if (!(STORAGE_ADAPTERS as readonly string[]).includes(storage)) {
    throw new InvalidArgumentError(`storage must be one of ${STORAGE_ADAPTERS.join(', ')}, not "${storage}"`);
  }
  const dataDir = resolve(flags.dataDir ?? env.FACTUM_DATA_DIR ?? './data');
  return {
    host: flags.host ?? env.FACTUM_HOST ?? '127.0.0.1',
    port: integer(flags.port ?? env.PORT ?? '8080', 'port', 0, 65535),
    storage: storage as StorageAdapterName,
    dataDir,
    logLevel: flags.logLevel ?? env.FACTUM_LOG_LEVEL ?? 'info',
    maxBodyBytes: integer(flags.maxBodyBytes ?? env.FACTUM_MAX_BODY_BYTES ?? String(16 * 1024 * 1024), 'max body bytes', 1024, 2 ** 31),
    maxViewSnapshotSets: integer(flags.maxViewSnapshotSets ?? env.FACTUM_MAX_VIEW_SNAPSHOT_SETS ?? '1000', 'max view snapshot sets', 1, 10_000_000),
    subscriptions: {
      heartbeatMs: integer(flags.subscriptionHeartbeatMs ?? env.FACTUM_SUBSCRIPTION_HEARTBEAT_MS ?? '15000', 'subscription heartbeat (ms)', 100, 3_600_000),
      maxSubscriptions: integer(flags.maxSubscriptions ?? env.FACTUM_MAX_SUBSCRIPTIONS ?? '1000', 'max subscriptions', 1, 1_000_000),
      maxSubscriptionsPerCaller: integer(flags.maxSubscriptionsPerCaller ?? env.FACTUM_MAX_SUBSCRIPTIONS_PER_CALLER ?? '100', 'max subscriptions per caller', 1, 1_000_000),
      maxBufferedBytes: integer(flags.subscriptionBufferBytes ?? env.FACTUM_SUBSCRIPTION_BUFFER_BYTES ?? String(256 * 1024), 'subscription buffer bytes', 1024, 2 ** 31),
      slowConsumerTimeoutMs: integer(flags.slowConsumerTimeoutMs ?? env.FACTUM_SLOW_CONSUMER_TIMEOUT_MS ?? '30000', 'slow consumer timeout (ms)', 100, 3_600_000),
      liveViewIntervalMs: integer(flags.liveViewIntervalMs ?? env.FACTUM_LIVE_VIEW_INTERVAL_MS ?? '1000', 'live view interval (ms)', 10, 3_600_000),
      pollIntervalMs: integer(flags.subscriptionPollMs ?? env.FACTUM_SUBSCRIPTION_POLL_MS ?? '500', 'subscription poll (ms)', 10, 3_600_000),
    },
    access: resolveAccess(flags, env),
    metrics: { databaseLabels: flags.metricsDatabaseLabels ?? truthy(env.FACTUM_METRICS_DATABASE_LABELS) },
    components: {
      cacheDir: resolve(
        flags.componentCacheDir ?? env.FACTUM_COMPONENT_CACHE_DIR ?? (storage === 'file' ? join(dataDir, 'component-cache') : join(tmpdir(), 'factum-component-cache')),
      ),
      // The limits EvidentSource documents for its components: 30 s and 100 MB per call.
      timeoutMs: integer(flags.componentTimeoutMs ?? env.FACTUM_COMPONENT_TIMEOUT_MS ?? '30000', 'component timeout (ms)', 10, 3_600_000),
      memoryBytes: 1024 * 1024 * integer(flags.componentMemoryMb ?? env.FACTUM_COMPONENT_MEMORY_MB ?? '100', 'component memory (MiB)', 16, 4096),
      maxUploadBytes: integer(flags.maxComponentBytes ?? env.FACTUM_MAX_COMPONENT_BYTES ?? String(64 * 1024 * 1024), 'max component bytes', 1024, 2 ** 31),
    },
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
      connectTimeoutMs: optionalMs(env, 'FACTUM_DYNAMODB_CONNECT_TIMEOUT_MS'),
      requestTimeoutMs: optionalMs(env, 'FACTUM_DYNAMODB_REQUEST_TIMEOUT_MS'),
      operationTimeoutMs: optionalMs(env, 'FACTUM_DYNAMODB_OPERATION_TIMEOUT_MS'),
    },
  };
}

const truthy = (text: string | undefined) => ['1', 'true', 'yes'].includes((text ?? '').toLowerCase());

function resolveAccess(flags: ConfigFlags, env: NodeJS.ProcessEnv): AccessConfig {
  const corsOrigins = (flags.corsOrigin ?? (env.FACTUM_CORS_ORIGINS ?? '').split(',')).map((o) => o.trim()).filter((o) => o !== '');
  for (const origin of corsOrigins) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    // An origin is scheme://host[:port], exactly as browsers send it: no path, no wildcard.
    if (!parsed || parsed.origin !== origin) {
      throw new InvalidArgumentError(`a CORS origin must be scheme://host[:port] as a browser sends it, not "${origin}"`);
    }
  }
  const adminKey = flags.adminKeyFile !== undefined ? readFileSync(flags.adminKeyFile, 'utf8').trim() : env.FACTUM_ADMIN_KEY?.trim() || undefined;
  return {
    corsOrigins,
    adminKey,
    rateLimit: {
      requests: integer(flags.rateLimit ?? env.FACTUM_RATE_LIMIT ?? '0', 'rate limit (requests per window)', 0, 1_000_000_000),
      windowMs: integer(flags.rateLimitWindowMs ?? env.FACTUM_RATE_LIMIT_WINDOW_MS ?? '60000', 'rate limit window (ms)', 1000, 86_400_000),
    },
    onboarding: {
      enabled: flags.onboarding ?? truthy(env.FACTUM_ONBOARDING),
      eventsQuota: integer(flags.onboardingEventsQuota ?? env.FACTUM_ONBOARDING_EVENTS_QUOTA ?? '100000', 'onboarding events quota', 1, Number.MAX_SAFE_INTEGER),
      perHour: integer(flags.onboardingPerHour ?? env.FACTUM_ONBOARDING_PER_HOUR ?? '10', 'onboarding calls per hour', 1, 1_000_000),
    },
  };
}

function optionalMs(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const text = env[name];
  return text === undefined ? undefined : integer(text, name, 1, 3_600_000);
}

function integer(text: string, what: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(`${what} must be an integer from ${min} to ${max}, not "${text}"`);
  }
  return value;
}
