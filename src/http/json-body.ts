/**
 * Reads JSON request bodies as express.json does, with a short path for what nearly every API
 * client sends: a Content-Length, no Content-Encoding, and one of the JSON media types the API
 * takes, spelled plainly, with no charset or UTF-8. For those the body is read, decoded and
 * parsed here, without body-parser's media-type and charset parsing (twice per request), its
 * decoder lookups and its stream plumbing. The outcome is the same: `req.body` holds the parsed
 * value ({} for an empty body), a leading byte order mark is dropped, invalid UTF-8 reads as
 * U+FFFD, `verify` sees the bytes first, and a body that is not JSON fails with body-parser's
 * error type, which errors.ts answers. Every other request (chunked, compressed, another
 * charset, over the limit, an unusual spelling of the type) goes to express.json itself.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type RequestHandler } from 'express';

export interface JsonBodyOptions {
  /** Largest accepted body, in bytes. */
  limit: number;
  /** Media types to parse, as express.json takes them. */
  type: string[];
  strict: boolean;
  /** express.json's `verify`: sees the body's bytes before they are parsed. */
  verify?: (req: IncomingMessage, res: ServerResponse, body: Buffer, encoding: string) => void;
}

/**
 * Content-Type values, lowercased, that express.json with the types below parses as UTF-8
 * JSON: the short path takes these and nothing else.
 */
const PLAIN_JSON_TYPES = ['application/json', 'application/cloudevents+json', 'application/cloudevents-batch+json'].flatMap((type) => [
  type,
  `${type}; charset=utf-8`,
  `${type};charset=utf-8`,
]);

/** Whether a request's body is one the short path reads: the test jsonBody() makes with `options`. */
export function plainJsonRequests(options: Pick<JsonBodyOptions, 'limit' | 'type'>): (req: IncomingMessage) => boolean {
  const plainTypes = new Set(PLAIN_JSON_TYPES.filter((type) => options.type.some((accepted) => accepts(accepted, type.split(';')[0]!))));
  return (req) => {
    const headers = req.headers;
    const contentType = headers['content-type'];
    const lengthHeader = headers['content-length'];
    const encoding = headers['content-encoding'];
    return (
      contentType !== undefined &&
      lengthHeader !== undefined &&
      headers['transfer-encoding'] === undefined &&
      (encoding === undefined || encoding.toLowerCase() === 'identity') &&
      plainTypes.has(contentType.toLowerCase()) &&
      !req.readableEnded &&
      Number(lengthHeader) <= options.limit
    );
  };
}

/** What body-parser raises for a body that does not parse; errors.ts answers it by its `type`. */
function bodyError(message: string, status: number, type: string, cause?: unknown): Error {
  return Object.assign(new Error(message, { cause }), { status, statusCode: status, expose: true, type });
}

export function jsonBody(options: JsonBodyOptions): RequestHandler {
  const fallback = express.json(options);
  // Strict parsing refuses some bodies only after reading them: leave it all to body-parser.
  if (options.strict) return fallback;
  const isPlain = plainJsonRequests(options);
  return (req, res, next) => {
    if (!isPlain(req)) return fallback(req, res, next);
    if (!('body' in req)) (req as { body?: unknown }).body = undefined;
    // The listeners are shared functions with the reading's state on the request: no closures
    // to make for every request.
    (req as Reading)[READING] = { chunks: [], received: 0, res, next, verify: options.verify };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAborted);
  };
}

const READING = Symbol('reading a JSON body');

type Reading = IncomingMessage & {
  [READING]?: { chunks: Buffer[]; received: number; res: ServerResponse; next: (err?: unknown) => void; verify: JsonBodyOptions['verify'] };
};

function onData(this: Reading, chunk: Buffer): void {
  const reading = this[READING]!;
  reading.chunks.push(chunk);
  reading.received += chunk.length;
}

function stopReading(req: Reading): NonNullable<Reading[typeof READING]> {
  const reading = req[READING]!;
  req[READING] = undefined;
  req.off('data', onData);
  req.off('end', onEnd);
  req.off('error', onAborted);
  return reading;
}

// An aborted request ends in an error ('aborted'), as body-parser reports it.
function onAborted(this: Reading): void {
  stopReading(this).next(bodyError('request aborted', 400, 'request.aborted'));
}

function onEnd(this: Reading): void {
  const { chunks, received, res, next, verify } = stopReading(this);
  const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received);
  if (verify) {
    try {
      verify(this, res, body, 'utf-8');
    } catch (err) {
      return next(Object.assign(bodyError(err instanceof Error ? err.message : String(err), 403, (err as { type?: string }).type ?? 'entity.verify.failed', err), { body }));
    }
  }
  let text = body.toString('utf8');
  // Decoding as body-parser does drops a leading byte order mark.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.length === 0) {
    (this as { body?: unknown }).body = {};
    return next();
  }
  try {
    (this as { body?: unknown }).body = JSON.parse(text);
  } catch (err) {
    return next(bodyError(err instanceof Error ? err.message : 'invalid JSON', 400, 'entity.parse.failed', err));
  }
  next();
}

/** Whether express.json's `type` entry takes this media type (exact, or a `+json` wildcard). */
function accepts(accepted: string, mediaType: string): boolean {
  if (accepted === mediaType) return true;
  const wildcard = /^([a-z]+)\/\*\+([a-z]+)$/.exec(accepted);
  return wildcard !== null && mediaType.startsWith(`${wildcard[1]}/`) && mediaType.endsWith(`+${wildcard[2]}`);
}
