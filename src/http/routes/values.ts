import { Router } from 'express';
import type { BuiltInAttr } from '../../core/selectors.ts';
import type { FactumContext } from '../../usecases/context.ts';
import { suggestValues } from '../../usecases/suggest-values.ts';
import { validate } from '../validate.ts';

/** Type-ahead for API clients: the distinct values of an attribute or an extension, by prefix. */
export function valuesRouter(ctx: FactumContext): Router {
  const router = Router();
  router.get('/databases/:database/values/extensions/:name', validate('listExtensionValues'), async (_req, res) => {
    const { database, name } = res.locals.params as { database: string; name: string };
    const { prefix, limit } = res.locals.query as { prefix?: string; limit?: number };
    res.json({ values: await suggestValues(ctx, database, { extension: name, prefix, limit }) });
  });
  router.get('/databases/:database/values/:attribute', validate('listAttributeValues'), async (_req, res) => {
    const { database, attribute } = res.locals.params as { database: string; attribute: BuiltInAttr };
    const { prefix, limit } = res.locals.query as { prefix?: string; limit?: number };
    res.json({ values: await suggestValues(ctx, database, { attribute, prefix, limit }) });
  });
  return router;
}
