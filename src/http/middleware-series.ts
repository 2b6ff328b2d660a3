/**
 * Several middlewares run as one: each in turn, as Express would run them as separate layers,
 * but without the router's work between them (matching each layer's path, processing its
 * parameters, restoring the request after it), which every request pays for every layer.
 * Errors go on as they would: `next(err)`, a throw, or a rejected promise reach the app's error
 * handlers. Only for middlewares that apply to every path and never call `next('route')`.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';

export function inSeries(handlers: readonly RequestHandler[]): RequestHandler {
  return (req, res, done) => step(handlers, 0, req, res, done);
}

function step(handlers: readonly RequestHandler[], index: number, req: Request, res: Response, done: NextFunction): void {
  if (index === handlers.length) return done();
  const next = nextAfter(handlers, index, req, res, done);
  try {
    const result = handlers[index]!(req, res, next) as unknown;
    if (result instanceof Promise) result.then(undefined, (err: unknown) => next(err ?? new Error('a middleware rejected without a reason')));
  } catch (err) {
    next(err);
  }
}

// Made by a function, not as a named local: the TypeScript loader names every named function
// it creates, which costs a property definition per request.
function nextAfter(handlers: readonly RequestHandler[], index: number, req: Request, res: Response, done: NextFunction): NextFunction {
  let called = false;
  return (err?: unknown) => {
    // A middleware that calls next twice (or throws after calling it) must not run the rest twice.
    if (called) return;
    called = true;
    if (err !== undefined && err !== null) return done(err);
    step(handlers, index + 1, req, res, done);
  };
}
