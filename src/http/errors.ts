/** The one place error codes become HTTP statuses and the public error shape. */
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { FactumError, type ErrorCode, type ErrorDetails } from '../core/errors.ts';

export const STATUS_BY_CODE: Record<ErrorCode, number> = {
  INVALID_ARGUMENT: 400,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  FAILED_PRECONDITION: 409,
  ABORTED: 409,
  PAYLOAD_TOO_LARGE: 413,
  RESOURCE_EXHAUSTED: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
};

export function sendError(res: Response, code: ErrorCode, message: string, details: ErrorDetails = {}): void {
  res.status(STATUS_BY_CODE[code]).json({ error: { code, message, details } });
}

/** Errors raised while reading the body, before any route runs (body-parser's `type`s). */
function bodyError(error: { type?: string; limit?: number; length?: number }): [ErrorCode, string, ErrorDetails] | undefined {
  switch (error.type) {
    case 'entity.parse.failed':
      return ['INVALID_ARGUMENT', 'request body is not valid JSON', { field: '(body)' }];
    case 'entity.too.large':
      return ['PAYLOAD_TOO_LARGE', `request body is over the limit of ${error.limit} bytes`, { limit: error.limit, length: error.length }];
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return ['INVALID_ARGUMENT', 'request body encoding is not supported; send UTF-8', {}];
    case 'request.aborted':
      return ['INVALID_ARGUMENT', 'request was aborted', {}];
    default:
      return undefined;
  }
}

export const errorHandler: ErrorRequestHandler = (error, req, res, _next) => {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (error instanceof FactumError) {
    if (error.code === 'INTERNAL') req.log?.error({ err: error }, 'internal error');
    // Contention passes: the same request can be sent again after a short pause.
    if (error.code === 'ABORTED') res.set('Retry-After', '1');
    sendError(res, error.code, error.message, error.details);
    return;
  }
  const fromBody = bodyError(error as { type?: string });
  if (fromBody) {
    sendError(res, ...fromBody);
    return;
  }
  req.log?.error({ err: error }, 'unexpected error');
  sendError(res, 'INTERNAL', 'internal server error');
};

export const notFoundHandler: RequestHandler = (req, res) => {
  sendError(res, 'NOT_FOUND', `no route for ${req.method} ${req.path}`, { method: req.method, path: req.path });
};
