/**
 * The web console and query builder: server-rendered HTML (nunjucks, autoescaped) enhanced by
 * htmx, plus the static assets they need and the JSON route behind type-ahead. Every page works
 * with plain links and form submits; htmx only swaps fragments in place of full reloads.
 *
 * Fragments are served from their own paths (`…/results`, `…/row`), never from a page's path,
 * so a page URL always answers a whole page: safe to bookmark, share and restore from history.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import express, { Router, type ErrorRequestHandler, type Request, type Response } from 'express';
import nunjucks from 'nunjucks';
import { FactumError, InvalidArgumentError } from '../../core/errors.ts';
import { parseStoredEvent, type RawEvent } from '../../core/events.ts';
import { DATABASE_NAME_PATTERN } from '../../core/names.ts';
import type { SelectorAttr } from '../../core/selectors.ts';
import type { FactumContext } from '../../usecases/context.ts';
import { createDatabase, deleteDatabase, describeDatabase, listDatabases, requireDatabase } from '../../usecases/databases.ts';
import { getEvent, MAX_LIMIT, queryEvents, type QueryRequest, type QueryResult } from '../../usecases/query-events.ts';
import { isSelectorAttr, suggestValues } from '../../usecases/suggest-values.ts';
import { STATUS_BY_CODE } from '../errors.ts';
import { componentValidator, describeSchemaError } from '../openapi.ts';
import { validate } from '../validate.ts';

export interface PagesOptions {
  version: string;
}

const VIEWS_DIR = fileURLToPath(new URL('../../../views', import.meta.url));
const STYLESHEET_PATH = fileURLToPath(new URL('../../../views/assets/factum.css', import.meta.url));
const HTMX_PATH = createRequire(import.meta.url).resolve('htmx.org/dist/htmx.min.js');

const DEFAULT_PAGE_LIMIT = 50;
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
  router.use(htmlPages(ctx, createViews(options.version)));
  return router;
}

/** JSON for type-ahead clients; its errors take the API's error shape (the app's handler). */
function attributeValuesApi(ctx: FactumContext): Router {
  const router = Router();
  router.get('/databases/:database/values/:attribute', validate('listAttributeValues'), async (_req, res) => {
    const { database, attribute } = res.locals.params as { database: string; attribute: string };
    const { prefix, limit } = res.locals.query as { prefix: string; limit: number };
    res.json({ values: await suggestValues(ctx, database, attribute, prefix, limit) });
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
  env.addGlobal('databaseNamePattern', DATABASE_NAME_PATTERN.source.slice(1, -1).replace('[a-z0-9-]', '[a-z0-9\\-]'));
  env.addFilter('count', (n: number) => n.toLocaleString('en-US'));
  // `2024-01-15T10:30:00.000Z` reads better as `2024-01-15 10:30:00.000Z`; other text stays.
  env.addFilter('datetime', (value: string) => (/^\d{4}-\d{2}-\d{2}T/.test(value) ? value.replace('T', ' ') : value));
  return env;
}

// ---------------------------------------------------------------------------------------------
// HTML pages

function htmlPages(ctx: FactumContext, views: Views): Router {
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

  router.get('/databases/:database/console', async (req, res) => {
    const db = await describeDatabase(ctx, req.params.database!);
    const recent = await queryEvents(ctx, db.name, { direction: 'backward', limit: RECENT_EVENTS });
    page(res, 'database.njk', {
      title: db.name,
      db,
      events: recent.events.map(toEventView),
      recentQuery: canonicalQuery({ ...emptyQueryForm(), direction: 'backward' }),
    });
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
    const prefix = firstValue(req.query, 'prefix') || (isSelectorAttr(attribute) ? firstValue(req.query, attribute) : '');
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
    limit: whole(form.limit, 'Limit', 'limit', 1, MAX_LIMIT)!,
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
  return suggestValues(ctx, database, attribute, prefix, SUGGESTIONS);
}

async function initialSuggestions(ctx: FactumContext, database: string): Promise<Record<SelectorAttr, string[]>> {
  const [stream, eventType, subject] = await Promise.all(
    (['stream', 'event_type', 'subject'] as const).map((attr) => pageSuggestions(ctx, database, attr, '')),
  );
  return { stream: stream!, event_type: eventType!, subject: subject! };
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
  const event = parseStoredEvent(raw);
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
    effectiveTime: event.time ?? event.recordedtime,
    timeIsRecorded: event.time === undefined,
    attributes: names.map((name) => ({ name, value: String((attributes as Record<string, unknown>)[name]) })),
    data: shown,
    dataKind,
  };
}
