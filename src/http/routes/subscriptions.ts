/**
 * Streams over HTTP: subscriptions (SSE or NDJSON; WebSocket is in ../websocket.ts), streamed
 * queries, live state views, and offsets. Mounted before the events and state-views routers:
 * a query or a view read that does not ask for a stream passes on to them.
 */
import { Router, type NextFunction, type Request, type Response } from 'express';
import { InvalidArgumentError } from '../../core/errors.ts';
import type { FactumContext } from '../../usecases/context.ts';
import type { QueryRequest } from '../../usecases/query-events.ts';
import { openLiveView } from '../../usecases/subscriptions/live-view.ts';
import { readOffsets } from '../../usecases/subscriptions/offsets.ts';
import { openQueryStream } from '../../usecases/subscriptions/streamed-query.ts';
import { hubOf, openSubscription, runSubscription, type SubscriptionRequest } from '../../usecases/subscriptions/subscribe.ts';
import { splitRenderQuery, toRenderRequest, type RenderOptions } from '../render-query.ts';
import { admit, callerOf, EVENT_STREAM, NDJSON, prefers, startHttpStream, type StreamTransport } from '../streams.ts';
import { validate } from '../validate.ts';

/** The GET form's parameters (and a WebSocket URL's), as validated. */
export interface SubscribeParameters {
  stream?: string;
  event_type?: string;
  subject?: string;
  /** Digits or `latest`: validation checks it, but leaves a number in a parameter as text. */
  after?: string | number;
  consumer?: string;
}

/** The subscription request the GET form's parameters (also a WebSocket URL's) stand for. */
export function subscriptionFromParameters(query: SubscribeParameters): SubscriptionRequest {
  const { stream, event_type, subject, after, consumer } = query;
  const fields = Object.fromEntries(Object.entries({ stream, event_type, subject }).filter(([, v]) => v !== undefined));
  return {
    ...(Object.keys(fields).length > 0 && { selectors: [fields] }),
    ...(after !== undefined && { after: after === 'latest' ? 'latest' : Number(after) }),
    ...(consumer !== undefined && { consumer }),
  };
}

/** Whether a WebSocket URL's parameters ask for a subscription to start at once. */
export function startsAtOnce(query: SubscribeParameters): boolean {
  return Object.values(query).some((v) => v !== undefined);
}

/** Passes a request on to the next route unless it asks for `media`. */
const onlyFor = (media: string) => (req: Request, _res: Response, next: NextFunction) => (prefers(req, media) ? next() : next('route'));

export function subscriptionsRouter(ctx: FactumContext): Router {
  const router = Router();

  router.get('/databases/:database/subscriptions', validate('subscribe'), async (req, res) => {
    await serveSubscription(ctx, req, res, subscriptionFromParameters(res.locals.query as SubscribeParameters));
  });

  router.post('/databases/:database/subscriptions', validate('subscribeByQuery'), async (req, res) => {
    await serveSubscription(ctx, req, res, req.body as SubscriptionRequest);
  });

  router.post(
    '/databases/:database/query',
    onlyFor(NDJSON),
    (req, res, next) => {
      // Before validation fills in the paged default: only a limit the client gave caps the stream.
      const limit = (req.body as { limit?: unknown } | undefined)?.limit;
      res.locals.streamCap = typeof limit === 'number' ? limit : undefined;
      next();
    },
    validate('queryEvents'),
    async (req, res) => {
      const stream = await openQueryStream(ctx, res.locals.params.database as string, req.body as QueryRequest, res.locals.streamCap as number | undefined);
      const sink = startHttpStream(req, res, NDJSON);
      await stream(sink, new AbortController().signal);
      sink.close();
    },
  );

  router.get('/databases/:database/state-views/:name', onlyFor(EVENT_STREAM), validate('renderStateView'), async (req, res) => {
    const { database, name } = res.locals.params as { database: string; name: string };
    const slot = admit(hubOf(ctx), callerOf(res.locals.principal, req.ip), res);
    try {
      const request = toRenderRequest(res.locals.query as RenderOptions, splitRenderQuery(req.query).params);
      const follow = await openLiveView(ctx, database, name, request);
      const sink = (slot.sink = startHttpStream(req, res, EVENT_STREAM));
      await follow(sink, slot.signal);
      sink.close();
    } finally {
      slot.release();
    }
  });

  router.get('/databases/:database/offsets', validate('getOffsets'), async (_req, res) => {
    res.set('Cache-Control', 'no-store').json(await readOffsets(ctx, res.locals.params.database as string, (res.locals.query as { limit: number }).limit));
  });

  return router;
}

async function serveSubscription(ctx: FactumContext, req: Request, res: Response, request: SubscriptionRequest): Promise<void> {
  const transport = transportOf(req);
  const slot = admit(hubOf(ctx), callerOf(res.locals.principal, req.ip), res);
  try {
    const resumeAfter = transport === EVENT_STREAM ? lastEventId(req) : undefined;
    const subscription = await openSubscription(ctx, res.locals.params.database as string, request, resumeAfter);
    const sink = (slot.sink = startHttpStream(req, res, transport));
    await runSubscription(ctx, subscription, sink, slot.signal);
    sink.close();
  } finally {
    slot.release();
  }
}

function transportOf(req: Request): StreamTransport {
  const chosen = req.accepts([NDJSON, EVENT_STREAM]);
  if (!chosen) throw new InvalidArgumentError(`a subscription is sent as ${NDJSON} or ${EVENT_STREAM}; Accept allows neither`, { field: 'accept' });
  return chosen as StreamTransport;
}

/** The revision an EventSource resumes after when it reconnects. */
function lastEventId(req: Request): number | undefined {
  const header = req.headers['last-event-id'];
  if (header === undefined || header === '') return undefined;
  if (typeof header !== 'string' || !/^\d{1,15}$/.test(header)) {
    throw new InvalidArgumentError('Last-Event-ID must be a revision this server sent', { field: 'Last-Event-ID' });
  }
  return Number(header);
}
