/** Running WebAssembly components: the public surface of src/wasm. */
export type { ComponentRuntime, DecideOutcome } from './runtime.ts';
export { ComponentHost, DEFAULT_COMPONENT_LIMITS, type ComponentHostOptions } from './host.ts';
export type { ComponentLimits } from './component-pool.ts';
export type { ComponentCallOutcome, ComponentFunction, ComponentObserver } from './observer.ts';
export { prepareComponent, componentHash, type PreparedComponent } from './cache.ts';
export {
  assertComponentBinary,
  validateComponent,
  validateStateChange,
  validateStateView,
  wasmBinaryKind,
  type WasmBinaryKind,
} from './validate.ts';
export { COMPONENT_WORLDS, WIT_FILE, WIT_PACKAGE, type ComponentWorld } from './contract.ts';
export { eventDataBytes, isJsonContentType, toWitEvent, toWitParams, type ViewParams, type WitEvent } from './events.ts';
export {
  ComponentFailedError,
  ComponentLimitError,
  ComponentMemoryLimitError,
  ComponentOutputLimitError,
  ComponentTimeLimitError,
  StateViewError,
  type ComponentLimitName,
  type ViewErrorKind,
} from './errors.ts';
export { toCloudEvent, toWireConstraint, type CommandInput, type Decision, type Rejection, type ViewState } from './decisions.ts';
