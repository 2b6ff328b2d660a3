/**
 * The nesting limit on JSON from clients (MAX_JSON_DEPTH, openapi.yaml says it too). JSON.parse
 * reads JSON nested ten thousand levels deep, but what comes after it recurses (schema checks of
 * selectors, JSON.stringify of a stored event in a group commit) and overflows the stack. So
 * every JSON document the server parses from a request is checked right after parsing: bodies,
 * multipart metadata parts, the console's JSON form fields.
 */
import type { RequestHandler } from 'express';
import { InvalidArgumentError } from '../core/errors.ts';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../core/json-depth.ts';

/**
 * Refuses `value` if it nests deeper than the limit. `field` goes into the details (the request
 * field it came from); `name` is how the message calls it, for forms that show labels.
 */
export function assertJsonNesting(value: unknown, field: string, name = field): void {
  if (!nestsDeeperThan(value, MAX_JSON_DEPTH)) return;
  throw new InvalidArgumentError(`${name} nests arrays and objects deeper than the limit of ${MAX_JSON_DEPTH} levels`, {
    field,
    limit: MAX_JSON_DEPTH,
    reason: 'max_depth',
  });
}

/** A JSON request body (any JSON media type, as express.json parsed it), held to the limit. */
export const jsonBodyNesting: RequestHandler = (req, _res, next) => {
  // Only the JSON parser has run at this point, so a body here is parsed JSON.
  if (req.body !== null && typeof req.body === 'object') assertJsonNesting(req.body, '(body)', 'the request body');
  next();
};
