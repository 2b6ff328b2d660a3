/**
 * Live mode and the consumers list of the console, both read-only (GET).
 *
 * Live mode tails the events that match a page's selectors as they are appended: the page's
 * live panel connects (htmx's SSE extension) to a stream that is a subscription like the API's,
 * run by the same use case from the head the panel was drawn at, whose events arrive as the
 * HTML rows of the page's event tables. The panel starts and stops by swapping itself, and a
 * stopped panel holds no connection. Ending the stream (the server stopping, a slow browser)
 * leaves the rows and says so; an EventSource that lost its connection resumes after the last
 * row it got (Last-Event-ID).
 */
import type { Request, Response } from 'express';
import { InvalidArgumentError } from '../../core/errors.ts';
import type { FactumContext } from '../../usecases/context.ts';
import type { Frame } from '../../usecases/subscriptions/frames.ts';
import { listConsumers } from '../../usecases/subscriptions/consumers.ts';
import { hubOf, openSubscription, runSubscription, type SubscriptionRequest } from '../../usecases/subscriptions/subscribe.ts';
import { toHttpError } from '../errors.ts';
import { admit, callerOf, EVENT_STREAM, startHttpStream } from '../streams.ts';
import { toEventView } from './event-view.ts';
import { pageRouter } from './page-router.ts';
import { canonicalQuery, emptyQueryForm, firstValue, readQueryForm, toQueryRequest, type QueryForm } from './query-form.ts';
import type { RenderFragment, SendPage } from './views.ts';

/** Where a live panel is: the database page follows every event, the query builder its form's selectors. */
type LiveSource = 'database' | 'query';

export interface LivePanel {
  source: LiveSource;
  /** Set while live mode is on. */
  on?: { streamUrl: string; after: number; described: string };
}

export function livePages(ctx: FactumContext, page: SendPage, render: RenderFragment) {
  const router = pageRouter(ctx);

  /** The live panel, on (`on=1`, with the query form's fields on the query builder) or off. */
  router.get('/databases/:database/console/live', async (req, res) => {
    const { db } = res.locals;
    const source: LiveSource = firstValue(req.query, 'source') === 'query' ? 'query' : 'database';
    const form = source === 'query' ? readQueryForm(req.query) : emptyQueryForm();
    if (firstValue(req.query, 'on') !== '1') return page(res, 'partials/live-events.njk', { db, live: { source } satisfies LivePanel });
    try {
      liveSelectors(form);
    } catch (error) {
      return page(res, 'partials/live-events.njk', { db, live: { source }, liveError: (error as Error).message }, 400);
    }
    page(res, 'partials/live-events.njk', { db, live: livePanel(db.name, source, form, db.latest_revision) });
  });

  /** The stream a live panel connects to: event rows as SSE messages named `event`, and its status. */
  router.get('/databases/:database/console/live/stream', async (req, res) => {
    const database = res.locals.db.name;
    const selectors = liveSelectors(readQueryForm(req.query));
    const slot = admit(hubOf(ctx), callerOf(res.locals.principal, req.ip), res);
    try {
      const after = resumeAfter(req) ?? revisionParameter(firstValue(req.query, 'after'));
      const subscription = await openSubscription(ctx, database, { ...(selectors && { selectors }), after: after ?? 'latest' });
      const sink = (slot.sink = startHttpStream(req, res, EVENT_STREAM, (frame) => liveMessage(render, res, database, frame)));
      await runSubscription(ctx, subscription, sink, slot.signal);
      sink.close();
    } finally {
      slot.release();
    }
  });

  /** The consumers section of the database page, redrawn while the page is open. */
  router.get('/databases/:database/console/consumers', async (_req, res) => {
    page(res, 'partials/consumers.njk', { db: res.locals.db, ...(await consumersSection(ctx, res.locals.db.name)) });
  });

  return router;
}

/** The consumers as the database page lists them. */
export async function consumersSection(ctx: FactumContext, database: string) {
  const { consumers } = await listConsumers(ctx, database);
  return {
    consumers: consumers.map((c) => ({
      name: c.name,
      selectors: c.selectors.length === 0 ? 'every event' : c.selectors.map((s) => JSON.stringify(s)).join(' or '),
      position: c.position,
      lag: c.lag,
      lagExact: c.lag_exact,
      ackedAt: c.acked_at,
    })),
  };
}

/** The panel of a live mode that is on, following `form`'s selectors after `after`. */
export function livePanel(database: string, source: LiveSource, form: QueryForm, after: number): LivePanel {
  const query = source === 'query' ? canonicalQuery(form) : '';
  const selectors = source === 'query' ? liveSelectors(form) : undefined;
  return {
    source,
    on: {
      streamUrl: `/databases/${database}/console/live/stream?${query ? `${query}&` : ''}after=${after}`,
      after,
      described: selectors ? `events matching the query's selectors` : 'every new event',
    },
  };
}

/** The selectors of the form, checked as a query's; undefined for every event. Ranges and order do not apply to new events. */
function liveSelectors(form: QueryForm): SubscriptionRequest['selectors'] {
  return toQueryRequest({ ...form, revision_start: '', revision_end: '', time_start: '', time_end: '' }, undefined).selectors;
}

function revisionParameter(text: string): number | undefined {
  if (text === '') return undefined;
  if (!/^\d{1,15}$/.test(text)) throw new InvalidArgumentError('after must be a revision', { field: 'after' });
  return Number(text);
}

/** The revision an EventSource resumes after when it reconnects. */
function resumeAfter(req: Request): number | undefined {
  const header = req.headers['last-event-id'];
  return typeof header === 'string' && /^\d{1,15}$/.test(header) ? Number(header) : undefined;
}

/** A frame as the live panel takes it: rows as `event`, what it follows and how it ended as `status`. */
function liveMessage(render: RenderFragment, res: Response, database: string, frame: Frame): string | undefined {
  switch (frame.type) {
    case 'event':
      return sse('event', render(res, 'partials/live-event.njk', { dbName: database, event: toEventView(frame.event) }), frame.event.revision);
    case 'subscribed':
    case 'caught_up':
      return sse('status', render(res, 'partials/live-status.njk', { state: 'following', revision: frame.type === 'subscribed' ? frame.after : frame.revision }));
    case 'heartbeat':
      // Keeps proxies from closing a quiet connection; the extension ignores comments.
      return ': heartbeat\n\n';
    case 'end':
      return sse('ended', render(res, 'partials/live-status.njk', { state: 'ended', reason: frame.reason, revision: frame.resume_after }));
    case 'error':
      return sse('ended', render(res, 'partials/live-status.njk', { state: 'failed', message: toHttpError(frame.error).message }));
    default:
      return undefined;
  }
}

/** An SSE message of HTML: one `data` line per line of it. */
function sse(event: string, html: string, id?: number): string {
  const data = html
    .trim()
    .split(/\r?\n/)
    .map((line) => `data: ${line}`)
    .join('\n');
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\n${data}\n\n`;
}
