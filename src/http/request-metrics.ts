/**
 * Counts every request the app answers, by route template. The template comes from openapi.yaml
 * (the same matching the access check uses), never the URL itself, so the number of series
 * stays bounded however clients spell their paths: console pages are one value, `console`, and
 * every path that is neither API nor console another, `unmatched`.
 */
import type { RequestHandler } from 'express';
import { operations } from '../schema/openapi.ts';
import { matchOperation } from './access/operation-match.ts';
import { CONSOLE_PATH } from './console/index.ts';

/** What the app needs of the server's metrics. */
export interface AppMetrics {
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  /** The text Prometheus scrapes, and its media type. */
  scrape(): Promise<{ contentType: string; body: string }>;
}

/** Methods a label may name; any other is `other`, since a client may send any token. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export function measureRequests(metrics: AppMetrics): RequestHandler {
  return (req, res, next) => {
    const start = performance.now();
    // `close` also comes for answers the client stopped reading (a subscription it left).
    res.once('close', () => {
      const method = METHODS.has(req.method) ? req.method : 'other';
      // The access check has matched most requests already; the others are matched here.
      const authorized = res.locals.authorizedOperation;
      const route = (authorized !== undefined && operations.get(authorized)?.path) || routeTemplate(req.method, req.originalUrl);
      metrics.observeRequest(method, route, res.statusCode, (performance.now() - start) / 1000);
    });
    next();
  };
}

/** The openapi.yaml path template a request is, or `console`, or `unmatched`. */
export function routeTemplate(method: string, url: string): string {
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  let template: string | undefined;
  try {
    template = matchOperation(method, path)?.op.path;
  } catch {
    // A path parameter that is not valid percent-encoding: no operation, whatever its shape.
    template = undefined;
  }
  return template ?? (CONSOLE_PATH.test(path) ? 'console' : 'unmatched');
}
