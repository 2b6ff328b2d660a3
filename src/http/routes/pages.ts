/**
 * The web console and query builder: server-rendered HTML (nunjucks, autoescaped) enhanced by
 * htmx, plus the static assets they need and the JSON route behind type-ahead. Every page works
 * with plain links and form submits; htmx only swaps fragments in place of full reloads.
 *
 * Fragments are served from their own paths (`…/results`, `…/row`, `…/render`, `…/process`),
 * never from a page's path, so a page URL always answers a whole page: safe to bookmark, share
 * and restore from history.
 */
import { STATUS_CODES } from 'node:http';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import express, { Router, type ErrorRequestHandler, type Request, type Response } from 'express';
import multer from 'multer';
import nunjucks from 'nunjucks';
import { FactumError, InvalidArgumentError, PayloadTooLargeError, type ErrorCode } from '../../core/errors.ts';
import { parseStoredEvent, type CloudEvent, type RawEvent } from '../../core/events.ts';
import { SELECTOR_ATTRS, type SelectorAttr } from '../../core/selectors.ts';
import type { FactumContext } from '../../usecases/context.ts';
import { createDatabase, deleteDatabase, describeDatabase, listDatabases } from '../../usecases/databases.ts';
import { requireDatabase } from '../../usecases/require-database.ts';
import { getEvent, queryEvents, type QueryRequest, type QueryResult } from '../../usecases/query-events.ts';
import {
  deleteStateChange,
  listStateChanges,
  processCommand,
  publishStateChange,
  stateChangeSummary,
  stateChangeVersions,
  type ProcessRequest,
  type ProcessResult,
  type StateChangeDefinition,
  type StateChangeSummary,
  type StateChangeVersion,
} from '../../usecases/state-changes.ts';
import {
  deleteStateView,
  listStateViews,
  publishStateView,
  renderStateView,
  stateViewSummary,
  stateViewVersions,
  type RenderRequest,
  type StateViewDefinition,
  type StateViewSummary,
  type StateViewVersion,
} from '../../usecases/state-views.ts';
import { suggestValues } from '../../usecases/suggest-values.ts';
import { STATUS_BY_CODE } from '../errors.ts';
import { componentSchema, componentValidator, describeSchemaError } from '../../schema/openapi.ts';
import { validate } from '../validate.ts';

export interface PagesOptions {
  version: string;
  /** Largest component the upload forms accept; the server's default when not given. */
  maxComponentBytes?: number;
}

const VIEWS_DIR = fileURLToPath(new URL('../../../views', import.meta.url));
const STYLESHEET_PATH = fileURLToPath(new URL('../../../views/assets/factum.css', import.meta.url));
const HTMX_PATH = createRequire(import.meta.url).resolve('htmx.org/dist/htmx.min.js');

const DEFAULT_PAGE_LIMIT = 50;
/** The server's default for `--max-component-bytes`. */
const DEFAULT_MAX_COMPONENT_BYTES = 64 * 1024 * 1024;
const RECENT_EVENTS = 10;
const SUGGESTIONS = 50;

/**
 * Pages run only the app's own script and styles: even if some value slipped past escaping, an
 * injected handler or script could not run.
 */
const PAGE_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'same-origin',
  'Cache-Control': 'no-cache',
};

export function pagesRouter(ctx: FactumContext, options: PagesOptions): Router {
  const router = Router();
  router.use(attributeValuesApi(ctx));
  router.use(assets());
  router.use(htmlPages(ctx, createViews(options.version), options.maxComponentBytes ?? DEFAULT_MAX_COMPONENT_BYTES));
  return router;
}

/** JSON for type-ahead clients; its errors take the API's error shape (the app's handler). */
function attributeValuesApi(ctx: FactumContext): Router {
  const router = Router();
  router.get('/databases/:database/values/:attribute', validate('listAttributeValues'), async (_req, res) => {
    const { database, attribute } = res.locals.params as { database: string; attribute: string };
    const { prefix, limit } = res.locals.query as { prefix: string; limit: number };
    res.json({ values: await suggestValues(ctx, database, { attribute: attribute as SelectorAttr, prefix, limit }) });
  });
  return router;
}

