/** Errors in the console: the shared mapping (../errors.ts), answered as HTML. */
import type { ErrorRequestHandler, Request } from 'express';
import { FactumError } from '../../core/errors.ts';
import { toHttpError, type HttpError } from '../errors.ts';
import { closeIfBodyUnread } from '../lingering-close.ts';
import { isHtmx } from './htmx.ts';
import type { SendPage } from './views.ts';

/**
 * Errors become an error page, or for htmx requests an alert placed in the page's alert region
 * (a fragment's own target, e.g. a table row, is no place for a message). As in the API, an
 * answer given before the body arrived closes the connection.
 */
export function pageErrorHandler(page: SendPage): ErrorRequestHandler {
  return (error, req, res, next) => {
    if (res.headersSent) return next(error);
    const { status, message, headers } = toHttpError(error, req);
    closeIfBodyUnread(req, res);
    res.set(headers);
    if (isHtmx(req)) {
      res.set({ 'HX-Retarget': '#alerts', 'HX-Reswap': 'innerHTML' });
      return page(res, 'partials/alert.njk', { message }, status);
    }
    page(res, 'error.njk', { title: status === 404 ? 'Not found' : 'Error', status, message }, status);
  };
}

/**
 * A failure a form or fragment shows in place of its result: any FactumError, by the shared
 * mapping, its headers (Retry-After) already on the response. Anything else is rethrown, for
 * the page error handler.
 */
export function shownInPlace(error: unknown, req: Request): HttpError {
  if (!(error instanceof FactumError)) throw error;
  const failure = toHttpError(error, req);
  req.res?.set(failure.headers);
  return failure;
}
