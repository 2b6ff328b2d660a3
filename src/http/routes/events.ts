import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import { parseConstraints } from '../../core/constraints.ts';
import { InvalidArgumentError } from '../../core/errors.ts';
import { parseStoredEvent, type CloudEvent } from '../../core/events.ts';
import { operations, schemaError } from '../../schema/openapi.ts';
import { appendEvents } from '../../usecases/append-events.ts';
import type { FactumContext } from '../../usecases/context.ts';
import type { ConsumerAck } from '../../usecases/subscriptions/consumer-ack.ts';
import { getEvent, listEvents, queryEvents, type QueryRequest } from '../../usecases/query-events.ts';
import {
  binaryModeEvent,
  binaryModeMessage,
  constraintsHeader,
  CONSTRAINTS_HEADER,
  eventReadMode,
  isBinaryModeAppend,
  mediaTypeOf,
  STRUCTURED_MEDIA_TYPE,
} from '../cloudevents-binding.ts';
import { eventsJson, keepArrivedEvents, sendEvents } from '../raw-json.ts';
import { validate } from '../validate.ts';
import { matchOperation } from '../access/operation-match.ts';
import { inSeries } from '../middleware-series.ts';
import { mayAskForNdjson, NDJSON, prefers } from '../streams.ts';

export interface EventsRouterOptions {
  /** Largest accepted body, in bytes: a binary-mode event's data is held to it as JSON bodies are. */
  maxBodyBytes: number;
}

const BATCH_MEDIA_TYPE = 'application/cloudevents-batch+json';
const APPEND_MEDIA_TYPES = ['application/json', STRUCTURED_MEDIA_TYPE, BATCH_MEDIA_TYPE];

export function eventsRouter(ctx: FactumContext, options: EventsRouterOptions): Router {
  const router = Router();
  // Binary mode's data may be of any media type; what the app's JSON parser left unread is read as bytes.
  const dataBytes = express.raw({ type: () => true, limit: options.maxBodyBytes });

  // One event in binary mode: its attributes in ce- headers, its data the body.
  router.post('/databases/:database/events', binaryModeOnly, dataBytes, async (req, res) => {
    const event = binaryModeEvent(req);
    const constraints = parseConstraints(constraintsHeader(req));
    res.json(await appendEvents(ctx, res.locals.params.database as string, [event], constraints));
  });

  // An AppendRequest, a batch, or one event in structured mode.
  router.post('/databases/:database/events', ...appendJsonRoute(ctx));

  router.get('/databases/:database/events', validate('listEvents'), async (_req, res) => {
    const { after, limit } = res.locals.query as { after: number; limit: number };
    const page = await listEvents(ctx, res.locals.params.database as string, after, limit);
    sendEvents(res, page.events, { has_more: page.has_more, next_cursor: page.next_cursor });
  });

  router.get('/databases/:database/events/:revision', validate('getEvent'), async (req, res) => {
    const raw = await getEvent(ctx, res.locals.params.database as string, res.locals.params.revision as number);
    res.vary('Accept');
    switch (eventReadMode(req, res.locals.query.content_mode)) {
      case 'json':
        res.type('application/json').send(raw.json);
        return;
      case 'structured':
        // Events are stored in the JSON event format already: the same text, named as such.
        res.type(STRUCTURED_MEDIA_TYPE).send(raw.json);
        return;
      case 'binary':
        sendBinaryMode(res, binaryModeMessage(parseStoredEvent(raw)));
    }
  });

  router.post('/databases/:database/query', ...queryRoute(ctx));

  return router;
}

function appendJsonRoute(ctx: FactumContext): RequestHandler[] {
  return [
    appendMediaTypeOnly,
    validate('appendEvents'),
    async (req, res) => {
      const { events, constraints, consumer_ack } = appendRequestOf(req);
      keepArrivedEvents(req, events);
      sendJson(res, await appendEvents(ctx, res.locals.params.database as string, events, parseConstraints(constraints), { consumerAck: consumer_ack }));
    },
  ];
}

