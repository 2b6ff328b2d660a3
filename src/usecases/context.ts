/** What every use case works with; the HTTP API, the pages and the CLI each build one. */
import type { EventStore } from '../storage/types.ts';
import type { ComponentRuntime } from '../wasm/runtime.ts';

export interface FactumContext {
  store: EventStore;
  /** Runs uploaded WebAssembly components (state views, state changes). */
  components: ComponentRuntime;
  /** The current time; tests may pin it. */
  now(): Date;
}
