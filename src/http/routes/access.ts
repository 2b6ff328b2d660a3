/** API keys, usage and quotas, self-service onboarding, and the description of the API for agents. */
import { Router } from 'express';
import type { Permission } from '../../core/access.ts';
import { NotFoundError } from '../../core/errors.ts';
import { createKey, getKey, listKeys, revokeKey } from '../../usecases/access/keys.ts';
import { onboard } from '../../usecases/access/onboarding.ts';
import { setQuota, usageFor, usageOf } from '../../usecases/access/quotas.ts';
import type { FactumContext } from '../../usecases/context.ts';
import { principalOf } from '../access/authorize.ts';
import { rateLimitPerCaller } from '../access/rate-limits.ts';
import { llmsTxt } from '../llms-txt.ts';
import { validate } from '../validate.ts';

export interface OnboardingSettings {
  enabled: boolean;
  eventsQuota: number;
  /** Onboarding calls per client address per hour. */
  perHour: number;
}

export function accessRouter(ctx: FactumContext, options: { onboarding: OnboardingSettings }): Router {
  const router = Router();
  router.get('/keys', validate('listKeys'), async (_req, res) => {
    res.json({ keys: await listKeys(ctx) });
  });
  router.post('/keys', validate('createKey'), async (req, res) => {
    const body = req.body as { name: string; databases: string[]; permissions: Permission[]; expires_at?: string | null };
    const created = await createKey(ctx, body);
    // The secret is in this answer only: nothing on the way may keep it.
    res.status(201).set('Cache-Control', 'no-store').location(`/keys/${created.key.id}`).json(created);
  });
  router.get('/keys/:key_id', validate('getKey'), async (_req, res) => {
    res.json({ key: await getKey(ctx, res.locals.params.key_id as string) });
  });
  router.delete('/keys/:key_id', validate('revokeKey'), async (_req, res) => {
    await revokeKey(ctx, res.locals.params.key_id as string);
    res.status(204).end();
  });

  router.get('/usage', validate('getUsage'), async (_req, res) => {
    res.json({ databases: await usageFor(ctx, principalOf(res)!) });
  });
  router.get('/databases/:database/quota', validate('getQuota'), async (_req, res) => {
    res.json(await usageOf(ctx, res.locals.params.database as string));
  });
  router.put('/databases/:database/quota', validate('setQuota'), async (req, res) => {
    res.json(await setQuota(ctx, res.locals.params.database as string, (req.body as { events: number | null }).events));
  });

  const onboardingLimit = rateLimitPerCaller({ requests: options.onboarding.perHour, windowMs: 3600_000 }, 'onboarding calls from this address');
  router.post(
    '/onboard',
    (_req, _res, next) => next(options.onboarding.enabled ? undefined : new NotFoundError('onboarding is not enabled on this server', { setting: '--onboarding' })),
    onboardingLimit,
    validate('onboard'),
    async (req, res) => {
      const onboarded = await onboard(ctx, req.body as { name: string; email: string }, options.onboarding.eventsQuota);
      res.status(201).set('Cache-Control', 'no-store').location(`/databases/${onboarded.database.name}`).json(onboarded);
    },
  );

  router.get('/llms.txt', validate('llmsTxt'), (req, res) => {
    res.type('text/plain; charset=utf-8').send(llmsTxt(`${req.protocol}://${req.headers.host ?? '127.0.0.1'}`, { onboarding: options.onboarding.enabled }));
  });
  return router;
}
