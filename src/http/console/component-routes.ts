/**
 * Routes that state views and state changes have alike: uploading a version from the database
 * page's form, and deleting one (confirmed on a page of its own without JavaScript).
 *
 * On the database page each kind has a section; uploads and deletes redraw the section they
 * change, and the numbers at the top of the page along with it.
 */
import type { ErrorRequestHandler, RequestHandler, Router } from 'express';
import { InvalidArgumentError } from '../../core/errors.ts';
import { componentValidator } from '../../schema/openapi.ts';
import type { FactumContext } from '../../usecases/context.ts';
import { deleteStateChange, stateChangeVersions } from '../../usecases/state-changes.ts';
import { deleteStateView, stateViewVersions } from '../../usecases/state-views.ts';
import type { HttpError } from '../errors.ts';
import { databasePage, sectionContext } from './database-page.ts';
import { formProblem, type Labels } from './form-rules.ts';
import { isHtmx } from './htmx.ts';
import { shownInPlace } from './page-errors.ts';
import { pageRouter, smallForm } from './page-router.ts';
import type { SendPage } from './views.ts';

/** What the console needs to know about the two kinds, for the routes they share. */
export interface ComponentKindView {
  /** The URL segment and the id of its section on the database page. */
  path: 'state-views' | 'state-changes';
  /** The id prefix of one component's row on the database page. */
  rowId: 'state-view' | 'state-change';
  label: string;
  versions(ctx: FactumContext, database: string, name: string): Promise<unknown[]>;
  remove(ctx: FactumContext, database: string, name: string): Promise<void>;
}

export const STATE_VIEW_KIND: ComponentKindView = { path: 'state-views', rowId: 'state-view', label: 'state view', versions: stateViewVersions, remove: deleteStateView };
export const STATE_CHANGE_KIND: ComponentKindView = { path: 'state-changes', rowId: 'state-change', label: 'state change', versions: stateChangeVersions, remove: deleteStateChange };

const validComponentName = componentValidator('ComponentName');

/** A page router whose `:name` is a component of `kind`, its name checked before the route runs. */
export function componentRouter(ctx: FactumContext, kind: ComponentKindView): Router {
  const router = pageRouter(ctx);
  router.param('name', (_req, _res, next, name: string) => {
    const valid: boolean = validComponentName(name);
    if (valid) return next();
    throw new InvalidArgumentError(`A ${kind.label} name must be 1-63 lowercase letters, digits or hyphens, starting and ending with a letter or digit`, {
      field: 'name',
      value: name.slice(0, 100),
    });
  });
  return router;
}

/** An upload form of the database page, for one kind. */
export interface UploadForm<F extends object> {
  /** The form's name in the database page's context. */
  contextKey: 'viewForm' | 'changeForm';
  labels: Labels;
  read(body: unknown): F;
  /** Publishes what the form sent: the name and version published. */
  publish(database: string, form: F, wasm: Uint8Array | undefined): Promise<{ name: string; version: number }>;
  /** Where an error that names no field of the form belongs. */
  fallbackField(failure: HttpError): string;
}

export function addUploadRoute<F extends object>(router: Router, ctx: FactumContext, page: SendPage, kind: ComponentKindView, upload: RequestHandler[], form: UploadForm<F>): void {
  // A refused upload shows the form again, the message at its field. (An error handler: Express
  // tells them by their four parameters.)
  const refused: ErrorRequestHandler = async (error: unknown, req, res, _next) => {
    const failure = shownInPlace(error, req);
    const database = res.locals.db.name;
    // What was typed goes back into the form (a file input cannot be refilled).
    const extra = { [form.contextKey]: { ...form.read(req.body), ...formProblem(failure, form.labels, form.fallbackField(failure)) } };
    if (isHtmx(req)) return page(res, `partials/${kind.path}.njk`, await sectionContext(ctx, database, extra), failure.status);
    page(res, 'database.njk', await databasePage(ctx, database, extra), failure.status);
  };
  const published: RequestHandler = async (req, res) => {
    const database = res.locals.db.name;
    const { name, version } = await form.publish(database, form.read(req.body), res.locals.files.wasm);
    if (!isHtmx(req)) return res.redirect(303, `/databases/${database}/console#${kind.rowId}-${name}`);
    page(res, `partials/${kind.path}.njk`, await sectionContext(ctx, database, { notice: { kind: 'published', name, version } }), 201);
  };
  router.post(`/databases/:database/console/${kind.path}`, upload, published, refused);
}

export function addDeleteRoutes(router: Router, ctx: FactumContext, page: SendPage, kind: ComponentKindView): void {
  const path = `/databases/:database/console/${kind.path}/:name/delete`;

  router.get(path, async (req, res) => {
    const { db } = res.locals;
    const name = req.params.name as string;
    await kind.versions(ctx, db.name, name);
    page(res, 'confirm-delete-component.njk', { title: `Delete ${name} · ${db.name}`, db, kind, name });
  });

  router.post(path, smallForm, async (req, res) => {
    const database = res.locals.db.name;
    const name = req.params.name as string;
    await kind.remove(ctx, database, name);
    if (!isHtmx(req)) return res.redirect(303, `/databases/${database}/console#${kind.path}`);
    // From the database page the section is redrawn; from the component's own page, which is
    // gone, back to the database.
    if (req.get('HX-Target') === kind.path) {
      return page(res, `partials/${kind.path}.njk`, await sectionContext(ctx, database, { notice: { kind: 'deleted', name } }));
    }
    res.set('HX-Redirect', `/databases/${database}/console`).status(200).end();
  });
}
