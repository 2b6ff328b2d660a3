/**
 * Appends and paged queries, the busiest requests by far, answered from node:http without
 * passing through Express. What Express does for every request before the first middleware
 * (swapping the prototypes of request and response, the router's walk over its layers, parsing
 * the URL and its query) cost more CPU than the append itself: about 90 of the 150 µs a
 * single-event append took.
 *
 * The lane runs the app's own request-wide middlewares, the same functions in the same order
 * (request metrics, the log line, the access check, the JSON body, its nesting limit, then the
 * append or query route with its validation): every check is the one the app makes. It takes
 * only requests that leave nothing to what it skips, told from the request line and headers
 * before a byte of the body is read:
 * - `POST /databases/{database}/events` or `/query`, spelled plainly (no query string, no
 *   trailing slash or other case: Express's router matches those);
 * - no `Origin` and no `Sec-Fetch-Site`: no browser sent it, so CORS and the refusal of other
 *   origins have nothing to do (they are the app's, for every request that has either);
 * - a body jsonBody reads itself (a JSON media type spelled plainly, a Content-Length, no
 *   Content-Encoding), no `ce-` header (binary mode is the events router's), and for a query no
 *   Accept that could ask for a stream;
 * - no rate limit on the server (express-rate-limit keys requests by Express's `req.ip`).
 * Everything else, and every request on a server with rate limits, goes to the app as before.
 *
 * Its middlewares see a request and response with what they read of Express's (`path`,
 * `originalUrl`, `params`, `query`, `res.locals`; Node sets `res.req` itself) and otherwise
 * Node's own; they
 * answer with Node's `setHeader` and `end`. Errors are answered as the app's error handler
 * answers them (errors.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { InternalError } from '../core/errors.ts';
import { attributeHeaderOf } from './cloudevents-binding.ts';
import { answerError } from './errors.ts';
import { inSeries } from './middleware-series.ts';
import { giveRequestLogger } from './request-log.ts';
import { mayAskForNdjson } from './streams.ts';

export interface DirectLaneOptions {
  /** The app's request-wide middlewares in its order, ending with the one that routes appends and queries. */
  handlers: readonly RequestHandler[];
  /** Whether jsonBody reads this request's body itself. */
  readsPlainJson: (req: IncomingMessage) => boolean;
  /** With rate limits on, nothing takes the lane. */
  rateLimited: boolean;
  logger: Logger;
}

/** Answers the request and returns true, or returns false having touched nothing. */
export type DirectLane = (req: IncomingMessage, res: ServerResponse) => boolean;

const LANE_PATH = /^\/databases\/[^/?#%]+\/(events|query)$/;

export function directLane(options: DirectLaneOptions): DirectLane {
  if (options.rateLimited) return () => false;
  const run = inSeries(options.handlers);
  const { readsPlainJson, logger } = options;
  return (req, res) => {
    if (req.method !== 'POST') return false;
    const url = req.url!;
    const path = LANE_PATH.exec(url);
    if (path === null) return false;
    const headers = req.headers;
    if (headers.origin !== undefined || headers['sec-fetch-site'] !== undefined) return false;
    if (path[1] === 'query' && mayAskForNdjson(req)) return false;
    if (!readsPlainJson(req) || attributeHeaderOf(req) !== undefined) return false;

    const request = req as Request & { path: string };
    request.path = url;
    request.originalUrl = url;
    request.params = {};
    request.query = {};
    const response = res as Response;
    response.locals = Object.create(null) as Response['locals'];
    run(request, response, (error?: unknown) => {
      giveRequestLogger(req, logger);
      // The last middleware routes every request the lane takes: passing one on is a defect here.
      answerError(req, res, error ?? new InternalError(`the direct lane took ${req.method} ${url} and nothing answered it`));
    });
    return true;
  };
}
