/**
 * Event pages and the query builder. The query builder's page URL always holds the query, so a
 * query is a link; its fragments (results, the next page of rows, selector rows, suggestions)
 * come from paths of their own.
 */
import type { Router } from 'express';
import { isExtensionName, SELECTOR_ATTRS, type BuiltInAttr } from '../../core/selectors.ts';
import type { FactumContext } from '../../usecases/context.ts';
import { getEvent, queryEvents } from '../../usecases/query-events.ts';
import { suggestValues } from '../../usecases/suggest-values.ts';
import { toEventView, type EventView } from './event-view.ts';
import { shownInPlace } from './page-errors.ts';
import { eventRevision, pageRouter } from './page-router.ts';
import { applySelectorEdits, canonicalQuery, firstValue, hasQuery, readQueryForm, toQueryRequest, type QueryForm } from './query-form.ts';
import type { SendPage } from './views.ts';

const SUGGESTIONS = 50;

export function eventPages(ctx: FactumContext, page: SendPage): Router {
  const router = pageRouter(ctx);

  router.get('/databases/:database/console/events/:revision', async (req, res) => {
    const { db } = res.locals;
    const event = toEventView(await getEvent(ctx, db.name, eventRevision(db, req.params.revision!)));
    page(res, 'event.njk', { title: `Event ${event.revision} · ${db.name}`, db, event });
  });

  /** One result row, opened to show the whole event or closed again. */
  router.get('/databases/:database/console/events/:revision/row', async (req, res) => {
    const { db } = res.locals;
    const event = toEventView(await getEvent(ctx, db.name, eventRevision(db, req.params.revision!)));
    page(res, 'partials/event-row.njk', { dbName: db.name, event, expanded: firstValue(req.query, 'expanded') === 'true' });
  });

  router.get('/databases/:database/query-builder', async (req, res) => {
    const { db } = res.locals;
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
        const failure = shownInPlace(error, req);
        status = failure.status;
        context.queryError = failure.message;
      }
    }
    page(res, 'query-builder.njk', context, status);
  });

  /** The results of a query, or with `cursor` the next page's rows to append. */
  router.get('/databases/:database/query-builder/results', async (req, res) => {
    const cursor = firstValue(req.query, 'cursor') || undefined;
    let results: ResultsView;
    try {
      results = await runQuery(ctx, res.locals.db.name, readQueryForm(req.query), cursor);
    } catch (error) {
      const { status, message } = shownInPlace(error, req);
      return page(res, 'partials/query-error.njk', { message }, status);
    }
    if (cursor) return page(res, 'partials/event-page.njk', { results });
    // The address bar shows the page URL of this query, so it can be bookmarked and shared.
    res.set('HX-Push-Url', results.pageUrl);
    page(res, 'partials/results.njk', { results });
  });

  /** The selector list after adding or removing a row (the form's current values come along). */
  router.get('/databases/:database/query-builder/selectors', async (req, res) => {
    const edit = applySelectorEdits(readQueryForm(req.query), req.query);
    page(res, 'partials/selectors.njk', { db: res.locals.db, form: edit.form, focusNewSelector: edit.added });
  });

  /** `<option>`s for a `<datalist>`: values of the attribute starting with what was typed. */
  router.get('/databases/:database/query-builder/suggestions/:attribute', async (req, res) => {
    const attribute = req.params.attribute!;
    const prefix = firstValue(req.query, 'prefix') || ([...SELECTOR_ATTRS, 'extension_value'].includes(attribute) ? firstValue(req.query, attribute) : '');
    page(res, 'partials/suggestions.njk', { values: await suggestions(ctx, res.locals.db.name, attribute, prefix, firstValue(req.query, 'extension')) });
  });

  return router;
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
  const result = await queryEvents(ctx, database, toQueryRequest(form, cursor));
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
async function suggestions(ctx: FactumContext, database: string, attribute: string, prefix: string, extension = ''): Promise<string[]> {
  // An extension value is suggested for the extension named in its row, once it is a name.
  if (attribute === 'extension_value') return isExtensionName(extension) ? suggestValues(ctx, database, { extension, prefix, limit: SUGGESTIONS }) : [];
  if (attribute === 'subject' && prefix === '') return [];
  return suggestValues(ctx, database, { attribute: attribute as BuiltInAttr, prefix, limit: SUGGESTIONS });
}

async function initialSuggestions(ctx: FactumContext, database: string): Promise<Record<BuiltInAttr, string[]>> {
  const [stream, eventType, subject] = await Promise.all((['stream', 'event_type', 'subject'] as const).map((attr) => suggestions(ctx, database, attr, '')));
  return { stream: stream!, event_type: eventType!, subject: subject! };
}
