/** What every use case works with; the HTTP API, the pages and the CLI each build one. */
import type { EventStore } from '../storage/types.ts';

export interface FactumContext {
  store: EventStore;
  /** The current time; tests may pin it. */
  now(): Date;
}