function assets(): Router {
  const router = Router();
  router.get('/assets/htmx.min.js', (_req, res, next) => {
    // The file is pinned by the installed package version, so it may be cached for a day.
    res.set('X-Content-Type-Options', 'nosniff');
    res.sendFile(HTMX_PATH, { maxAge: '1d', headers: { 'Content-Type': 'text/javascript; charset=utf-8' } }, (error) => error && next(error));
  });
  router.get('/assets/factum.css', (_req, res, next) => {
    // Revalidated on every use (cheap, by ETag), so a changed stylesheet shows at once.
    res.set({ 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-cache' });
    res.sendFile(STYLESHEET_PATH, { cacheControl: false, headers: { 'Content-Type': 'text/css; charset=utf-8' } }, (error) => error && next(error));
  });
  return router;
}

type Views = nunjucks.Environment;

function createViews(version: string): Views {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(VIEWS_DIR), {
    autoescape: true,
    trimBlocks: true,
    lstripBlocks: true,
  });
  env.addGlobal('version', version);
  // The same rule as the server's, in the syntax of the HTML `pattern` attribute (its `v` flag
  // wants a literal hyphen escaped inside a class).
  env.addGlobal('databaseNamePattern', String(componentSchema('DatabaseName').pattern).slice(1, -1).replace('[a-z0-9-]', '[a-z0-9\\-]'));
  env.addFilter('count', (n: number) => n.toLocaleString('en-US'));
  env.addFilter('statusText', (status: number) => STATUS_CODES[status] ?? '');
  env.addFilter('bytes', formatBytes);
  // `2024-01-15T10:30:00.000Z` reads better as `2024-01-15 10:30:00.000Z`; other text stays.
  env.addFilter('datetime', (value: string) => (/^\d{4}-\d{2}-\d{2}T/.test(value) ? value.replace('T', ' ') : value));
  return env;
}

// ---------------------------------------------------------------------------------------------
// HTML pages

function htmlPages(ctx: FactumContext, views: Views, maxComponentBytes: number): Router {
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '8kb', parameterLimit: 20 });

  const page = (res: Response, template: string, context: object, status = 200) => {
    res.status(status).set(PAGE_HEADERS).type('html').send(views.render(template, context));
  };

  // ---- databases ----------------------------------------------------------------------------

  router.get('/', async (_req, res) => {
    page(res, 'console.njk', { title: 'Databases', databases: await listDatabases(ctx) });
  });

  router.post('/console/databases', form, async (req, res) => {
    const name = String((req.body as Record<string, unknown> | undefined)?.name ?? '').trim();
    try {
      await createDatabase(ctx, name);
    } catch (error) {
      if (!(error instanceof FactumError)) throw error;
      const status = STATUS_BY_CODE[error.code];
      const context = { title: 'Databases', databases: await listDatabases(ctx), createName: name, createError: error.message };
      return page(res, isHtmx(req) ? 'partials/databases.njk' : 'console.njk', context, status);
    }
    if (!isHtmx(req)) return res.redirect(303, `/databases/${name}/console`);
    page(res, 'partials/databases.njk', { databases: await listDatabases(ctx), notice: { kind: 'created', name } }, 201);
  });

  router.get('/databases/:database/console/delete', async (req, res) => {
    const database = await requireDatabase(ctx, req.params.database!);
    page(res, 'confirm-delete.njk', { title: `Delete ${database.name}`, db: database });
  });

  router.post('/databases/:database/console/delete', form, async (req, res) => {
    const name = req.params.database!;
    await deleteDatabase(ctx, name);
    if (!isHtmx(req)) return res.redirect(303, '/');
    // From the list, the list is redrawn; from the database's own page there is nothing left to show.
    if (req.get('HX-Target') === 'databases') {
      return page(res, 'partials/databases.njk', { databases: await listDatabases(ctx), notice: { kind: 'deleted', name } });
    }
    res.set('HX-Redirect', '/').status(200).end();
  });

  /** What the database page shows; `extra` carries a form's values, its error or a notice. */
  const databasePage = async (name: string, extra: Record<string, unknown> = {}) => {
    const db = await describeDatabase(ctx, name);
    const [recent, components] = await Promise.all([recentEvents(ctx, db.name), componentLists(ctx, db.name)]);
    return { title: db.name, db, ...recent, ...components, viewForm: emptyViewForm(), changeForm: emptyChangeForm(), ...extra };
  };

  router.get('/databases/:database/console', async (req, res) => {
    page(res, 'database.njk', await databasePage(req.params.database!));
  });

  router.get('/databases/:database/console/events/:revision', async (req, res) => {
    const db = await requireDatabase(ctx, req.params.database!);
    const event = toEventView(await getEvent(ctx, db.name, revisionParam(req.params.revision!)));
    page(res, 'event.njk', { title: `Event ${event.revision} · ${db.name}`, db, event });
  });

  /** One result row, opened to show the whole event or closed again. */
  router.get('/databases/:database/console/events/:revision/row', async (req, res) => {
    const database = req.params.database!;
    const event = toEventView(await getEvent(ctx, database, revisionParam(req.params.revision!)));
    page(res, 'partials/event-row.njk', { dbName: database, event, expanded: firstValue(req.query, 'expanded') === 'true' });
  });

  // ---- state views and state changes ---------------------------------------------------------
  //
  // On the database page each has a row with its own form (render a view, send a command) whose
  // result htmx swaps in below the form; each also has a page of its own where the same form
  // works without JavaScript. Uploads and deletes redraw the section they change, and the
  // numbers at the top of the page along with it.

  /** A section of the database page redrawn after a change, with the page's numbers. */
  const section = async (res: Response, template: string, database: string, extra: Record<string, unknown>, status = 200) => {
    const db = await describeDatabase(ctx, database);
    const components = await componentLists(ctx, db.name);
    page(res, template, { db, ...components, viewForm: emptyViewForm(), changeForm: emptyChangeForm(), oob: true, ...extra }, status);
  };

  router.post('/databases/:database/console/state-views', async (req, res) => {
    const database = (await requireDatabase(ctx, req.params.database!)).name;
    let published: StateViewVersion;
    try {
      const upload = await readComponentUpload(req, res, VIEW_FIELDS, maxComponentBytes);
      published = await publishStateView(ctx, database, toViewDefinition(readViewForm(upload.fields)), requireWasm(upload.wasm));
    } catch (error) {
      if (!(error instanceof FactumError)) throw error;
      // What was typed goes back into the form (a file input cannot be refilled).
      const viewForm = { ...readViewForm(textFields(req, VIEW_FIELDS)), ...formProblem(error, VIEW_LABELS, 'wasm') };
      const status = STATUS_BY_CODE[error.code];
      if (isHtmx(req)) return section(res, 'partials/state-views.njk', database, { viewForm }, status);
      return page(res, 'database.njk', await databasePage(database, { viewForm }), status);
    }
    const name = published.state_view_name;
    if (!isHtmx(req)) return res.redirect(303, `/databases/${database}/console#state-view-${name}`);
    await section(res, 'partials/state-views.njk', database, { notice: { kind: 'published', name, version: published.version } }, 201);
  });

  router.post('/databases/:database/console/state-changes', async (req, res) => {
    const database = (await requireDatabase(ctx, req.params.database!)).name;
    let published: StateChangeVersion;
    try {
      const upload = await readComponentUpload(req, res, CHANGE_FIELDS, maxComponentBytes);
      published = await publishStateChange(ctx, database, toChangeDefinition(readChangeForm(upload.fields)), requireWasm(upload.wasm));
    } catch (error) {
      if (!(error instanceof FactumError)) throw error;
      const form = readChangeForm(textFields(req, CHANGE_FIELDS));
      // Past the form checks, a missing view is one the form named; anything else is the file.
      const changeForm = { ...form, ...formProblem(error, CHANGE_LABELS, error.code === 'NOT_FOUND' ? 'state_views' : 'wasm') };
      const status = STATUS_BY_CODE[error.code];
      if (isHtmx(req)) return section(res, 'partials/state-changes.njk', database, { changeForm }, status);
      return page(res, 'database.njk', await databasePage(database, { changeForm }), status);
    }
    const name = published.state_change_name;
    if (!isHtmx(req)) return res.redirect(303, `/databases/${database}/console#state-change-${name}`);
    await section(res, 'partials/state-changes.njk', database, { notice: { kind: 'published', name, version: published.version } }, 201);
  });

  for (const kind of COMPONENT_KINDS) {
    router.get(`/databases/:database/console/${kind.path}/:name/delete`, async (req, res) => {
      const db = await requireDatabase(ctx, req.params.database!);
      const name = componentNameParam(req.params.name!, kind);
      await kind.versions(ctx, db.name, name);
      page(res, 'confirm-delete-component.njk', { title: `Delete ${name} · ${db.name}`, db, kind, name });
    });

    router.post(`/databases/:database/console/${kind.path}/:name/delete`, form, async (req, res) => {
      const database = (await requireDatabase(ctx, req.params.database!)).name;
      const name = componentNameParam(req.params.name!, kind);
      await kind.remove(ctx, database, name);
      if (!isHtmx(req)) return res.redirect(303, `/databases/${database}/console#${kind.path}`);
      // From the database page the section is redrawn; from the component's own page, which is
      // gone, back to the database.
      if (req.get('HX-Target') === kind.path) {
        return section(res, `partials/${kind.path}.njk`, database, { notice: { kind: 'deleted', name } });
      }
      res.set('HX-Redirect', `/databases/${database}/console`).status(200).end();
    });
  }

  /** A view's own page: what it is, and the render form; with a query, also the rendered view. */
  router.get('/databases/:database/console/state-views/:name', async (req, res) => {
    const db = await requireDatabase(ctx, req.params.database!);
    const name = componentNameParam(req.params.name!, STATE_VIEW_KIND);
    const versions = await stateViewVersions(ctx, db.name, name);
    const latest = versions.at(-1)!;
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
    const name = componentNameParam(req.params.name!, STATE_VIEW_KIND);
    const outcome = await renderForPage(ctx, req.params.database!, name, req);
    page(res, 'partials/render-result.njk', { outcome }, outcome.status);
  });

  /** A state change's own page: what it is and the command form. */
  router.get('/databases/:database/console/state-changes/:name', async (req, res) => {
    const db = await requireDatabase(ctx, req.params.database!);
    const name = componentNameParam(req.params.name!, STATE_CHANGE_KIND);
    const latest = (await stateChangeVersions(ctx, db.name, name)).at(-1)!;
    page(res, 'state-change.njk', { title: `${name} · ${db.name}`, db, dbName: db.name, change: toChangeSummary(latest), latest, values: emptyCommandForm() });
  });

  const commandForm = express.urlencoded({ extended: false, limit: '1mb', parameterLimit: 10 });

  /** The command form without JavaScript: the state change's page with the outcome. */
  router.post('/databases/:database/console/state-changes/:name', commandForm, async (req, res) => {
    const db = await requireDatabase(ctx, req.params.database!);
    const name = componentNameParam(req.params.name!, STATE_CHANGE_KIND);
    const latest = (await stateChangeVersions(ctx, db.name, name)).at(-1)!;
    const values = readCommandForm(req.body);
    const outcome = await sendCommand(ctx, db.name, name, values, req);
    page(res, 'state-change.njk', { title: `${name} · ${db.name}`, db, dbName: db.name, change: toChangeSummary(latest), latest, values, outcome }, outcome.status);
  });

  /** What a command did, as a fragment; on the database page, its numbers and recent events too. */
  router.post('/databases/:database/console/state-changes/:name/process', commandForm, async (req, res) => {
    const database = req.params.database!;
    const name = componentNameParam(req.params.name!, STATE_CHANGE_KIND);
    const outcome = await sendCommand(ctx, database, name, readCommandForm(req.body), req);
    const context: Record<string, unknown> = { outcome, dbName: database };
    if (outcome.kind === 'stored' && fromDatabasePage(req)) {
      context.oob = true;
      context.db = await describeDatabase(ctx, database);
      Object.assign(context, await recentEvents(ctx, database));
    }
    page(res, 'partials/command-result.njk', context, outcome.status);
  });

  // ---- query builder ------------------------------------------------------------------------

  router.get('/databases/:database/query-builder', async (req, res) => {
    const db = await requireDatabase(ctx, req.params.database!);
    const edit = applySelectorEdits(readQueryForm(req.query), req.query);
    const context: Record<string, unknown> = {
      title: `Query ${db.name}`,
      db,
      form: edit.form,
      focusNewSelector: edit.added,
      suggestions: await initialSuggestions(ctx, db.name),
    };
    let status = 200;
    // Editing the selector list without JavaScript reloads the page; it does not run the query.
    if (hasQuery(req.query) && !edit.edited) {
      try {
        context.results = await runQuery(ctx, db.name, edit.form, firstValue(req.query, 'cursor') || undefined);
      } catch (error) {
        if (!(error instanceof FactumError)) throw error;
        status = STATUS_BY_CODE[error.code];
        context.queryError = error.message;
      }
    }
    page(res, 'query-builder.njk', context, status);
  });

  /** The results of a query, or with `cursor` the next page's rows to append. */
  router.get('/databases/:database/query-builder/results', async (req, res) => {
    const database = req.params.database!;
    const form = readQueryForm(req.query);
    const cursor = firstValue(req.query, 'cursor') || undefined;
    let results: ResultsView;
    try {
      results = await runQuery(ctx, database, form, cursor);
    } catch (error) {
      if (!(error instanceof FactumError)) throw error;
      return page(res, 'partials/query-error.njk', { message: error.message }, STATUS_BY_CODE[error.code]);
    }
    if (cursor) return page(res, 'partials/event-page.njk', { results });
    // The address bar shows the page URL of this query, so it can be bookmarked and shared.
    res.set('HX-Push-Url', results.pageUrl);
    page(res, 'partials/results.njk', { results });
  });

  /** The selector list after adding or removing a row (the form's current values come along). */
  router.get('/databases/:database/query-builder/selectors', async (req, res) => {
    const db = await requireDatabase(ctx, req.params.database!);
    const edit = applySelectorEdits(readQueryForm(req.query), req.query);
    page(res, 'partials/selectors.njk', { db, form: edit.form, focusNewSelector: edit.added });
  });

  /** `<option>`s for a `<datalist>`: values of the attribute starting with what was typed. */
  router.get('/databases/:database/query-builder/suggestions/:attribute', async (req, res) => {
    const attribute = req.params.attribute!;
    const prefix = firstValue(req.query, 'prefix') || ((SELECTOR_ATTRS as readonly string[]).includes(attribute) ? firstValue(req.query, attribute) : '');
    page(res, 'partials/suggestions.njk', { values: await pageSuggestions(ctx, req.params.database!, attribute, prefix) });
  });

  router.use(pageErrorHandler(views));
  return router;
}

