/**
 * The page routes over plain HTTP: statuses, content types, what works without JavaScript, the
 * fragments htmx asks for, and the JSON route behind type-ahead.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf, type TestClient } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { seedShop } from '../browser/seed.ts';
import { csrfHeaders, loadConsoleCsrf, type ConsoleCsrf } from '../support/console-csrf.ts';

const HTMX = { 'HX-Request': 'true' };
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

describe('page routes (HTTP)', () => {
  let ts: TestServer;
  let api: TestClient;
  let csrf: ConsoleCsrf;

  beforeAll(async () => {
    ts = await startTestServer({ storage: 'memory' });
    api = ts.client;
    await seedShop(api, 'shop');
    csrf = await loadConsoleCsrf(ts.server.url);
  });
  afterAll(async () => {
    await ts?.stop();
  });

  /** Posts a form the way a browser does, without following the redirect. */
  const postForm = async (path: string, body: string, headers: Record<string, string> = {}) => {
    const htmx = 'HX-Request' in headers;
    const res = await fetch(ts.server.url + path, {
      method: 'POST',
      body: htmx ? body : `${body}&_csrf=${encodeURIComponent(csrf.token)}`,
      headers: { ...FORM, ...csrfHeaders(csrf, headers) },
      redirect: 'manual',
    });
    return { status: res.status, headers: res.headers, text: await res.text() };
  };

  const expectHtml = (reply: { headers: Headers }) => {
    expect(reply.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(reply.headers.get('content-security-policy')).toContain("script-src 'self'");
  };

  describe('assets', () => {
    it('serves htmx from the installed package with a JavaScript type', async () => {
      const reply = await api.get('/assets/htmx.min.js');
      expect(reply.status).toBe(200);
      expect(reply.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(reply.headers.get('x-content-type-options')).toBe('nosniff');
      const file = readFileSync(createRequire(import.meta.url).resolve('htmx.org/dist/htmx.min.js'), 'utf8');
      expect(reply.text).toBe(file);
    });

    it('serves the stylesheet as CSS', async () => {
      const reply = await api.get('/assets/factum.css');
      expect(reply.status).toBe(200);
      expect(reply.headers.get('content-type')).toBe('text/css; charset=utf-8');
      expect(reply.text).toContain('.selector-row');
    });

    it('loads nothing from elsewhere', async () => {
      const page = (await api.get('/')).text;
      expect(page).toContain('<script src="/assets/htmx.min.js" defer></script>');
      expect(page).not.toMatch(/(?:src|href)="(?:https?:)?\/\//);
    });
  });

  describe('pages', () => {
    it('lists databases on the home page', async () => {
      const reply = await api.get('/');
      expect(reply.status).toBe(200);
      expectHtml(reply);
      expect(reply.text).toContain('<a href="/databases/shop/console">shop</a>');
    });

    it('shows a database, its query builder and one event', async () => {
      for (const path of ['/databases/shop/console', '/databases/shop/query-builder', '/databases/shop/console/events/3']) {
        const reply = await api.get(path);
        expect(reply.status, path).toBe(200);
        expectHtml(reply);
        expect(reply.text).toMatch(/^<!doctype html>/);
      }
    });

    it('answers an unknown database, event or bad name with an error page and the right status', async () => {
      const cases: Array<[string, number, string]> = [
        ['/databases/nope/console', 404, 'database &quot;nope&quot; does not exist'],
        ['/databases/nope/query-builder', 404, 'database &quot;nope&quot; does not exist'],
        ['/databases/shop/console/events/999', 404, 'database &quot;shop&quot; has no event at revision 999'],
        ['/databases/shop/console/events/abc', 400, 'revision must be a whole number'],
        ['/databases/Not_A_Name/console', 400, 'Database name must be'],
      ];
      for (const [path, status, message] of cases) {
        const reply = await api.get(path);
        expect(reply.status, path).toBe(status);
        expectHtml(reply);
        expect(reply.text, path).toContain(message);
      }
    });

    it('never shows a stack trace, only a plain message for a server fault', async () => {
      const store = ts.server.ctx.store;
      const original = store.listDatabases;
      store.listDatabases = async () => {
        throw new Error('disk on fire at /secret/path');
      };
      try {
        const reply = await api.get('/');
        expect(reply.status).toBe(500);
        expectHtml(reply);
        expect(reply.text).toContain('internal server error');
        expect(reply.text).not.toContain('disk on fire');
        expect(reply.text).not.toMatch(/\.ts:\d+/);
      } finally {
        store.listDatabases = original;
      }
    });

    it('leaves routes that are not pages to the API', async () => {
      const reply = await api.get('/databases/shop');
      expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
      expect(errorOf(await api.get('/no/such/page')).code).toBe('NOT_FOUND');
    });
  });

  describe('query builder without JavaScript', () => {
    it('renders the results of a query URL, and its next page by the link', async () => {
      const reply = await api.get('/databases/shop/query-builder?event_type=OrderPaid&direction=forward&limit=2');
      expect(reply.status).toBe(200);
      expect(reply.text).toContain('id="event-3-toggle"');
      expect(reply.text).toContain('id="event-6-toggle"');
      expect(reply.text).not.toContain('id="event-9-toggle"');
      const next = /<a class="button" href="([^"]+)"/.exec(reply.text)![1]!.replaceAll('&amp;', '&');
      expect(next).toMatch(/^\/databases\/shop\/query-builder\?event_type=OrderPaid&direction=forward&limit=2&cursor=/);
      const second = await api.get(next);
      expect(second.status).toBe(200);
      expect(second.text).toContain('id="event-9-toggle"');
      expect(second.text).toContain('id="event-12-toggle"');
      expect(second.text).not.toContain('id="event-6-toggle"');
    });

    it('shows the form alone when no query is given', async () => {
      const reply = await api.get('/databases/shop/query-builder');
      expect(reply.text).toContain('run the query');
      expect(reply.text).not.toContain('class="events"');
    });

    it('adds and removes selector rows by reloading the page, without running the query', async () => {
      const added = await api.get('/databases/shop/query-builder?stream=crm&event_type=&subject=&direction=forward&limit=50&add_selector=1');
      expect(added.status).toBe(200);
      expect(added.text.match(/name="stream"/g)).toHaveLength(2);
      expect(added.text).toContain('id="stream-1" name="stream" value="crm"');
      expect(added.text).not.toContain('class="events"');

      const removed = await api.get('/databases/shop/query-builder?stream=crm&event_type=&subject=&stream=&event_type=X&subject=&remove_selector=0');
      expect(removed.text.match(/name="event_type"/g)).toHaveLength(1);
      expect(removed.text).toContain('id="event_type-1" name="event_type" value="X"');
    });

    it('shows what is wrong with a query, with status 400', async () => {
      const cases: Array<[string, string]> = [
        ['limit=0', 'Limit must be a whole number from 1 to 10000'],
        ['revision_start=x', 'Revision from must be a whole number'],
        ['time_end=2024-01-01', 'Effective time to must be an RFC 3339 timestamp'],
        ['direction=sideways', 'Order must be forward or backward'],
        ['cursor=bogus', 'cursor is not one this server issued'],
      ];
      for (const [query, message] of cases) {
        const reply = await api.get(`/databases/shop/query-builder?${query}`);
        expect(reply.status, query).toBe(400);
        expectHtml(reply);
        expect(reply.text, query).toContain(message);
        // The form is still there to correct the query.
        expect(reply.text).toContain('id="query-form"');
      }
    });
  });

  describe('fragments', () => {
    it('answers a query with the results and the page URL to push', async () => {
      const reply = await api.get(
        '/databases/shop/query-builder/results?stream=order-service&event_type=&subject=&revision_start=&revision_end=&time_start=&time_end=&direction=backward&limit=3',
        HTMX,
      );
      expect(reply.status).toBe(200);
      expectHtml(reply);
      expect(reply.text).not.toContain('<html');
      expect(reply.headers.get('hx-push-url')).toBe('/databases/shop/query-builder?stream=order-service&direction=backward&limit=3');
      expect([...reply.text.matchAll(/id="event-(\d+)-toggle"/g)].map((m) => Number(m[1]))).toEqual([17, 16, 14]);
      expect(reply.text).toContain('hx-get="/databases/shop/query-builder/results?stream=order-service&amp;direction=backward&amp;limit=3&amp;cursor=');
    });

    it('keeps selector positions in the pushed URL when there are several', async () => {
      const reply = await api.get('/databases/shop/query-builder/results?stream=crm&event_type=&subject=&stream=&event_type=OrderPaid&subject=order-2&direction=forward&limit=5', HTMX);
      expect(reply.headers.get('hx-push-url')).toBe(
        '/databases/shop/query-builder?stream=crm&event_type=&subject=&stream=&event_type=OrderPaid&subject=order-2&direction=forward&limit=5',
      );
      expect([...reply.text.matchAll(/id="event-(\d+)-toggle"/g)].map((m) => Number(m[1]))).toEqual([3, 19]);
    });

    it('answers the next page with rows only', async () => {
      const first = await api.get('/databases/shop/query-builder/results?event_type=OrderCreated&direction=forward&limit=5', HTMX);
      const more = /hx-get="([^"]+)"/.exec(first.text.slice(first.text.indexOf('load-more')))![1]!.replaceAll('&amp;', '&');
      const reply = await api.get(more, HTMX);
      expect(reply.status).toBe(200);
      expect(reply.headers.get('hx-push-url')).toBeNull();
      expect(reply.text.trimStart()).toMatch(/^<tbody class="event">/);
      expect([...reply.text.matchAll(/id="event-(\d+)-toggle"/g)].map((m) => Number(m[1]))).toEqual([8, 10, 11, 13, 14]);
    });

    it('answers a bad query with the message and its status, not a page', async () => {
      const reply = await api.get('/databases/shop/query-builder/results?limit=abc', HTMX);
      expect(reply.status).toBe(400);
      expect(reply.text).toContain('Limit must be a whole number');
      expect(reply.text).not.toContain('<html');
      const missing = await api.get('/databases/nope/query-builder/results?limit=5', HTMX);
      expect(missing.status).toBe(404);
      expect(missing.text).toContain('database &quot;nope&quot; does not exist');
    });

    it('opens and closes one event row', async () => {
      const open = await api.get('/databases/shop/console/events/2/row?expanded=true', HTMX);
      expect(open.status).toBe(200);
      expect(open.text).toContain('id="event-2-detail"');
      expect(open.text).toContain('aria-expanded="true"');
      expect(open.text).toContain('&quot;customerId&quot;: &quot;c-2&quot;');
      const closed = await api.get('/databases/shop/console/events/2/row?expanded=false', HTMX);
      expect(closed.text).not.toContain('id="event-2-detail"');
      expect(closed.text).toContain('aria-expanded="false"');
    });

    it('sends errors of other fragments to the page alert region', async () => {
      const reply = await api.get('/databases/shop/console/events/999/row?expanded=true', HTMX);
      expect(reply.status).toBe(404);
      expect(reply.headers.get('hx-retarget')).toBe('#alerts');
      expect(reply.text).toContain('has no event at revision 999');
    });

    it('suggests values as datalist options', async () => {
      const byName = await api.get('/databases/shop/query-builder/suggestions/subject?subject=order-1', HTMX);
      expect(byName.status).toBe(200);
      expect([...byName.text.matchAll(/<option value="([^"]*)">/g)].map((m) => m[1])).toEqual(['order-1', 'order-10', 'order-11', 'order-12']);
      const byPrefix = await api.get('/databases/shop/query-builder/suggestions/stream?prefix=pay', HTMX);
      expect([...byPrefix.text.matchAll(/<option value="([^"]*)">/g)].map((m) => m[1])).toEqual(['payment-service']);
      expect((await api.get('/databases/shop/query-builder/suggestions/color?prefix=x', HTMX)).status).toBe(400);
      // An emptied subject field offers nothing rather than every subject there is.
      const emptied = await api.get('/databases/shop/query-builder/suggestions/subject?subject=', HTMX);
      expect(emptied.status).toBe(200);
      expect(emptied.text).not.toContain('<option');
      const types = await api.get('/databases/shop/query-builder/suggestions/event_type?event_type=', HTMX);
      expect([...types.text.matchAll(/<option value="([^"]*)">/g)].map((m) => m[1])).toEqual(['CustomerRegistered', 'OrderCreated', 'OrderPaid']);
    });
  });

  describe('console forms', () => {
    it('creates a database from a plain form and goes to it', async () => {
      const reply = await postForm('/console/databases', 'name=plain-form');
      expect(reply.status).toBe(303);
      expect(reply.headers.get('location')).toBe('/databases/plain-form/console');
      expect((await api.get('/databases/plain-form')).status).toBe(200);
    });

    it('creates from htmx with the list redrawn, and refuses bad or taken names with their status', async () => {
      const created = await postForm('/console/databases', 'name=from-htmx', HTMX);
      expect(created.status).toBe(201);
      expect(created.text).toContain('Created database <a href="/databases/from-htmx/console">from-htmx</a>');
      expect(created.text.trimStart()).toMatch(/^<section id="databases"/);

      const taken = await postForm('/console/databases', 'name=shop', HTMX);
      expect(taken.status).toBe(409);
      expect(taken.text).toContain('id="create-error"');
      const bad = await postForm('/console/databases', 'name=Bad%20Name');
      expect(bad.status).toBe(400);
      expect(bad.text).toMatch(/^<!doctype html>/);
      expect(bad.text).toContain('Database name must be');
      expect(bad.text).toContain('value="Bad Name"');
    });

    it('confirms, then deletes a database from a plain form', async () => {
      expect((await api.post('/databases', { name: 'to-delete' })).status).toBe(201);
      const confirm = await api.get('/databases/to-delete/console/delete');
      expect(confirm.status).toBe(200);
      expect(confirm.text).toContain('<form method="post" action="/databases/to-delete/console/delete"');
      expect((await api.get('/databases/to-delete')).status).toBe(200);

      const deleted = await postForm('/databases/to-delete/console/delete', '');
      expect(deleted.status).toBe(303);
      expect(deleted.headers.get('location')).toBe('/');
      expect((await api.get('/databases/to-delete')).status).toBe(404);
      expect((await postForm('/databases/to-delete/console/delete', '')).status).toBe(404);
    });

    it('deleting from a database page through htmx redirects to the list', async () => {
      expect((await api.post('/databases', { name: 'redirected' })).status).toBe(201);
      const reply = await postForm('/databases/redirected/console/delete', '', HTMX);
      expect(reply.status).toBe(200);
      expect(reply.headers.get('hx-redirect')).toBe('/');
    });
  });

  describe('attribute values (JSON API)', () => {
    it('lists distinct values by prefix, ascending, up to the limit', async () => {
      const types = await api.get('/databases/shop/values/event_type');
      expect(types.status).toBe(200);
      expect(types.body).toEqual({ values: ['CustomerRegistered', 'OrderCreated', 'OrderPaid'] });
      expect((await api.get('/databases/shop/values/event_type?prefix=Order')).body).toEqual({ values: ['OrderCreated', 'OrderPaid'] });
      expect((await api.get('/databases/shop/values/subject?prefix=order-1&limit=2')).body).toEqual({ values: ['order-1', 'order-10'] });
      expect((await api.get('/databases/shop/values/stream?prefix=nothing')).body).toEqual({ values: [] });
    });

    it('refuses unknown attributes and bad limits, and unknown databases, in the error shape', async () => {
      expect(errorOf(await api.get('/databases/shop/values/color')).code).toBe('INVALID_ARGUMENT');
      expect(errorOf(await api.get('/databases/shop/values/subject?limit=0')).code).toBe('INVALID_ARGUMENT');
      expect(errorOf(await api.get('/databases/shop/values/subject?limit=1001')).code).toBe('INVALID_ARGUMENT');
      const missing = await api.get('/databases/nope/values/subject');
      expect(missing.status).toBe(404);
      expect(errorOf(missing).code).toBe('NOT_FOUND');
    });
  });
});
