/**
 * State change pages: uploading and deleting state changes, a state change's own page, and
 * sending it a command. On the database page each has a row with a command form whose outcome
 * htmx swaps in below the form; on its own page the same form works without JavaScript.
 */
import type { RequestHandler, Router } from 'express';
import type { FactumContext } from '../../usecases/context.ts';
import { describeDatabase } from '../../usecases/databases.ts';
import { publishStateChange, stateChangeSummary, stateChangeVersions } from '../../usecases/state-changes.ts';
import { multipartUpload } from '../upload.ts';
import { commandFormBody } from './page-router.ts';
import { CHANGE_LABELS, emptyCommandForm, readChangeForm, readCommandForm, requireWasm, toChangeDefinition } from './component-forms.ts';
import { addDeleteRoutes, addUploadRoute, componentRouter, STATE_CHANGE_KIND } from './component-routes.ts';
import { sendCommand } from './command-view.ts';
import { recentEvents } from './database-page.ts';
import { fromDatabasePage } from './htmx.ts';
import type { SendPage } from './views.ts';

/** A command and its parameters are JSON documents of their own, up to a size an API body could be. */

export function stateChangePages(ctx: FactumContext, page: SendPage, maxComponentBytes: number, checkCsrf: RequestHandler): Router {
  const router = componentRouter(ctx, STATE_CHANGE_KIND);

  addUploadRoute(router, ctx, page, STATE_CHANGE_KIND, [multipartUpload(maxComponentBytes), checkCsrf], {
    contextKey: 'changeForm',
    labels: CHANGE_LABELS,
    read: readChangeForm,
    publish: async (database, form, wasm) => {
      const published = await publishStateChange(ctx, database, toChangeDefinition(form), requireWasm(wasm));
      return { name: published.state_change_name, version: published.version };
    },
    // Past the form checks, a missing view is one the form named; anything else is the file.
    fallbackField: (failure) => (failure.code === 'NOT_FOUND' ? 'state_views' : 'wasm'),
  });
  addDeleteRoutes(router, ctx, page, STATE_CHANGE_KIND);

  /** A state change's own page: what it is and the command form. */
  const changePage = async (db: { name: string }, name: string) => {
    const latest = (await stateChangeVersions(ctx, db.name, name)).at(-1)!;
    return { title: `${name} · ${db.name}`, db, dbName: db.name, change: stateChangeSummary(latest), latest };
  };

  router.get('/databases/:database/console/state-changes/:name', async (req, res) => {
    page(res, 'state-change.njk', { ...(await changePage(res.locals.db, req.params.name!)), values: emptyCommandForm() });
  });

  /** The command form without JavaScript: the state change's page with the outcome. */
  router.post('/databases/:database/console/state-changes/:name', commandFormBody, async (req, res) => {
    const { db } = res.locals;
    const name = req.params.name!;
    const context = await changePage(db, name);
    const values = readCommandForm(req.body);
    const outcome = await sendCommand(ctx, db.name, name, values, req);
    page(res, 'state-change.njk', { ...context, values, outcome }, outcome.status);
  });

  /** What a command did, as a fragment; on the database page, its numbers and recent events too. */
  router.post('/databases/:database/console/state-changes/:name/process', commandFormBody, async (req, res) => {
    const database = res.locals.db.name;
    const outcome = await sendCommand(ctx, database, req.params.name!, readCommandForm(req.body), req);
    const context: Record<string, unknown> = { outcome, dbName: database };
    if (outcome.kind === 'stored' && fromDatabasePage(req)) {
      context.oob = true;
      context.db = await describeDatabase(ctx, database);
      Object.assign(context, await recentEvents(ctx, database));
    }
    page(res, 'partials/command-result.njk', context, outcome.status);
  });

  return router;
}
