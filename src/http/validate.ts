/** Request validation middleware, from openapi.yaml. */
import type { RequestHandler } from 'express';
import { InvalidArgumentError } from '../core/errors.ts';
import { operations, schemaError } from '../schema/openapi.ts';
import { assertAuthorized } from './access/authorize.ts';

declare module 'express-serve-static-core' {
  interface Locals {
    /** Validated (and type-coerced) path and query parameters. */
    params: Record<string, unknown>;
    query: Record<string, unknown>;
  }
}

export function validate(operationId: string): RequestHandler {
  const op = operations.get(operationId);
  if (!op) throw new Error(`openapi.yaml has no operation ${operationId}`);
  return (req, res, next) => {
    assertAuthorized(res, op);
    const params: Record<string, unknown> = { ...req.params };
    if (op.params && !op.params(params)) return next(schemaError(op.params.errors![0]!));
    const query: Record<string, unknown> = { ...(req.query as Record<string, unknown>) };
    if (op.query && !op.query(query)) return next(schemaError(op.query.errors![0]!));
    res.locals.params = params;
    res.locals.query = query;

    if (op.body.size > 0) {
      const mediaType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      const validator = op.body.get(mediaType);
      if (!validator) {
        return next(
          new InvalidArgumentError(`Content-Type must be ${[...op.body.keys()].join(' or ')}`, {
            field: 'content-type',
            value: mediaType || null,
          }),
        );
      }
      // Multipart parts are read (and checked) by the route itself, after this.
      if (mediaType !== 'multipart/form-data' && !validator(req.body)) return next(schemaError(validator.errors![0]!));
    }
    next();
  };
}
