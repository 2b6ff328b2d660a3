import { Router } from 'express';
import type { FactumContext } from '../../usecases/context.ts';
import { createDatabase, deleteDatabase, describeDatabase, listDatabases } from '../../usecases/databases.ts';
import { validate } from '../validate.ts';

export function databasesRouter(ctx: FactumContext): Router {
  const router = Router();
  router.get('/databases', validate('listDatabases'), async (_req, res) => {
    res.json({ databases: await listDatabases(ctx) });
  });
  router.post('/databases', validate('createDatabase'), async (req, res) => {
    const database = await createDatabase(ctx, (req.body as { name: string }).name);
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
