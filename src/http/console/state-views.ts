/**
 * State view pages: uploading and deleting views, a view's own page, and rendering it. On the
 * database page each view has a row with a render form whose result htmx swaps in below the
 * form; on the view's own page the same form works without JavaScript.
 */
import type { RequestHandler, Router } from 'express';
import type { FactumContext } from '../../usecases/context.ts';
import { publishStateView, stateViewVersions } from '../../usecases/state-views.ts';
import { multipartUpload } from '../upload.ts';
import { readViewForm, requireWasm, toViewDefinition, VIEW_LABELS } from './component-forms.ts';
import { addDeleteRoutes, addUploadRoute, componentRouter, STATE_VIEW_KIND } from './component-routes.ts';
import { toViewSummary } from './database-page.ts';
import { renderForPage } from './render-view.ts';
import type { SendPage } from './views.ts';

export function stateViewPages(ctx: FactumContext, page: SendPage, maxComponentBytes: number, checkCsrf: RequestHandler): Router {
  const router = componentRouter(ctx, STATE_VIEW_KIND);

  addUploadRoute(router, ctx, page, STATE_VIEW_KIND, [multipartUpload(maxComponentBytes), checkCsrf], {
    contextKey: 'viewForm',
    labels: VIEW_LABELS,
    read: readViewForm,
    publish: async (database, form, wasm) => {
      const published = await publishStateView(ctx, database, toViewDefinition(form), requireWasm(wasm));
      return { name: published.state_view_name, version: published.version };
    },
    // Past the form checks, what is left to refuse is the file.
    fallbackField: () => 'wasm',
  });
  addDeleteRoutes(router, ctx, page, STATE_VIEW_KIND);

  /** A view's own page: what it is, and the render form; with a query, also the rendered view. */
  router.get('/databases/:database/console/state-views/:name', async (req, res) => {
    const { db } = res.locals;
    const name = req.params.name!;
    const latest = (await stateViewVersions(ctx, db.name, name)).at(-1)!;
    const context: Record<string, unknown> = { title: `${name} · ${db.name}`, db, view: toViewSummary(latest), latest, selectorJson: JSON.stringify(latest.event_selector, null, 2) };
    let status = 200;
    if (Object.keys(req.query).length > 0) {
      const outcome = await renderForPage(ctx, db.name, name, req);
      context.values = outcome.values;
      context.outcome = outcome;
      status = outcome.status;
    }
    page(res, 'state-view.njk', context, status);
  });

  /** The rendered view as a fragment, for the render forms. */
  router.get('/databases/:database/console/state-views/:name/render', async (req, res) => {
    const outcome = await renderForPage(ctx, res.locals.db.name, req.params.name!, req);
    page(res, 'partials/render-result.njk', { outcome }, outcome.status);
  });

  return router;
}
