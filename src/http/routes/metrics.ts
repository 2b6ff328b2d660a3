import { Router } from 'express';
import { NotFoundError } from '../../core/errors.ts';
import type { AppMetrics } from '../request-metrics.ts';
import { validate } from '../validate.ts';

/** `GET /metrics`: the Prometheus text format; a server built without metrics has none to give. */
export function metricsRouter(metrics: AppMetrics | undefined): Router {
  const router = Router();
  router.get('/metrics', validate('getMetrics'), async (_req, res) => {
    if (!metrics) throw new NotFoundError('this server keeps no metrics');
    const { contentType, body } = await metrics.scrape();
    res.type(contentType).send(body);
  });
  return router;
}
