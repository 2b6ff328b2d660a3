/** What every use case works with; the HTTP API, the pages and the CLI each build one. */
import type { EventStore } from '../storage/types.ts';
import type { ComponentRuntime } from '../wasm/runtime.ts';
import type { SubscriptionHub } from './subscriptions/hub.ts';

export interface FactumContext {
  store: EventStore;
  /** Runs uploaded WebAssembly components (state views, state changes). */
  components: ComponentRuntime;
  /** The current time; tests may pin it. */
  now(): Date;
  settings?: Partial<UseCaseSettings>;
  /** Subscriptions and their change feed; without one, appends notify nobody and subscribing is unavailable. */
  subscriptions?: SubscriptionHub;
}

/** Bounds the use cases keep, set by the server's configuration. */
export interface UseCaseSettings {
  /**
   * Parameter sets per state-view version whose snapshots are kept; past it, the least
   * recently rendered set is dropped (its next render starts from scratch).
   */
  maxViewSnapshotSets: number;
}

export const DEFAULT_USE_CASE_SETTINGS: UseCaseSettings = { maxViewSnapshotSets: 1000 };

export function settingsOf(ctx: FactumContext): UseCaseSettings {
  return { ...DEFAULT_USE_CASE_SETTINGS, ...ctx.settings };
}
