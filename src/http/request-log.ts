/**
 * One log line per request: what was asked and how it ended, as pino-http wrote it (`reqId`,
 * `req: {method, url}`, `res: {status}`, `responseTime`, "request completed"), without what it
 * costs on every request: two child loggers, each serialising the request when it is made,
 * whether or not the line is ever written. Here nothing is built unless the line's level is
 * enabled, and a request's own logger (`req.log`, for the error handler) is made only when asked
 * for.
 */
import type { IncomingMessage } from 'node:http';
import type { Express, RequestHandler } from 'express';
import type { Logger } from 'pino';

declare module 'node:http' {
  interface IncomingMessage {
    /** The request's logger: the server's, bound to this request's id. */
    log: Logger;
    /** Numbers requests in the order this server received them. */
    id: number;
  }
}

/**
 * Logs every request of `app`. The request's own logger is a getter on the app's request
 * prototype, made once, rather than a property defined on every request.
 */
export function logRequests(app: Express, logger: Logger): RequestHandler {
  const OWN_LOGGER = Symbol('request logger');
  Object.defineProperty(app.request, 'log', {
    configurable: true,
    get(this: IncomingMessage & { [OWN_LOGGER]?: Logger }) {
      return (this[OWN_LOGGER] ??= logger.child({ reqId: this.id }));
    },
  });
  let lastId = 0;
  return (req, res, next) => {
    const started = Date.now();
    const id = ++lastId;
    req.id = id;
    // `close` comes for every answer, also for one the client stopped reading.
    res.once('close', () => {
      const failed = res.statusCode >= 500;
      const level = failed ? 'error' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      const message = failed ? 'request errored' : !req.readableAborted && res.writableEnded ? 'request completed' : 'request aborted';
      logger[level](
        { reqId: id, req: { method: req.method, url: req.originalUrl ?? req.url }, res: { status: res.statusCode }, responseTime: Date.now() - started },
        message,
      );
    });
    next();
  };
}

/**
 * Gives `req.log` to a request no Express app has seen (direct-lane.ts), which has no app
 * request prototype to find it on: only when it is about to be needed, for an error.
 */
export function giveRequestLogger(req: IncomingMessage, logger: Logger): void {
  const id = req.id;
  if (!('log' in req)) Object.defineProperty(req, 'log', { configurable: true, value: logger.child({ reqId: id }) });
}