/**
 * Errors become an error page, or for htmx requests an alert placed in the page's alert region
 * (a fragment's own target, e.g. a table row, is no place for a message).
 */
function pageErrorHandler(views: Views): ErrorRequestHandler {
  return (error, req, res, next) => {
    if (res.headersSent) return next(error);
    let status: number;
    let message: string;
    if (error instanceof FactumError) {
      status = STATUS_BY_CODE[error.code];
      message = error.message;
      if (error.code === 'INTERNAL') req.log?.error({ err: error }, 'internal error');
    } else if (isClientHttpError(error)) {
      // Body-parser errors (a form too large, a bad encoding) carry a status and a safe message.
      status = error.status;
      message = error.message;
    } else {
      req.log?.error({ err: error }, 'unexpected error');
      status = 500;
      message = 'internal server error';
    }
    res.status(status).set(PAGE_HEADERS).type('html');
    if (isHtmx(req)) {
      res.set({ 'HX-Retarget': '#alerts', 'HX-Reswap': 'innerHTML' });
      res.send(views.render('partials/alert.njk', { message }));
    } else {
      res.send(views.render('error.njk', { title: status === 404 ? 'Not found' : 'Error', status, message }));
    }
  };
}

function isClientHttpError(error: unknown): error is { status: number; message: string } {
  const e = error as { status?: unknown; expose?: unknown; message?: unknown };
  return typeof e?.status === 'number' && e.status >= 400 && e.status < 500 && e.expose === true && typeof e.message === 'string';
}