function queryRoute(ctx: FactumContext): RequestHandler[] {
  return [
    validate('queryEvents'),
    async (req, res) => {
      const result = await queryEvents(ctx, res.locals.params.database as string, req.body as QueryRequest);
      sendJsonText(res, eventsJson(result.events, { has_more: result.has_more, next_cursor: result.next_cursor, revision: result.revision }));
    },
  ];
}

/**
 * A way in to this router's append (JSON forms) and paged query that skips the routing: appends
 * and queries are most of what a server serves, and reaching them through the router costs the
 * path matching of every router before it. Once the access check has named the operation from
 * openapi.yaml (its path is the route's), the request goes straight to the same handlers, with
 * the path's parameters as the router would give them. Binary-mode appends go to the router;
 * streamed queries and everything else go on down the app.
 */
export function eventsShortcut(ctx: FactumContext, router: Router): RequestHandler {
  const append = inSeries(appendJsonRoute(ctx));
  const query = inSeries(queryRoute(ctx));
  return (req, res, next) => {
    const operation = res.locals.authorizedOperation;
    if (operation === 'appendEvents') {
      if (isBinaryModeAppend(req)) return router(req, res, next);
      req.params = matchOperation(req.method, req.path)!.params;
      return append(req, res, next);
    }
    // A query that asks for a stream is the subscriptions router's.
    if (operation === 'queryEvents' && !(mayAskForNdjson(req) && prefers(req, NDJSON))) {
      req.params = matchOperation(req.method, req.path)!.params;
      return query(req, res, next);
    }
    next();
  };
}

const appendParams = operations.get('appendEvents')!.params!;

/** Passes binary-mode appends on, with their path checked as validate() would; others go to the next route. */
const binaryModeOnly: RequestHandler = (req, res, next) => {
  if (!isBinaryModeAppend(req)) return next('route');
  const params: Record<string, unknown> = { ...req.params };
  if (!appendParams(params)) return next(schemaError(appendParams.errors![0]!));
  res.locals.params = params;
  res.locals.query = {};
  next();
};

/** Refuses a body that is none of the append's forms, naming binary mode too (validate() knows only the JSON ones). */
const appendMediaTypeOnly: RequestHandler = (req, _res, next) => {
  const mediaType = mediaTypeOf(req.headers['content-type']);
  if (APPEND_MEDIA_TYPES.includes(mediaType)) return next();
  next(
    new InvalidArgumentError(`Content-Type must be ${APPEND_MEDIA_TYPES.join(' or ')}, or be the data of one event whose attributes are ce- headers (binary mode)`, {
      field: 'content-type',
      value: mediaType || null,
    }),
  );
};

/** The events and constraints of an append whose body validate() has checked. */
function appendRequestOf(req: Request): { events: CloudEvent[]; constraints?: unknown; consumer_ack?: ConsumerAck } {
  const header = constraintsHeader(req);
  switch (mediaTypeOf(req.headers['content-type'])) {
    case STRUCTURED_MEDIA_TYPE:
      return { events: [req.body as CloudEvent], constraints: header };
    case BATCH_MEDIA_TYPE:
      return { events: req.body as CloudEvent[], constraints: header };
    default: {
      if (header !== undefined) {
        throw new InvalidArgumentError(`${CONSTRAINTS_HEADER} is for a single event or a batch: an AppendRequest carries its constraints in its constraints field`, {
          field: CONSTRAINTS_HEADER,
          reason: 'mixed_forms',
        });
      }
      return req.body as { events: CloudEvent[]; constraints?: unknown; consumer_ack?: ConsumerAck };
    }
  }
}

/**
 * res.json without what a POST's answer does not need: an ETag (a hash of every answer, for
 * conditional requests that only GET and HEAD make) and the checks for them.
 */
function sendJson(res: Response, value: unknown): void {
  sendJsonText(res, JSON.stringify(value));
}

function sendJsonText(res: Response, body: string): void {
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

function sendBinaryMode(res: Response, message: { headers: Record<string, string>; body: Buffer }): void {
  // Set as they are: Express would add a charset to the Content-Type, which is the event's own.
  for (const [name, value] of Object.entries(message.headers)) res.setHeader(name, value);
  res.setHeader('Content-Length', message.body.length);
  res.end(message.body);
}
