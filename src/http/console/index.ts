/**
 * The web console and query builder: server-rendered HTML (nunjucks, autoescaped) enhanced by
 * htmx, plus the static assets they need. Every page works with plain links and form submits;
 * htmx only swaps fragments in place of full reloads.
 *
 * Fragments are served from their own paths (`…/results`, `…/row`, `…/render`, `…/process`),
 * never from a page's path, so a page URL always answers a whole page: safe to bookmark, share
 * and restore from history.
 */
import { Router, type ErrorRequestHandler } from 'express';
import type { FactumContext } from '../../usecases/context.ts';
import { consoleAccess } from './access.ts';
import { assetsRouter } from './assets.ts';
import { databasePages } from './databases.ts';
import { eventPages } from './events.ts';
import { livePages } from './live.ts';
import { pageErrorHandler } from './page-errors.ts';
import { stateChangePages } from './state-changes.ts';
import { stateViewPages } from './state-views.ts';
import { signInPages } from './sign-in.ts';
import { fragmentRenderer, pageSender } from './views.ts';

export interface ConsoleOptions {
  version: string;
  /** Largest component the upload forms accept (the server's `--max-component-bytes`). */
  maxComponentBytes: number;
  /** Signs the console's CSRF tokens; the same on every server sharing the storage. */
  csrfSecret: string;
}

/** The console's paths: the list of databases, each database's pages and query builder, the assets. */
export const CONSOLE_PATH = /^\/(?:$|console\/|assets\/|databases\/[^/]+\/(?:console|query-builder)(?:\/|$))/i;

/**
 * The console's router and, for app.ts to put after it, the handler that answers as the console
 * what went wrong on a console path before its routes ran (the app's JSON body parser): an error
 * page, not the API's JSON. The router's own errors are answered inside it.
 */
export function consoleRouter(ctx: FactumContext, options: ConsoleOptions): [Router, ErrorRequestHandler] {
  const page = pageSender(options.version);
  const pageErrors = pageErrorHandler(page);
  const router = Router();
  const access = consoleAccess(options.csrfSecret);
  router.use((req, res, next) => (CONSOLE_PATH.test(req.path) ? access.guard(req, res, next) : next()));
  router.use(assetsRouter());
  router.use(signInPages(ctx, page));
  router.use(databasePages(ctx, page));
  router.use(eventPages(ctx, page));
  router.use(livePages(ctx, page, fragmentRenderer(options.version)));
  router.use(stateViewPages(ctx, page, options.maxComponentBytes, access.checkCsrfAfterBody));
  router.use(stateChangePages(ctx, page, options.maxComponentBytes, access.checkCsrfAfterBody));
  router.use(pageErrors);
  const earlierErrors: ErrorRequestHandler = (error, req, res, next) => (CONSOLE_PATH.test(req.path) ? pageErrors(error, req, res, next) : next(error));
  return [router, earlierErrors];
}
