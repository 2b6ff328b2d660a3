/**
 * Every failure a user can see is one of these named errors. Each carries a code from the
 * public error table; the HTTP layer maps codes to statuses in one place (src/http/errors.ts).
 */
export type ErrorCode =
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'INVALID_ARGUMENT'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'FAILED_PRECONDITION'
  | 'ABORTED'
  | 'RESOURCE_EXHAUSTED'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNAVAILABLE'
  | 'INTERNAL';

export type ErrorDetails = Record<string, unknown>;

export abstract class FactumError extends Error {
  abstract readonly code: ErrorCode;
  readonly details: ErrorDetails;
  constructor(message: string, details: ErrorDetails = {}) {
    super(message);
    this.name = new.target.name;
    this.details = details;
  }
}

export class NotFoundError extends FactumError {
  readonly code = 'NOT_FOUND' as const;
}

export class AlreadyExistsError extends FactumError {
  readonly code = 'ALREADY_EXISTS' as const;
}

export class InvalidArgumentError extends FactumError {
  readonly code = 'INVALID_ARGUMENT' as const;
}

/** No API key, or one that is unknown, expired or revoked. */
export class UnauthenticatedError extends FactumError {
  readonly code = 'UNAUTHENTICATED' as const;
}

/** A valid API key without the permission, or the database, the request needs. */
export class PermissionDeniedError extends FactumError {
  readonly code = 'PERMISSION_DENIED' as const;
}

/** A revision constraint did not hold; nothing was written. */
export class FailedPreconditionError extends FactumError {
  readonly code = 'FAILED_PRECONDITION' as const;
}

/**
 * Too much contention: concurrent writers kept changing what this request depends on, and it
 * gave up after a bounded number of attempts. Nothing was written; the same request may be
 * sent again (the answer carries Retry-After). Raised by the retry helper only.
 */
export class ContentionError extends FactumError {
  readonly code = 'ABORTED' as const;
}

export class ResourceExhaustedError extends FactumError {
  readonly code = 'RESOURCE_EXHAUSTED' as const;
}

export class PayloadTooLargeError extends FactumError {
  readonly code = 'PAYLOAD_TOO_LARGE' as const;
}

/** The store is shutting down or cannot be reached; the request may be retried. */
export class UnavailableError extends FactumError {
  readonly code = 'UNAVAILABLE' as const;
}

export class InternalError extends FactumError {
  readonly code = 'INTERNAL' as const;
}