/** htmx asks for fragments; a history restore after a cache miss wants the whole page. */
function isHtmx(req: Request): boolean {
  return req.get('HX-Request') === 'true' && req.get('HX-History-Restore-Request') !== 'true';
}

function revisionParam(value: string): number {
  const revision = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(revision) || revision < 1) {
    throw new InvalidArgumentError('revision must be a whole number of 1 or more', { field: 'revision', value });
  }
  return revision;
}

// ---------------------------------------------------------------------------------------------
// The query form: what the query API takes, as query-string parameters.
//
// Selectors are positional: the n-th `stream`, `event_type` and `subject` make up selector n,
// so every row of the form always sends all three (empty when unused).

type QueryParams = Request['query'];

interface SelectorRow {
  stream: string;
  event_type: string;
  subject: string;
}

interface QueryForm {
  rows: SelectorRow[];
  revision_start: string;
  revision_end: string;
  time_start: string;
  time_end: string;
  direction: string;
  limit: string;
}

const QUERY_KEYS = ['stream', 'event_type', 'subject', 'revision_start', 'revision_end', 'time_start', 'time_end', 'direction', 'limit', 'cursor'];

function values(query: QueryParams, key: string): string[] {
  const value = query[key];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map((v) => String(v).trim());
}

function firstValue(query: QueryParams, key: string): string {
  return values(query, key)[0] ?? '';
}

function hasQuery(query: QueryParams): boolean {
  return QUERY_KEYS.some((key) => query[key] !== undefined);
}

function emptyQueryForm(): QueryForm {
  return {
    rows: [{ stream: '', event_type: '', subject: '' }],
    revision_start: '',
    revision_end: '',
    time_start: '',
    time_end: '',
    direction: 'forward',
    limit: String(DEFAULT_PAGE_LIMIT),
  };
}

function readQueryForm(query: QueryParams): QueryForm {
  const streams = values(query, 'stream');
  const types = values(query, 'event_type');
  const subjects = values(query, 'subject');
  const count = Math.max(streams.length, types.length, subjects.length, 1);
  const rows = Array.from({ length: count }, (_, i) => ({ stream: streams[i] ?? '', event_type: types[i] ?? '', subject: subjects[i] ?? '' }));
  return {
    rows,
    revision_start: firstValue(query, 'revision_start'),
    revision_end: firstValue(query, 'revision_end'),
    time_start: firstValue(query, 'time_start'),
    time_end: firstValue(query, 'time_end'),
    direction: firstValue(query, 'direction') || 'forward',
    limit: firstValue(query, 'limit') || String(DEFAULT_PAGE_LIMIT),
  };
}

function applySelectorEdits(form: QueryForm, query: QueryParams): { form: QueryForm; edited: boolean; added: boolean } {
  const added = query.add_selector !== undefined;
  const remove = firstValue(query, 'remove_selector');
  let rows = form.rows;
  if (/^\d+$/.test(remove)) {
    rows = rows.filter((_, i) => i !== Number(remove));
    if (rows.length === 0) rows = [{ stream: '', event_type: '', subject: '' }];
  }
  if (added) rows = [...rows, { stream: '', event_type: '', subject: '' }];
  return { form: { ...form, rows }, edited: added || remove !== '', added };
}

const isBlankRow = (row: SelectorRow) => !row.stream && !row.event_type && !row.subject;

