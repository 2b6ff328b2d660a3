/** Database pages: the list with its create form, a database's page, and deleting one. */
import type { Router } from 'express';
import type { FactumContext } from '../../usecases/context.ts';
import { createDatabase, deleteDatabase, listDatabases } from '../../usecases/databases.ts';
import { requireAccess } from '../access/authorize.ts';
import { databasePage } from './database-page.ts';
import { isHtmx } from './htmx.ts';
import { shownInPlace } from './page-errors.ts';
import { pageRouter, smallForm } from './page-router.ts';
import type { SendPage } from './views.ts';

export function databasePages(ctx: FactumContext, page: SendPage): Router {
  const router = pageRouter(ctx);

  router.get('/', async (_req, res) => {
    page(res, 'console.njk', { title: 'Databases', databases: await listDatabases(ctx, res.locals.principal) });
  });

  router.post('/console/databases', smallForm, async (req, res) => {
    const name = String((req.body as Record<string, unknown> | undefined)?.name ?? '').trim();
    try {
      // The name is in the form: the key must reach it (the guard checked admin).
      requireAccess(res, 'admin', name);
      await createDatabase(ctx, name);
    } catch (error) {
      const { status, message } = shownInPlace(error, req);
      const context = { title: 'Databases', databases: await listDatabases(ctx, res.locals.principal), createName: name, createError: message };
      return page(res, isHtmx(req) ? 'partials/databases.njk' : 'console.njk', context, status);
    }
    if (!isHtmx(req)) return res.redirect(303, `/databases/${name}/console`);
    page(res, 'partials/databases.njk', { databases: await listDatabases(ctx, res.locals.principal), notice: { kind: 'created', name } }, 201);
  });

  router.get('/databases/:database/console', async (_req, res) => {
    page(res, 'database.njk', await databasePage(ctx, res.locals.db.name));
  });

  router.get('/databases/:database/console/delete', async (_req, res) => {
    const { db } = res.locals;
    page(res, 'confirm-delete.njk', { title: `Delete ${db.name}`, db });
  });

  router.post('/databases/:database/console/delete', smallForm, async (req, res) => {
    const name = res.locals.db.name;
    await deleteDatabase(ctx, name);
    if (!isHtmx(req)) return res.redirect(303, '/');
    // From the list, the list is redrawn; from the database's own page there is nothing left to show.
    if (req.get('HX-Target') === 'databases') {
      return page(res, 'partials/databases.njk', { databases: await listDatabases(ctx, res.locals.principal), notice: { kind: 'deleted', name } });
    }
    res.set('HX-Redirect', '/').status(200).end();
  });

  return router;
}
