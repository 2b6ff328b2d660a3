import { Router } from 'express';
import type { FactumContext } from '../../usecases/context.ts';
import {
  ackConsumer,
  deleteConsumer,
  getConsumer,
  listConsumers,
  registerConsumer,
  type ConsumerRequest,
} from '../../usecases/subscriptions/consumers.ts';
import { validate } from '../validate.ts';

/** Durable consumers: register, list, read, delete, acknowledge. Subscribing as one is in subscriptions.ts. */
export function consumersRouter(ctx: FactumContext): Router {
  const router = Router();

  router.get('/databases/:database/consumers', validate('listConsumers'), async (_req, res) => {
    res.json(await listConsumers(ctx, res.locals.params.database as string));
  });

  router.post('/databases/:database/consumers', validate('registerConsumer'), async (req, res) => {
    const database = res.locals.params.database as string;
    const { consumer, created } = await registerConsumer(ctx, database, req.body as ConsumerRequest);
    res.status(created ? 201 : 200).location(`/databases/${database}/consumers/${consumer.name}`).json(consumer);
  });

  router.get('/databases/:database/consumers/:consumer', validate('getConsumer'), async (_req, res) => {
    const { database, consumer } = res.locals.params as { database: string; consumer: string };
    res.json(await getConsumer(ctx, database, consumer));
  });

  router.delete('/databases/:database/consumers/:consumer', validate('deleteConsumer'), async (_req, res) => {
    const { database, consumer } = res.locals.params as { database: string; consumer: string };
    await deleteConsumer(ctx, database, consumer);
    res.status(204).end();
  });

  router.post('/databases/:database/consumers/:consumer/ack', validate('ackConsumer'), async (req, res) => {
    const { database, consumer } = res.locals.params as { database: string; consumer: string };
    res.json(await ackConsumer(ctx, database, consumer, (req.body as { revision: number }).revision));
  });

  return router;
}
