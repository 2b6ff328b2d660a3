import { Router } from 'express';
import { parseConstraints } from '../../core/constraints.ts';
import type { CloudEvent } from '../../core/events.ts';
import { appendEvents } from '../../usecases/append-events.ts';
import type { FactumContext } from '../../usecases/context.ts';
import { getEvent, listEvents, queryEvents, type QueryRequest } from '../../usecases/query-events.ts';
import { sendEvents } from '../raw-json.ts';
import { validate } from '../validate.ts';

export function eventsRouter(ctx: FactumContext): Router {
  const router = Router();

  router.post('/databases/:database/events', validate('appendEvents'), async (req, res) => {
    // A bare array is the CloudEvents batch format; an object carries events and constraints.
    const body = Array.isArray(req.body)
      ? { events: req.body as CloudEvent[], constraints: undefined }
      : (req.body as { events: CloudEvent[]; constraints?: unknown });
    const result = await appendEvents(ctx, res.locals.params.database as string, body.events, parseConstraints(body.constraints));
    res.json(result);
  });

  router.get('/databases/:database/events', validate('listEvents'), async (_req, res) => {
    const { after, limit } = res.locals.query as { after: number; limit: number };
    const page = await listEvents(ctx, res.locals.params.database as string, after, limit);
    sendEvents(res, page.events, { has_more: page.has_more, next_cursor: page.next_cursor });
  });

  router.get('/databases/:database/events/:revision', validate('getEvent'), async (_req, res) => {
    const raw = await getEvent(ctx, res.locals.params.database as string, res.locals.params.revision as number);
    res.type('application/json').send(raw.json);
  });

  router.post('/databases/:database/query', validate('queryEvents'), async (req, res) => {
    const result = await queryEvents(ctx, res.locals.params.database as string, req.body as QueryRequest);
    sendEvents(res, result.events, { has_more: result.has_more, next_cursor: result.next_cursor, revision: result.revision });
  });

  return router;
}
