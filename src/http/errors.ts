/**
 * The one place errors become HTTP answers: error codes to statuses, and anything thrown to
 * `{status, code, message, details}`. The API answers that as JSON; the console as its error page.
 */
import * as zlib from 'node:zlib';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import multer from 'multer';
import { FactumError, InvalidArgumentError, PayloadTooLargeError, type ErrorCode, type ErrorDetails } from '../core/errors.ts';
import { closeIfBodyUnread } from './lingering-close.ts';

export const STATUS_BY_CODE: Record<ErrorCode, number> = {
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
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
export function toHttpError(error: unknown, req?: IncomingMessage): HttpError {
  const known = knownError(error, req);
  if (!known) req?.log?.error({ err: error }, 'unexpected error');
  else if (known[0] === 'INTERNAL') req?.log?.error({ err: error }, 'internal error');
  const [code, message, details] = known ?? ['INTERNAL', 'internal server error', {}];
  return { status: STATUS_BY_CODE[code], code, message, details, headers: headersFor(code, details) };
}

/** What an answer with this error says besides its body: when to try again, how to authenticate. */
function headersFor(code: ErrorCode, details: ErrorDetails): Record<string, string> {
  // Contention passes: the same request can be sent again after a short pause.
  if (code === 'ABORTED') return { 'Retry-After': '1' };
  if (code === 'UNAUTHENTICATED') return { 'WWW-Authenticate': 'Bearer realm="factum"' };
  // A limit that lifts by itself says when (a rate limit); one that does not (a quota) does not.
  if (code === 'RESOURCE_EXHAUSTED' && typeof details.retry_after_seconds === 'number') return { 'Retry-After': String(details.retry_after_seconds) };
  return {};
}

function knownError(error: unknown, req: IncomingMessage | undefined): ErrorFields | undefined {
  if (error instanceof multer.MulterError) error = multerError(error);
  error = bodyError(error as BodyParserError, req) ?? error;
  if (error instanceof FactumError) return [error.code, error.message, error.details];
  return clientError(error as ClientError);
}

interface BodyParserError {
  type?: string;
  limit?: number;
  length?: number;
  encoding?: string;
  charset?: string;
  code?: unknown;
  errno?: unknown;
  message?: string;
}

/**
 * The content codings a JSON or form body may be sent in: those body-parser decodes (zstd where
 * this Node's zlib has it).
 */
export const BODY_CONTENT_CODINGS: readonly string[] = ['identity', 'gzip', 'deflate', 'br', ...('createZstdDecompress' in zlib ? ['zstd'] : [])];

/** The refusal of a body sent in a content coding the route does not decode. */
export function contentEncodingError(encoding: string, accepted: readonly string[]): InvalidArgumentError {
  const codings = accepted.filter((coding) => coding !== 'identity');
  const choices = codings.length === 0 ? '' : ` or as ${codings.length === 1 ? codings[0] : `${codings.slice(0, -1).join(', ')} or ${codings.at(-1)}`}`;
  return new InvalidArgumentError(`Content-Encoding "${encoding}" is not supported here: send the body uncompressed${choices}`, {
    field: 'content-encoding',
    value: encoding,
    accepted,
  });
}

/** Errors raised while reading the body, before any route runs (body-parser's `type`s). */
function bodyError(error: BodyParserError, req: IncomingMessage | undefined): FactumError | undefined {
  switch (error?.type) {
    case 'entity.parse.failed':
      return new InvalidArgumentError('request body is not valid JSON', { field: '(body)' });
    case 'entity.too.large':
      return new PayloadTooLargeError(`request body is over the limit of ${error.limit} bytes`, { limit: error.limit, length: error.length });
    case 'encoding.unsupported':
      return contentEncodingError(String(error.encoding), BODY_CONTENT_CODINGS);
    case 'charset.unsupported':
      return new InvalidArgumentError(`request body charset "${error.charset}" is not supported; send UTF-8`, { field: 'content-type', value: error.charset });
    case 'request.aborted':
      return new InvalidArgumentError('request was aborted', {});
  }
  // zlib's own errors, passed on as they are (with a 400): the body is not what its
  // Content-Encoding says. zlib names them Z_DATA_ERROR, Z_BUF_ERROR, …; brotli ERR__….
  if (typeof error?.errno === 'number' && typeof error.code === 'string' && /^(Z_|ERR__)/.test(error.code)) {
    const encoding = String(req?.headers['content-encoding'] ?? '');
    return new InvalidArgumentError(`request body does not decode as its Content-Encoding "${encoding}": ${error.message}`, {
      field: 'content-encoding',
      value: encoding,
    });
  }
  return undefined;
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

/**
 * What a multipart body that could not be read is, in the error table's terms. multer's own
 * refusals say which rule broke. Everything else multer passes on is busboy's (no boundary, a
 * form cut short, a part header over its size, an unsupported content type) or the request's
 * own (aborted, closed): the body was malformed. Memory storage writes nothing that could fail.
 */
export function multipartError(error: unknown, limits: MultipartLimits = {}): FactumError {
  if (error instanceof FactumError) return error;
  if (error instanceof multer.MulterError) return multerError(error, limits);
  const reason = error instanceof Error ? error.message : String(error);
  return new InvalidArgumentError(`the multipart body is malformed: ${reason}`, { field: '(body)', reason: 'malformed_multipart' });
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

/** The public error shape, `{"error": {code, message, details}}`. */
export function errorBody(failure: Pick<HttpError, 'code' | 'message' | 'details'>): { error: { code: ErrorCode; message: string; details: ErrorDetails } } {
  return { error: { code: failure.code, message: failure.message, details: failure.details } };
}

export function sendError(res: Response, code: ErrorCode, message: string, details: ErrorDetails = {}): void {
  res.status(STATUS_BY_CODE[code]).json(errorBody({ code, message, details }));
}

/**
 * An API error handler: the public error shape, with `envelope`'s fields beside `error` (the
 * process route's `success: false`). A refusal that came before the body was read (a bad path,
 * an unknown database, ahead of a large upload) answers at once and closes the connection.
 */
export function jsonErrorHandler(envelope: Record<string, unknown> = {}): ErrorRequestHandler {
  return (error, req, res, _next) => answerError(req, res, error, envelope);
}

/** What jsonErrorHandler answers, for a request no Express app has seen (direct-lane.ts). */
export function answerError(req: IncomingMessage, res: ServerResponse, error: unknown, envelope: Record<string, unknown> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const failure = toHttpError(error, req);
  closeIfBodyUnread(req, res);
  const body = JSON.stringify({ ...envelope, ...errorBody(failure) });
  res.statusCode = failure.status;
  for (const [name, value] of Object.entries(failure.headers)) res.setHeader(name, value);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

/** The API's answer to any error: the public error shape. */
export const errorHandler: ErrorRequestHandler = jsonErrorHandler();

export const notFoundHandler: RequestHandler = (req, res) => {
  closeIfBodyUnread(req, res);
  sendError(res, 'NOT_FOUND', `no route for ${req.method} ${req.path}`, { method: req.method, path: req.path });
};
