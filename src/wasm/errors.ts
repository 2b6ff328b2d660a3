/**
 * Failures of running a component. Uploads that are not acceptable components are refused with
 * the core InvalidArgumentError; these are for components that were accepted but misbehaved
 * (or said no) when called.
 *
 * Exceeding a limit is RESOURCE_EXHAUSTED rather than INTERNAL: the server is fine, the
 * component used up the share it is given, and retrying the same call will fail the same way.
 */
import { FactumError, type ErrorCode, type ErrorDetails } from '../core/errors.ts';
import type { ViewErrorKind } from './generated/state-view/interfaces/factum-component-types.js';

export type ComponentLimitName = 'time' | 'memory' | 'output';

/** A component call was stopped because it went over one of its limits. */
export abstract class ComponentLimitError extends FactumError {
  readonly code = 'RESOURCE_EXHAUSTED' as const;
  abstract readonly limit: ComponentLimitName;
}

/** The call ran longer than the time limit; its worker was terminated. */
export class ComponentTimeLimitError extends ComponentLimitError {
  readonly limit = 'time' as const;
}

/** The component needed more memory than it is allowed. */
export class ComponentMemoryLimitError extends ComponentLimitError {
  readonly limit = 'memory' as const;
}

/** The component returned more bytes than one call may return. */
export class ComponentOutputLimitError extends ComponentLimitError {
  readonly limit = 'output' as const;
}

/**
 * The component crashed: a WebAssembly trap, an uncaught exception inside it, or a result the
 * host could not read. A fault of the component's code, so INTERNAL.
 */
export class ComponentFailedError extends FactumError {
  readonly code = 'INTERNAL' as const;
}

export type { ViewErrorKind };

/**
 * What each kind of state-view error (the WIT's `view-error-kind`) means for the caller. A
 * record over the generated type: a kind added to or removed from the WIT fails to compile here.
 */
export const VIEW_ERROR_CODES: Readonly<Record<ViewErrorKind, ErrorCode>> = {
  'invalid-params': 'INVALID_ARGUMENT',
  'invalid-event': 'INTERNAL',
  internal: 'INTERNAL',
};

/**
 * A state view returned an error result. Bad parameters are the reader's fault
 * (INVALID_ARGUMENT); anything else is the view's own fault (INTERNAL).
 */
export class StateViewError extends FactumError {
  readonly code: ErrorCode;
  readonly kind: ViewErrorKind;
  constructor(kind: ViewErrorKind, message: string, details: ErrorDetails = {}) {
    super(message, { ...details, kind });
    this.kind = kind;
    this.code = VIEW_ERROR_CODES[kind];
  }
}
