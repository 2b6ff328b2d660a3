import { Router } from 'express';
import type { FactumContext } from '../../usecases/context.ts';
import { openapiText } from '../../schema/openapi.ts';

export function healthRouter(ctx: FactumContext, info: { version: string; startedAt: number }): Router {
  const router = Router();
  router.get('/health', (_req, res) => {
    res.type('text/plain').send('OK');
  });
  router.get('/health/detailed', async (_req, res) => {
    const storage = await ctx.store.health().catch((error: Error) => ({ status: 'unavailable' as const, message: error.message }));
    const healthy = storage.status === 'connected';
    res.status(healthy ? 200 : 503).json({
      status: healthy ? 'healthy' : 'unhealthy',
      version: info.version,
      storage: { adapter: ctx.store.adapter, ...storage },
      uptime_seconds: Math.floor((Date.now() - info.startedAt) / 1000),
    });
  });
  router.get('/openapi.yaml', (_req, res) => {
    res.type('application/yaml').send(openapiText);
  });
  return router;
}
