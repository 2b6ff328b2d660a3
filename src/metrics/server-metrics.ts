/**
 * The metrics of one server, in a registry of its own (several servers in one process each
 * count their own), with Node's process metrics beside Factum's. It hands out plain observers
 * for storage, the component host and the HTTP layer; only this area knows prom-client.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { StoreObserver } from '../storage/types.ts';
import type { FactumContext } from '../usecases/context.ts';
import type { ComponentObserver } from '../wasm/index.ts';
import { componentMetrics } from './component-metrics.ts';
import { httpMetrics } from './http-metrics.ts';
import { storeMetrics } from './store-metrics.ts';
import { subscriptionMetrics } from './subscription-metrics.ts';

export interface MetricsSettings {
  /** Series per database (a `database` label); off, no metric names a database. */
  databaseLabels: boolean;
}

export interface ServerMetrics {
  readonly registry: Registry;
  readonly store: StoreObserver;
  readonly components: ComponentObserver;
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  /** Lets the subscription gauges read the server's hub and store, once there is a context. */
  watch(ctx: FactumContext): void;
  /** The text Prometheus scrapes. */
  scrape(): Promise<{ contentType: string; body: string }>;
}

export function createServerMetrics(settings: MetricsSettings): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let ctx: FactumContext | undefined;
  subscriptionMetrics(registry, settings.databaseLabels, () => ctx);
  return {
    registry,
    store: storeMetrics(registry, settings.databaseLabels),
    components: componentMetrics(registry),
    observeRequest: httpMetrics(registry),
    watch(context) {
      ctx = context;
    },
    async scrape() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