/** The page URL's query string for a form: only what was filled in, in a stable order. */
function canonicalQuery(form: QueryForm): string {
  const params = new URLSearchParams();
  const rows = form.rows.filter((row) => !isBlankRow(row));
  for (const row of rows) {
    for (const key of ['stream', 'event_type', 'subject'] as const) {
      // With one selector, unused fields can go; with several, positions must line up.
      if (row[key] || rows.length > 1) params.append(key, row[key]);
    }
  }
  for (const key of ['revision_start', 'revision_end', 'time_start', 'time_end'] as const) {
    if (form[key]) params.set(key, form[key]);
  }
  params.set('direction', form.direction);
  params.set('limit', form.limit);
  return params.toString();
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;
const validQueryRequest = componentValidator('QueryRequest');

/** The form as a query request, with messages that name the form's fields. */
function toQueryRequest(form: QueryForm, cursor: string | undefined): QueryRequest {
  const whole = (value: string, label: string, field: string, min: number, max: number): number | undefined => {
    if (value === '') return undefined;
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${label} must be a whole number from ${min} to ${max}`, { field, value });
    }
    return n;
  };
  const time = (value: string, label: string, field: string): string | undefined => {
    if (value === '') return undefined;
    if (!RFC3339.test(value) || Number.isNaN(Date.parse(value))) {
      throw new InvalidArgumentError(`${label} must be an RFC 3339 timestamp such as 2024-01-15T10:30:00Z`, { field, value });
    }
    return value;
  };
  if (form.direction !== 'forward' && form.direction !== 'backward') {
    throw new InvalidArgumentError('Order must be forward or backward', { field: 'direction', value: form.direction });
  }
  const request: QueryRequest = {
    direction: form.direction,
    limit: whole(form.limit, 'Limit', 'limit', 1, 10_000)!,
  };
  const selectors = form.rows
    .filter((row) => !isBlankRow(row))
    .map((row) => Object.fromEntries(Object.entries(row).filter(([, v]) => v !== '')));
  if (selectors.length > 0) request.selectors = selectors;
  const revisionStart = whole(form.revision_start, 'Revision from', 'revision_start', 0, Number.MAX_SAFE_INTEGER);
  const revisionEnd = whole(form.revision_end, 'Revision to', 'revision_end', 0, Number.MAX_SAFE_INTEGER);
  if (revisionStart !== undefined || revisionEnd !== undefined) request.revision_range = { start: revisionStart, end: revisionEnd };
  const timeStart = time(form.time_start, 'Effective time from', 'time_start');
  const timeEnd = time(form.time_end, 'Effective time to', 'time_end');
  if (timeStart !== undefined || timeEnd !== undefined) request.effective_time_range = { start: timeStart, end: timeEnd };
  if (cursor !== undefined) request.cursor = cursor;
  // The same schema the JSON API checks, so the page never asks for what the API would refuse.
  const wire = JSON.parse(JSON.stringify(request)) as QueryRequest;
  if (!validQueryRequest(wire)) {
    const { message, details } = describeSchemaError(validQueryRequest.errors![0]!, '');
    throw new InvalidArgumentError(message, details);
  }
  return wire;
}

interface ResultsView {
  dbName: string;
  events: EventView[];
  revision: number;
  pageUrl: string;
  /** Fragment URL of the next page's rows, and the page URL showing that page alone. */
  more: { fragmentUrl: string; pageUrl: string } | null;
}

async function runQuery(ctx: FactumContext, database: string, form: QueryForm, cursor: string | undefined): Promise<ResultsView> {
  const request = toQueryRequest(form, cursor);
  const result: QueryResult = await queryEvents(ctx, database, request);
  const base = `/databases/${database}/query-builder`;
  const query = canonicalQuery(form);
  const next = result.next_cursor && `${query}&cursor=${encodeURIComponent(result.next_cursor)}`;
  return {
    dbName: database,
    events: result.events.map(toEventView),
    revision: result.revision,
    pageUrl: `${base}?${query}`,
    more: next ? { fragmentUrl: `${base}/results?${next}`, pageUrl: `${base}?${next}` } : null,
  };
}

/**
 * Streams and event types are few, so an empty field is offered their first values. Subjects can
 * be as many as events; they are suggested only once something is typed.
 */
function pageSuggestions(ctx: FactumContext, database: string, attribute: string, prefix: string): Promise<string[]> {
  if (attribute === 'subject' && prefix === '') return requireDatabase(ctx, database).then(() => []);
  return suggestValues(ctx, database, { attribute: attribute as SelectorAttr, prefix, limit: SUGGESTIONS });
}

async function initialSuggestions(ctx: FactumContext, database: string): Promise<Record<SelectorAttr, string[]>> {
  const [stream, eventType, subject] = await Promise.all(
    (['stream', 'event_type', 'subject'] as const).map((attr) => pageSuggestions(ctx, database, attr, '')),
  );
  return { stream: stream!, event_type: eventType!, subject: subject! };
}

// ---------------------------------------------------------------------------------------------
// State views and state changes

/** What the database page needs to know about the two kinds, for routes shared by both. */
interface ComponentKindView {
  /** The URL segment and the id of its section on the database page. */
  path: 'state-views' | 'state-changes';
  label: string;
  versions(ctx: FactumContext, database: string, name: string): Promise<unknown[]>;
  remove(ctx: FactumContext, database: string, name: string): Promise<void>;
}

const STATE_VIEW_KIND: ComponentKindView = { path: 'state-views', label: 'state view', versions: stateViewVersions, remove: deleteStateView };
const STATE_CHANGE_KIND: ComponentKindView = { path: 'state-changes', label: 'state change', versions: stateChangeVersions, remove: deleteStateChange };
const COMPONENT_KINDS = [STATE_VIEW_KIND, STATE_CHANGE_KIND];

const validComponentName = componentValidator('ComponentName');

function componentNameParam(value: string, kind: ComponentKindView): string {
  const valid: boolean = validComponentName(value);
  if (!valid) {
    throw new InvalidArgumentError(`A ${kind.label} name must be 1-63 lowercase letters, digits or hyphens, starting and ending with a letter or digit`, {
      field: 'name',
      value: value.slice(0, 100),
    });
  }
  return value;
}

interface ViewSummaryView extends StateViewSummary {
  byEffectiveTime: boolean;
}

type ChangeSummaryView = StateChangeSummary;

function toViewSummary(v: StateViewSummary | StateViewVersion): ViewSummaryView {
  const summary = 'state_view_name' in v ? stateViewSummary(v) : v;
  return { ...summary, byEffectiveTime: summary.query_temporality === 'effective_timestamp' };
}

function toChangeSummary(v: StateChangeVersion): ChangeSummaryView {
  return stateChangeSummary(v);
}

async function componentLists(ctx: FactumContext, database: string): Promise<{ stateViews: ViewSummaryView[]; stateChanges: ChangeSummaryView[] }> {
  const [views, changes] = await Promise.all([listStateViews(ctx, database), listStateChanges(ctx, database)]);
  return { stateViews: views.map(toViewSummary), stateChanges: changes };
}

async function recentEvents(ctx: FactumContext, database: string): Promise<{ events: EventView[]; recentQuery: string }> {
  const recent = await queryEvents(ctx, database, { direction: 'backward', limit: RECENT_EVENTS });
  return { events: recent.events.map(toEventView), recentQuery: canonicalQuery({ ...emptyQueryForm(), direction: 'backward' }) };
}

/** Whether an htmx request came from a database page, which shows the numbers a change moves. */
function fromDatabasePage(req: Request): boolean {
  const current = req.get('HX-Current-URL');
  if (!isHtmx(req) || !current) return false;
  try {
    return /^\/databases\/[^/]+\/console$/.test(new URL(current).pathname);
  } catch {
    return false;
  }
}

// ---- uploads ---------------------------------------------------------------------------------
//
// The upload forms send the metadata as separate fields (the API takes it as one JSON part);
// they are put together here and checked against the same openapi.yaml schema the API uses.

const VIEW_FIELDS = ['state_view_name', 'description', 'content_type', 'query_temporality', 'event_selector'] as const;
const CHANGE_FIELDS = ['state_change_name', 'description', 'state_views'] as const;

/** Field → label, so messages name what the form shows. */
const VIEW_LABELS: Record<string, string> = {
  state_view_name: 'Name',
  description: 'Description',
  content_type: 'Content type',
  query_temporality: 'Read by',
  event_selector: 'Event selector',
  wasm: 'Component file',
};
const CHANGE_LABELS: Record<string, string> = {
  state_change_name: 'Name',
  description: 'Description',
  state_views: 'State views read',
  wasm: 'Component file',
};

type FormProblem = { error?: string; errorField?: string };
type ViewForm = Record<(typeof VIEW_FIELDS)[number], string> & FormProblem;
type ChangeForm = Record<(typeof CHANGE_FIELDS)[number], string> & FormProblem;

function emptyViewForm(): ViewForm {
  return { state_view_name: '', description: '', content_type: 'application/json', query_temporality: 'revision', event_selector: '' };
}

function emptyChangeForm(): ChangeForm {
  return { state_change_name: '', description: '', state_views: '' };
}

interface ComponentUploadForm {
  fields: Record<string, string>;
  wasm: Uint8Array | undefined;
}

/** Reads a multipart upload form: its text fields and the `wasm` file, within size limits. */
function readComponentUpload(req: Request, res: Response, fields: readonly string[], maxComponentBytes: number): Promise<ComponentUploadForm> {
  const parse = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: maxComponentBytes, files: 1, fields: fields.length, fieldSize: 256 * 1024, parts: fields.length + 1 },
  }).single('wasm');
  return new Promise((resolve, reject) => {
    parse(req, res, (error?: unknown) => {
      if (error) return reject(error instanceof multer.MulterError ? uploadError(error, maxComponentBytes) : error);
      const text = textFields(req, fields);
      const file = req.file;
      // An empty file input still sends a part, with no name and no bytes.
      const wasm = file && file.size > 0 ? new Uint8Array(file.buffer.buffer, file.buffer.byteOffset, file.buffer.byteLength) : undefined;
      resolve({ fields: text, wasm });
    });
  });
}

/** The text fields of a form as far as they were read (all of them, unless reading failed). */
function textFields(req: Request, fields: readonly string[]): Record<string, string> {
  const body = (req.body ?? {}) as Record<string, unknown>;
  return Object.fromEntries(fields.map((name) => [name, typeof body[name] === 'string' ? (body[name] as string) : '']));
}

function uploadError(error: multer.MulterError, maxComponentBytes: number): FactumError {
  switch (error.code) {
    case 'LIMIT_FILE_SIZE':
      return new PayloadTooLargeError(`The component file is over the limit of ${formatBytes(maxComponentBytes)}`, { field: 'wasm', limit: maxComponentBytes });
    case 'LIMIT_FIELD_VALUE':
      return new PayloadTooLargeError(`${error.field ?? 'A field'} is too long`, { field: error.field });
    default:
      return new InvalidArgumentError(`The upload could not be read: ${error.message}`, { reason: error.code });
  }
}

function requireWasm(wasm: Uint8Array | undefined): Uint8Array {
  if (!wasm) throw new InvalidArgumentError('Choose the component file (.wasm)', { field: 'wasm' });
  return wasm;
}

function requireText(value: string, field: string, labels: Record<string, string>): string {
  if (value.trim() === '') throw new InvalidArgumentError(`${labels[field]} is required`, { field });
  return value.trim();
}

function jsonField(value: string, field: string, labels: Record<string, string>): unknown {
  try {
    return JSON.parse(value);
  } catch (error) {
    throw new InvalidArgumentError(`${labels[field]} is not valid JSON: ${(error as Error).message}`, { field });
  }
}

function readViewForm(fields: Record<string, string>): ViewForm {
  return Object.fromEntries(VIEW_FIELDS.map((name) => [name, fields[name] ?? ''])) as ViewForm;
}

function readChangeForm(fields: Record<string, string>): ChangeForm {
  return Object.fromEntries(CHANGE_FIELDS.map((name) => [name, fields[name] ?? ''])) as ChangeForm;
}

const validViewMetadata = componentValidator('StateViewMetadata');
const validChangeMetadata = componentValidator('StateChangeMetadata');

function checkMetadata<T>(metadata: Record<string, unknown>, check: typeof validViewMetadata): T {
  if (!check(metadata)) {
    const { message, details } = describeSchemaError(check.errors![0]!, '');
    throw new InvalidArgumentError(message, details);
  }
  return metadata as T;
}

function toViewDefinition(form: ViewForm): StateViewDefinition {
  const metadata: Record<string, unknown> = {
    state_view_name: requireText(form.state_view_name, 'state_view_name', VIEW_LABELS),
    content_type: requireText(form.content_type, 'content_type', VIEW_LABELS),
    query_temporality: form.query_temporality,
    event_selector: jsonField(requireText(form.event_selector, 'event_selector', VIEW_LABELS), 'event_selector', VIEW_LABELS),
  };
  if (form.description.trim() !== '') metadata.description = form.description.trim();
  return checkMetadata<StateViewDefinition>(metadata, validViewMetadata);
}

function toChangeDefinition(form: ChangeForm): StateChangeDefinition {
  const metadata: Record<string, unknown> = { state_change_name: requireText(form.state_change_name, 'state_change_name', CHANGE_LABELS) };
  if (form.description.trim() !== '') metadata.description = form.description.trim();
  if (form.state_views.trim() !== '') metadata.state_views = jsonField(form.state_views, 'state_views', CHANGE_LABELS);
  return checkMetadata<StateChangeDefinition>(metadata, validChangeMetadata);
}

/**
 * An error as the form shows it: messages that start with a metadata path (`state_view_name is
 * invalid…`) name the form's label instead, and the field is marked. Errors that name no field
 * belong to `fallbackField` (past the form checks, what is left to refuse is the file).
 */
function formProblem(error: FactumError, labels: Record<string, string>, fallbackField: string): FormProblem {
  const field = formField(error.details);
  if (field === undefined || !(field in labels)) return { error: error.message, errorField: fallbackField };
  return { error: labelled(error.message, String(error.details.field), labels), errorField: field };
}

/** The form field an error is about: the first segment of its `field` path. */
function formField(details: Record<string, unknown>): string | undefined {
  return typeof details.field === 'string' ? /^[a-z_]+/.exec(details.field)?.[0] : undefined;
}

/** `state_views[0].name must be…` as `State views read ([0].name) must be…`. */
function labelled(message: string, path: string, labels: Record<string, string>): string {
  const field = /^[a-z_]+/.exec(path)?.[0];
  if (field === undefined || !(field in labels) || !message.startsWith(`${path} `)) return message;
  const inner = path.slice(field.length).replace(/^\./, '');
  return `${labels[field]}${inner ? ` (${inner})` : ''}${message.slice(path.length)}`;
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${+(n / (1024 * 1024)).toFixed(1)} MiB`;
  if (n >= 1024) return `${+(n / 1024).toFixed(1)} KiB`;
  return `${n} bytes`;
}

// ---- rendering a state view -------------------------------------------------------------------

/** Query parameters of the render form that are not view parameters (as in the API). */
const RENDER_OPTIONS = ['revision', 'effective_time', 'version'] as const;

interface RenderValues {
  params: Record<string, string>;
  revision: string;
  effective_time: string;
  version: string;
}

/** Rendered content as the page shows it. */
interface RenderedView {
  name: string;
  version: number;
  revision: number;
  evolvedEvents: number;
  contentType: string;
  bytes: string;
  /** `json` pretty-printed, `text` as is, `binary` and `empty` not shown. */
  kind: 'json' | 'text' | 'binary' | 'empty';
  text: string | null;
  /** Declared JSON, but the bytes did not parse: shown as text. */
  invalidJson: boolean;
  truncated: boolean;
  /** The page showing this render, to link to. */
  pageUrl: string;
}

type RenderOutcome = { values: RenderValues; status: number } & (
  | { ok: true; result: RenderedView }
  | { ok: false; code: ErrorCode; message: string }
);

/** Text beyond this is cut off in the page (the API serves it whole). */
const MAX_SHOWN_CHARS = 200_000;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function readRenderValues(query: QueryParams): RenderValues {
  const values: RenderValues = { params: {}, revision: '', effective_time: '', version: '' };
  for (const [name, value] of Object.entries(query)) {
    if (typeof value !== 'string') throw new InvalidArgumentError(`parameter "${name}" must be given once`, { field: name });
    if ((RENDER_OPTIONS as readonly string[]).includes(name)) values[name as (typeof RENDER_OPTIONS)[number]] = value.trim();
    else values.params[name] = value;
  }
  return values;
}

function toRenderRequest(values: RenderValues): RenderRequest {
  const whole = (value: string, label: string, field: string, min: number): number | undefined => {
    if (value === '') return undefined;
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`${label} must be a whole number of ${min} or more`, { field, value });
    }
    return n;
  };
  const request: RenderRequest = {
    params: values.params,
    revision: whole(values.revision, 'Revision', 'revision', 0),
    version: whole(values.version, 'Version', 'version', 1),
  };
  if (values.effective_time !== '') {
    if (!RFC3339.test(values.effective_time) || Number.isNaN(Date.parse(values.effective_time))) {
      throw new InvalidArgumentError('Effective time must be an RFC 3339 timestamp such as 2024-01-15T10:30:00Z', { field: 'effective_time', value: values.effective_time });
    }
    request.effectiveTime = values.effective_time;
  }
  return request;
}

