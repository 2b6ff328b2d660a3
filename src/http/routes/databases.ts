import { Router } from 'express';
import type { FactumContext } from '../../usecases/context.ts';
import { createDatabase, deleteDatabase, describeDatabase, listDatabases } from '../../usecases/databases.ts';
import { principalOf, requireAccess } from '../access/authorize.ts';
import { validate } from '../validate.ts';

export function databasesRouter(ctx: FactumContext): Router {
  const router = Router();
  router.get('/databases', validate('listDatabases'), async (_req, res) => {
    res.json({ databases: await listDatabases(ctx, principalOf(res)) });
  });
  router.post('/databases', validate('createDatabase'), async (req, res) => {
    const name = (req.body as { name: string }).name;
    // The database is named in the body: the key must reach it as well as be an admin key.
    requireAccess(res, 'admin', name);
    const database = await createDatabase(ctx, name);
    res.status(201).location(`/databases/${database.name}`).json({ database });
  });
  router.get('/databases/:database', validate('getDatabase'), async (_req, res) => {
    res.json(await describeDatabase(ctx, res.locals.params.database as string));
  });
  router.delete('/databases/:database', validate('deleteDatabase'), async (_req, res) => {
    await deleteDatabase(ctx, res.locals.params.database as string);
    res.status(204).end();
  });
  return router;
}
