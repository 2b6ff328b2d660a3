/**
 * What the component host reports as it works, for the server's metrics: plain callbacks, each
 * optional, so src/wasm knows nothing of how they are counted. They must be cheap and must not
 * throw.
 */

/** The functions the host calls in a component. */
export type ComponentFunction = 'initialState' | 'evolve' | 'render' | 'decide';

/**
 * How a call ended: `ok` with a value, `rejected` with the component's own error variant (a
 * view's error, a command's rejection), stopped at its `timeout` or `memory` or `output` limit,
 * `failed` (a trap, a crash of its worker), or `unavailable` because the host closed.
 */
export type ComponentCallOutcome = 'ok' | 'rejected' | 'timeout' | 'memory' | 'output' | 'failed' | 'unavailable';

export interface ComponentObserver {
  /** A call ended after `seconds`, waiting for a worker included. */
  called?(fn: ComponentFunction, outcome: ComponentCallOutcome, seconds: number): void;
  /** Preparing a component found its transpiled form in the cache (`hit`) or transpiled it. */
  transpileCache?(hit: boolean): void;
}