/** Renders for a page or fragment: the result, or the error to show in its place. */
async function renderForPage(ctx: FactumContext, database: string, name: string, req: Request): Promise<RenderOutcome> {
  let values: RenderValues = { params: {}, revision: '', effective_time: '', version: '' };
  try {
    values = readRenderValues(req.query);
    const result = await renderStateView(ctx, database, name, toRenderRequest(values));
    if (result.notModified) throw new Error('unreachable: rendered without If-None-Match');
    const pageQuery = new URLSearchParams(Object.entries(values.params));
    for (const option of RENDER_OPTIONS) if (values[option] !== '') pageQuery.set(option, values[option]);
    return {
      ok: true,
      status: 200,
      values,
      result: {
        name: result.name,
        version: result.version,
        revision: result.revision,
        evolvedEvents: result.evolvedEvents,
        contentType: result.contentType,
        bytes: formatBytes(result.content.byteLength),
        ...describeContent(result.contentType, result.content),
        pageUrl: `/databases/${database}/console/state-views/${name}${pageQuery.size > 0 ? `?${pageQuery}` : ''}`,
      },
    };
  } catch (error) {
    if (!(error instanceof FactumError)) throw error;
    if (error.code === 'INTERNAL') req.log?.error({ err: error }, 'internal error');
    return { ok: false, status: STATUS_BY_CODE[error.code], values, code: error.code, message: error.message };
  }
}

