/**
 * The one place errors become HTTP answers: error codes to statuses, and anything thrown to
 * `{status, code, message, details}`. The API answers that as JSON; the console as its error page.
 */
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import multer from 'multer';
import { FactumError, InvalidArgumentError, PayloadTooLargeError, type ErrorCode, type ErrorDetails } from '../core/errors.ts';

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

/** An error as HTTP answers it: status, the public error fields, and headers that go with it. */
export interface HttpError {
  status: number;
  code: ErrorCode;
  message: string;
  details: ErrorDetails;
  headers: Record<string, string>;
}

type ErrorFields = [ErrorCode, string, ErrorDetails];

/**
 * Maps anything thrown to its HTTP answer. Server faults (INTERNAL, and whatever is not known
 * here) are logged with the request's logger; an unknown error's own message is never shown.
 */
export function toHttpError(error: unknown, req?: Request): HttpError {
  const known = knownError(error);
  if (!known) req?.log?.error({ err: error }, 'unexpected error');
  else if (known[0] === 'INTERNAL') req?.log?.error({ err: error }, 'internal error');
  const [code, message, details] = known ?? ['INTERNAL', 'internal server error', {}];
  // Contention passes: the same request can be sent again after a short pause.
  const headers: Record<string, string> = code === 'ABORTED' ? { 'Retry-After': '1' } : {};
  return { status: STATUS_BY_CODE[code], code, message, details, headers };
}

function knownError(error: unknown): ErrorFields | undefined {
  if (error instanceof multer.MulterError) error = multerError(error);
  if (error instanceof FactumError) return [error.code, error.message, error.details];
  return bodyError(error as BodyParserError) ?? clientError(error as ClientError);
}

interface BodyParserError {
  type?: string;
  limit?: number;
  length?: number;
}

/** Errors raised while reading the body, before any route runs (body-parser's `type`s). */
function bodyError(error: BodyParserError): ErrorFields | undefined {
  switch (error?.type) {
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

interface ClientError {
  status?: unknown;
  statusCode?: unknown;
  message?: unknown;
}

/**
 * Any other error that says it is the client's by a 4xx `status` (http-errors, body-parser's
 * other refusals, Express's path decoding of `/databases/%ff`): the request was wrong, not
 * the server. Its message describes the request, so it is shown.
 */
function clientError(error: ClientError): ErrorFields | undefined {
  const status = typeof error?.status === 'number' ? error.status : error?.statusCode;
  if (typeof status !== 'number' || status < 400 || status > 499) return undefined;
  const code: ErrorCode = status === 404 ? 'NOT_FOUND' : status === 413 ? 'PAYLOAD_TOO_LARGE' : 'INVALID_ARGUMENT';
  return [code, typeof error.message === 'string' && error.message ? error.message : 'bad request', {}];
}

/** The limits multer was given, to say which one a part went over. */
export interface MultipartLimits {
  fileSize?: number;
  fieldSize?: number;
}

/** multer's refusal of a multipart body, in the error table's terms. */
export function multerError(error: multer.MulterError, limits: MultipartLimits = {}): FactumError {
  const field = error.field;
  const over = (limit: number | undefined) => (limit === undefined ? 'over the size limit' : `over the limit of ${limit} bytes`);
  switch (error.code) {
    case 'LIMIT_FILE_SIZE':
      return new PayloadTooLargeError(`${field ?? 'a file part'} is ${over(limits.fileSize)}`, { field, limit: limits.fileSize });
    case 'LIMIT_FIELD_VALUE':
      return new PayloadTooLargeError(`${field ?? 'a field'} is ${over(limits.fieldSize)}`, { field, limit: limits.fieldSize });
    case 'LIMIT_UNEXPECTED_FILE':
      return new InvalidArgumentError(`unexpected file part "${field}": send only metadata and wasm`, { field });
    default:
      return new InvalidArgumentError(`malformed multipart upload: ${error.message}`, { reason: error.code });
  }
}

export function sendError(res: Response, code: ErrorCode, message: string, details: ErrorDetails = {}): void {
  res.status(STATUS_BY_CODE[code]).json({ error: { code, message, details } });
}

/** The API's answer to any error: the public error shape. */
export const errorHandler: ErrorRequestHandler = (error, req, res, _next) => {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const { status, code, message, details, headers } = toHttpError(error, req);
  res.status(status).set(headers).json({ error: { code, message, details } });
};

export const notFoundHandler: RequestHandler = (req, res) => {
  sendError(res, 'NOT_FOUND', `no route for ${req.method} ${req.path}`, { method: req.method, path: req.path });
};