const isJsonType = (contentType: string) => /^application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i.test(contentType);

function describeContent(contentType: string, content: Uint8Array): Pick<RenderedView, 'kind' | 'text' | 'invalidJson' | 'truncated'> {
  const none = { text: null, invalidJson: false, truncated: false };
  if (content.byteLength === 0) return { kind: 'empty', ...none };
  let text: string;
  try {
    text = utf8.decode(content);
  } catch {
    return { kind: 'binary', ...none };
  }
  // Valid UTF-8 can still be binary: control characters other than whitespace give it away.
  if (/[\u0000-\u0008\u000b\u000e-\u001f\u007f]/.test(text)) return { kind: 'binary', ...none };
  let kind: 'json' | 'text' = 'text';
  let invalidJson = false;
  if (isJsonType(contentType)) {
    try {
      text = JSON.stringify(JSON.parse(text), null, 2);
      kind = 'json';
    } catch {
      invalidJson = true;
    }
  }
  const truncated = text.length > MAX_SHOWN_CHARS;
  return { kind, text: truncated ? text.slice(0, MAX_SHOWN_CHARS) : text, invalidJson, truncated };
}

// ---- sending a command -----------------------------------------------------------------------

interface CommandValues {
  command: string;
  parameters: string;
  dry_run: boolean;
}

const COMMAND_LABELS: Record<string, string> = { command: 'Command', parameters: 'Parameters' };

type CommandOutcome = { status: number } & (
  | {
      kind: 'stored' | 'dry-run' | 'replayed' | 'nothing';
      revision: number;
      events: EventView[];
    }
  | {
      kind: 'rejected';
      rejectionKind: string;
      code: string;
      message: string;
      details: ErrorDetailsView;
    }
  | { kind: 'failed'; code: ErrorCode; message: string; field: string | undefined }
);

/** Details of a rejection: a flat object as a list of fields, anything deeper as JSON. */
type ErrorDetailsView = { fields: Array<{ name: string; value: string }> } | { json: string } | null;

function emptyCommandForm(): CommandValues {
  return { command: '', parameters: '', dry_run: false };
}

function readCommandForm(body: unknown): CommandValues {
  const fields = (body ?? {}) as Record<string, unknown>;
  const text = (name: string) => (typeof fields[name] === 'string' ? (fields[name] as string) : '');
  return { command: text('command'), parameters: text('parameters'), dry_run: text('dry_run') === 'true' };
}

const validProcessRequest = componentValidator('ProcessCommandRequest');

function toProcessRequest(values: CommandValues): ProcessRequest {
  const request: Record<string, unknown> = {
    command: jsonField(requireText(values.command, 'command', COMMAND_LABELS), 'command', COMMAND_LABELS),
  };
  if (values.parameters.trim() !== '') request.parameters = jsonField(values.parameters, 'parameters', COMMAND_LABELS);
  if (!validProcessRequest(request)) {
    const { message, details } = describeSchemaError(validProcessRequest.errors![0]!, '');
    throw new InvalidArgumentError(labelled(message, String(details.field), COMMAND_LABELS), details);
  }
  return { ...(request as Omit<ProcessRequest, 'dryRun'>), dryRun: values.dry_run };
}

async function sendCommand(ctx: FactumContext, database: string, name: string, values: CommandValues, req: Request): Promise<CommandOutcome> {
  let result: ProcessResult;
  try {
    result = await processCommand(ctx, database, name, toProcessRequest(values));
  } catch (error) {
    if (!(error instanceof FactumError)) throw error;
    if (error.code === 'INTERNAL') req.log?.error({ err: error }, 'internal error');
    return { kind: 'failed', status: STATUS_BY_CODE[error.code], code: error.code, message: error.message, field: formField(error.details) };
  }
  if (!result.success) {
    return { kind: 'rejected', status: result.status, rejectionKind: result.kind, code: result.error.code, message: result.error.message, details: detailsView(result.error.details) };
  }
  const kind = result.dry_run ? 'dry-run' : result.replayed ? 'replayed' : result.events.length === 0 ? 'nothing' : 'stored';
  return { kind, status: 200, revision: result.revision, events: result.events.map(describeEvent) };
}

function detailsView(details: Record<string, unknown>): ErrorDetailsView {
  const entries = Object.entries(details);
  if (entries.length === 0) return null;
  if (entries.every(([, v]) => v === null || ['string', 'number', 'boolean'].includes(typeof v))) {
    return { fields: entries.map(([name, value]) => ({ name, value: typeof value === 'string' ? value : JSON.stringify(value) })) };
  }
  return { json: JSON.stringify(details, null, 2) };
}

// ---------------------------------------------------------------------------------------------
// Events as the templates show them

interface EventView {
  revision: number;
  id: string;
  source: string;
  type: string;
  subject: string | null;
  /** CloudEvents `time`, or when the event was recorded if it has none. */
  effectiveTime: string;
  timeIsRecorded: boolean;
  attributes: Array<{ name: string; value: string }>;
  /** The data as text: JSON pretty-printed, text as is, binary as its base64. */
  data: string | null;
  dataKind: 'json' | 'text' | 'base64' | null;
}

const ATTRIBUTE_ORDER = ['revision', 'id', 'source', 'type', 'subject', 'time', 'recordedtime', 'specversion', 'datacontenttype', 'dataschema'];

function toEventView(raw: RawEvent): EventView {
  return describeEvent(parseStoredEvent(raw));
}

/** A stored event, or one a dry run would store (with the revision it would get, not yet recorded). */
function describeEvent(event: CloudEvent & { revision: number; recordedtime?: string }): EventView {
  const { data, data_base64, ...attributes } = event;
  const names = [
    ...ATTRIBUTE_ORDER.filter((name) => name in attributes),
    ...Object.keys(attributes)
      .filter((name) => !ATTRIBUTE_ORDER.includes(name))
      .sort(),
  ];
  let shown: string | null = null;
  let dataKind: EventView['dataKind'] = null;
  if ('data' in event) {
    dataKind = typeof data === 'string' ? 'text' : 'json';
    shown = typeof data === 'string' ? data : JSON.stringify(data, null, 2);
  } else if (typeof data_base64 === 'string') {
    dataKind = 'base64';
    shown = data_base64;
  }
  return {
    revision: event.revision,
    id: event.id,
    source: event.source,
    type: event.type,
    subject: event.subject ?? null,
    effectiveTime: event.time ?? event.recordedtime ?? '',
    timeIsRecorded: event.time === undefined,
    attributes: names.map((name) => ({ name, value: String((attributes as Record<string, unknown>)[name]) })),
    data: shown,
    dataKind,
  };
}
