/**
 * The console's state view and state change routes over plain HTTP: the render and command
 * fragments with their statuses, escaping of what components produce, uploads from the forms
 * with and without htmx, deletes, and the pages that work without JavaScript.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestClient } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { BUILD_TIMEOUT_MS, loadComponents } from '../wasm/components.ts';
import { csrfHeaders, loadConsoleCsrf, type ConsoleCsrf } from '../support/console-csrf.ts';

const HTMX = { 'HX-Request': 'true' };
const SCRIPT = '<script>window.injected = true</script>';

type Components = Record<'order-summary' | 'customer-profile' | 'process-order' | 'misbehaving-view', Uint8Array>;

describe('state view and state change pages (HTTP)', () => {
  let ts: TestServer;
  let api: TestClient;
  let components: Components;
  let csrf: ConsoleCsrf;
  const url = (path: string) => ts.server.url + path;

  /** Publishes through the JSON API, as the setup for the page routes. */
  async function publish(db: string, kind: 'state-views' | 'state-changes', metadata: unknown, wasm: Uint8Array): Promise<void> {
    const form = new FormData();
    form.append('metadata', JSON.stringify(metadata));
    form.append('wasm', new Blob([wasm as Uint8Array<ArrayBuffer>]), 'component.wasm');
    const res = await fetch(url(`/databases/${db}/${kind}`), { method: 'POST', body: form });
    expect(res.status, await res.text()).toBe(201);
  }

  /** Posts an upload form the way a browser does: text fields, then the file. */
  async function postUpload(path: string, fields: Record<string, string>, wasm: Uint8Array | undefined, headers: Record<string, string> = {}) {
    const form = new FormData();
    if (!('HX-Request' in headers)) form.append('_csrf', csrf.token);
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    form.append('wasm', new Blob(wasm ? [wasm as Uint8Array<ArrayBuffer>] : []), wasm ? 'component.wasm' : '');
    const res = await fetch(url(path), { method: 'POST', body: form, headers: csrfHeaders(csrf, headers), redirect: 'manual' });
    return { status: res.status, headers: res.headers, text: await res.text() };
  }

  async function postForm(path: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
    const res = await fetch(url(path), {
      method: 'POST',
      body: new URLSearchParams('HX-Request' in headers ? fields : { ...fields, _csrf: csrf.token }),
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...csrfHeaders(csrf, headers) },
      redirect: 'manual',
    });
    return { status: res.status, headers: res.headers, text: await res.text() };
  }

  const command = (orderId: string, price: number, customerId = 'c-1') =>
    JSON.stringify({ type: 'CreateOrder', order_id: orderId, customer_id: customerId, items: [{ product_id: 'p-1', quantity: 1, price }] });

  const latestRevision = async (db: string) => (await api.get(`/databases/${db}`)).body.latest_revision as number;

  beforeAll(async () => {
    components = await loadComponents('order-summary', 'customer-profile', 'process-order', 'misbehaving-view');
    ts = await startTestServer({ storage: 'memory' });
    api = ts.client;
    csrf = await loadConsoleCsrf(ts.server.url);
    expect((await api.post('/databases', { name: 'shop' })).status).toBe(201);
    await publish('shop', 'state-views', { state_view_name: 'customer-profile', description: `Profiles ${SCRIPT}`, content_type: 'application/json', event_selector: { subject: '{customer_id}' }, query_temporality: 'revision' }, components['customer-profile']);
    await publish(
      'shop',
      'state-views',
      { state_view_name: 'order-summary', content_type: 'application/json', event_selector: { event_type: 'OrderCreated' }, query_temporality: 'effective_timestamp' },
      components['order-summary'],
    );
    // Declared JSON; what it renders is chosen by its `mode` parameter.
    await publish('shop', 'state-views', { state_view_name: 'misbehaving', content_type: 'application/json', event_selector: { event_type: 'Tick' }, query_temporality: 'revision', parameters: ['mode', 'size'] }, components['misbehaving-view']);
    await publish('shop', 'state-changes', { state_change_name: 'process-order', state_views: [{ name: 'customer-profile', parameters: { customer_id: '{customer_id}' } }] }, components['process-order']);
    const registered = await api.post('/databases/shop/events', {
      events: [
        { specversion: '1.0', id: 'c-1', source: 'crm', type: 'CustomerRegistered', subject: 'c-1', data: { customerId: 'c-1', name: 'Ada', creditLimit: 100 } },
        { specversion: '1.0', id: 'c-x', source: 'crm', type: 'CustomerRegistered', subject: 'c-x', data: { customerId: 'c-x', name: SCRIPT, creditLimit: 5 } },
      ],
    });
    expect(registered.status).toBe(200);
  }, BUILD_TIMEOUT_MS);
  afterAll(async () => {
    await ts?.stop();
  });

  describe('the database page', () => {
    it('lists the views with their parameters and the state changes with the views they read', async () => {
      const reply = await api.get('/databases/shop/console');
      expect(reply.status).toBe(200);
      expect(reply.text).toContain('id="state-view-customer-profile"');
      expect(reply.text).toContain('<code>customer_id</code>');
      expect(reply.text).toContain('id="sv-customer-profile-param-customer_id" name="customer_id" required');
      // Only a view read by effective time offers one.
      expect(reply.text).toContain('id="sv-order-summary-effective-time" name="effective_time"');
      expect(reply.text).not.toContain('id="sv-customer-profile-effective-time"');
      expect(reply.text).toContain('id="state-change-process-order"');
      expect(reply.text).toContain('<a href="#state-view-customer-profile"><code>customer-profile</code></a>');
      // A description is text, not markup.
      expect(reply.text).toContain('Profiles &lt;script&gt;window.injected = true&lt;/script&gt;');
      expect(reply.text).not.toContain(SCRIPT);
    });
  });

  describe('rendering a view', () => {
    const render = (query: string, headers = HTMX) => api.get(`/databases/shop/console/state-views/customer-profile/render?${query}`, headers);

    it('answers with the pretty-printed JSON, the revision, version and evolved events', async () => {
      const reply = await render('customer_id=c-1&revision=&version=');
      expect(reply.status).toBe(200);
      expect(reply.text).not.toContain('<html');
      expect(reply.text).toContain('<dt>Revision</dt><dd>2</dd>');
      expect(reply.text).toContain('<dt>Version</dt><dd>1</dd>');
      expect(reply.text).toMatch(/<dt>Events evolved<\/dt><dd>\d+<\/dd>/);
      expect(reply.text).toContain('{\n  &quot;customer_id&quot;: &quot;c-1&quot;,\n  &quot;registered&quot;: true,');
      expect(reply.text).toContain('href="/databases/shop/console/state-views/customer-profile?customer_id=c-1"');
    });

    it('escapes what a view renders', async () => {
      const reply = await render('customer_id=c-x');
      expect(reply.status).toBe(200);
      expect(reply.text).toContain('&quot;name&quot;: &quot;&lt;script&gt;window.injected = true&lt;/script&gt;&quot;');
      expect(reply.text).not.toContain('<script>');
    });

    it('shows why a render is refused, in place, with its status', async () => {
      const cases: Array<[string, number, string]> = [
        ['', 400, 'parameter &quot;customer_id&quot; is required'],
        ['customer_id=c-1&revision=x', 400, 'Revision must be a whole number of 0 or more'],
        ['customer_id=c-1&revision=99', 400, 'revision 99 is beyond the latest revision'],
        ['customer_id=c-1&version=0', 400, 'Version must be a whole number of 1 or more'],
        ['customer_id=c-1&version=7', 404, 'version 7'],
        ['customer_id=c-1&effective_time=2024-01-01T00:00:00Z', 400, 'effective_time does not apply'],
        ['customer_id=c-1&customer_id=c-2', 400, 'parameter &quot;customer_id&quot; must be given once'],
      ];
      for (const [query, status, message] of cases) {
        const reply = await render(query);
        expect(reply.status, query).toBe(status);
        expect(reply.text, query).toContain(message);
        expect(reply.text, query).toContain('class="error-box" role="alert"');
        // In place of the result, not sent to the page's alert region.
        expect(reply.headers.get('hx-retarget'), query).toBeNull();
      }
      const badTime = await api.get('/databases/shop/console/state-views/order-summary/render?effective_time=yesterday', HTMX);
      expect(badTime.status).toBe(400);
      expect(badTime.text).toContain('Effective time must be an RFC 3339 timestamp');
      const missing = await api.get('/databases/shop/console/state-views/nope/render', HTMX);
      expect(missing.status).toBe(404);
      expect(missing.text).toContain('state view &quot;nope&quot;');
    });

    it('shows text that is not the JSON it claims as text, cuts off a large content, and hides a component failure’s internals', async () => {
      const misbehaving = (query: string) => api.get(`/databases/shop/console/state-views/misbehaving/render?${query}`, HTMX);
      const counter = await misbehaving('');
      expect(counter.status).toBe(200);
      expect(counter.text).toContain('<pre class="data" tabindex="0"><code>0</code></pre>');
      expect(counter.text).toContain('href="/databases/shop/console/state-views/misbehaving"');

      const big = await misbehaving('mode=big&size=300000');
      expect(big.status).toBe(200);
      expect(big.text).toContain('Declared as JSON but not valid JSON; shown as text.');
      expect(big.text).toContain('<dt>Size</dt><dd>293 KiB</dd>');
      expect(big.text).toContain('Only the beginning is shown');
      expect(big.text).toContain(`<code>${'x'.repeat(200_000)}</code>`);
      expect(big.text).not.toContain('x'.repeat(200_001));

      const failed = await misbehaving('mode=throw');
      expect(failed.status).toBe(500);
      expect(failed.text).toContain('The view could not be rendered.');
      expect(failed.text).not.toMatch(/\.(?:ts|js|mjs):\d+/);
    });

    it('renders on the view’s own page without JavaScript, the form filled in', async () => {
      const reply = await api.get('/databases/shop/console/state-views/customer-profile?customer_id=c-1&revision=1');
      expect(reply.status).toBe(200);
      expect(reply.text).toMatch(/^<!doctype html>/);
      expect(reply.text).toContain('name="customer_id" required value="c-1"');
      expect(reply.text).toContain('<dt>Revision</dt><dd>1</dd>');
      expect(reply.text).toContain('&quot;registered&quot;: true');
      const refused = await api.get('/databases/shop/console/state-views/customer-profile?customer_id=c-1&revision=99');
      expect(refused.status).toBe(400);
      expect(refused.text).toMatch(/^<!doctype html>/);
      expect(refused.text).toContain('revision 99 is beyond the latest revision');
      const plain = await api.get('/databases/shop/console/state-views/customer-profile');
      expect(plain.status).toBe(200);
      expect(plain.text).toContain('&quot;subject&quot;: &quot;{customer_id}&quot;');
      expect(plain.text).not.toContain('class="result');
    });

    it('answers unknown views and bad names with an error page', async () => {
      const missing = await api.get('/databases/shop/console/state-views/nope');
      expect(missing.status).toBe(404);
      expect(missing.text).toContain('state view &quot;nope&quot;');
      const bad = await api.get('/databases/shop/console/state-views/Bad_Name');
      expect(bad.status).toBe(400);
      expect(bad.text).toContain('A state view name must be');
    });
  });

  describe('sending a command', () => {
    const process = (fields: Record<string, string>, headers: Record<string, string> = HTMX) =>
      postForm('/databases/shop/console/state-changes/process-order/process', fields, headers);

    it('answers with the stored events, and from the database page redraws its numbers', async () => {
      const before = await latestRevision('shop');
      const reply = await process({ command: command('o-1', 10), parameters: '' });
      expect(reply.status).toBe(200);
      expect(reply.text).toContain(`Stored 1 event; the database is at revision ${before + 1}.`);
      expect(reply.text).toContain(`<a class="rev" href="/databases/shop/console/events/${before + 1}"`);
      expect(reply.text).toContain('&quot;orderId&quot;: &quot;o-1&quot;');
      expect(reply.text).not.toContain('hx-swap-oob');

      const fromPage = await process({ command: command('o-2', 10) }, { ...HTMX, 'HX-Current-URL': url('/databases/shop/console') });
      expect(fromPage.status).toBe(200);
      expect(fromPage.text).toContain('<dl id="stats" class="stats" hx-swap-oob="true">');
      expect(fromPage.text).toContain(`<dt>Latest revision</dt><dd>${before + 2}</dd>`);
      expect(fromPage.text).toContain('<section id="recent-events" class="panel" aria-labelledby="recent-heading" hx-swap-oob="true">');
    });

    it('shows a rejection with its code, message, details and the status of its kind', async () => {
      const before = await latestRevision('shop');
      const reply = await process({ command: command('o-3', 500) });
      expect(reply.status).toBe(409);
      expect(reply.text).toContain('<span class="status-badge">409 Conflict</span>');
      expect(reply.text).toContain('<code class="error-code">INSUFFICIENT_CREDIT</code>');
      expect(reply.text).toContain('Customer credit limit exceeded');
      expect(reply.text).toContain('<dt>order_total</dt><dd>500</dd>');
      const unknown = await process({ command: command('o-4', 1, 'c-404') });
      expect(unknown.status).toBe(404);
      expect(unknown.text).toContain('UNKNOWN_CUSTOMER');
      expect(await latestRevision('shop')).toBe(before);
    });

    it('tries a command on a dry run without writing', async () => {
      const before = await latestRevision('shop');
      const reply = await process({ command: command('o-5', 1), dry_run: 'true' });
      expect(reply.status).toBe(200);
      expect(reply.text).toContain(`Dry run: 1 event would be stored, up to revision ${before + 1}. Nothing was written.`);
      // Not stored, so not a link to an event page.
      expect(reply.text).toContain(`<span class="rev" title="The revision it would get">${before + 1}</span>`);
      expect(await latestRevision('shop')).toBe(before);
    });

    it('says what is wrong with the form, with status 400', async () => {
      const cases: Array<[Record<string, string>, string]> = [
        [{ command: '' }, 'Command is required'],
        [{ command: '{"type":' }, 'Command is not valid JSON'],
        [{ command: command('o-6', 1), parameters: '[1' }, 'Parameters is not valid JSON'],
        [{ command: command('o-6', 1), parameters: '{"customer_id": 7}' }, 'Parameters (customer_id) must be string'],
      ];
      for (const [fields, message] of cases) {
        const reply = await process(fields);
        expect(reply.status, message).toBe(400);
        expect(reply.text, message).toContain(message);
        expect(reply.text, message).toContain('class="result failure" role="alert"');
      }
      const missing = await postForm('/databases/shop/console/state-changes/nope/process', { command: '{}' }, HTMX);
      expect(missing.status).toBe(404);
      expect(missing.text).toContain('state change &quot;nope&quot;');
    });

    it('escapes what a command and its events carry', async () => {
      const reply = await process({ command: JSON.stringify({ type: 'CreateOrder', order_id: SCRIPT, customer_id: 'c-1', items: [{ product_id: SCRIPT, quantity: 1, price: 1 }] }) });
      expect(reply.status).toBe(200);
      expect(reply.text).toContain('order-&lt;script&gt;window.injected = true&lt;/script&gt;');
      expect(reply.text).not.toContain('<script>');
    });

    it('processes from the state change’s own page without JavaScript', async () => {
      const page = await api.get('/databases/shop/console/state-changes/process-order');
      expect(page.status).toBe(200);
      expect(page.text).toContain('<form class="tool-form command-form" action="/databases/shop/console/state-changes/process-order" method="post"');
      const rejected = await postForm('/databases/shop/console/state-changes/process-order', { command: command('o-7', 900) });
      expect(rejected.status).toBe(409);
      expect(rejected.text).toMatch(/^<!doctype html>/);
      expect(rejected.text).toContain('INSUFFICIENT_CREDIT');
      // The command stays in the form, to correct and send again.
      expect(rejected.text).toContain('&quot;order_id&quot;:&quot;o-7&quot;');
    });
  });

  describe('uploads from the forms', () => {
    const viewFields = (name: string) => ({
      state_view_name: name,
      description: '',
      content_type: 'application/json',
      query_temporality: 'revision',
      event_selector: '{"event_type": "OrderCreated"}',
    });

    it('publishes a view from a plain form and goes back to the database page', async () => {
      const reply = await postUpload('/databases/shop/console/state-views', viewFields('plain-view'), components['order-summary']);
      expect(reply.status).toBe(303);
      expect(reply.headers.get('location')).toBe('/databases/shop/console#state-view-plain-view');
      expect((await api.get('/databases/shop/state-views/plain-view/versions')).body.versions).toHaveLength(1);
    });

    it('publishes from htmx with the section redrawn and the numbers with it', async () => {
      const reply = await postUpload('/databases/shop/console/state-views', viewFields('plain-view'), components['order-summary'], HTMX);
      expect(reply.status).toBe(201);
      expect(reply.text.trimStart()).toMatch(/^<section id="state-views"/);
      expect(reply.text).toContain('Published state view <a href="#state-view-plain-view">plain-view</a>, version 2.');
      expect(reply.text).toContain('<dl id="stats" class="stats" hx-swap-oob="true">');
    });

    it('refuses bad uploads with the message at the field and the values kept', async () => {
      const cases: Array<[Record<string, string>, Uint8Array | undefined, string, string]> = [
        [{ ...viewFields('Bad Name') }, components['order-summary'], 'state_view_name', 'Name is invalid: Lowercase letters, digits and hyphens'],
        [{ ...viewFields('v'), event_selector: '{nope' }, components['order-summary'], 'event_selector', 'Event selector is not valid JSON'],
        [{ ...viewFields('v'), event_selector: '{"colour": "red"}' }, components['order-summary'], 'event_selector', 'Event selector'],
        [{ ...viewFields('v'), content_type: '' }, components['order-summary'], 'content_type', 'Content type is required'],
        [{ ...viewFields('v'), query_temporality: 'wallclock' }, components['order-summary'], 'query_temporality', 'Read by must be one of'],
        [viewFields('v'), undefined, 'wasm', 'Choose the component file (.wasm)'],
        [viewFields('v'), components['process-order'], 'wasm', 'state-view'],
      ];
      for (const [fields, wasm, field, message] of cases) {
        const reply = await postUpload('/databases/shop/console/state-views', fields, wasm, HTMX);
        expect(reply.status, message).toBe(400);
        const id = { state_view_name: 'sv-upload-name', event_selector: 'sv-upload-selector', content_type: 'sv-upload-content-type', query_temporality: 'sv-upload-temporality', wasm: 'sv-upload-wasm' }[field]!;
        expect(reply.text, message).toMatch(new RegExp(`<p id="${id}-error" class="field-error" role="alert">[^<]*${message.replace(/[()[\].]/g, '\\$&')}`));
        expect(reply.text, message).toContain('aria-invalid="true"');
      }
      // Without JavaScript: the whole page, with the form open and filled in.
      const plain = await postUpload('/databases/shop/console/state-views', viewFields('Bad Name'), components['order-summary']);
      expect(plain.status).toBe(400);
      expect(plain.text).toMatch(/^<!doctype html>/);
      expect(plain.text).toContain('value="Bad Name"');
      expect(plain.text).toContain('<details class="upload" open>');
      expect((await api.get('/databases/shop/state-views')).body.state_views.map((v: { name: string }) => v.name)).not.toContain('v');
    });

    it('publishes a state change, and refuses one reading a view that does not exist', async () => {
      const ok = await postUpload(
        '/databases/shop/console/state-changes',
        { state_change_name: 'second-order', description: 'Again', state_views: '[{"name": "customer-profile"}]' },
        components['process-order'],
        HTMX,
      );
      expect(ok.status).toBe(201);
      expect(ok.text).toContain('Published state change <a href="#state-change-second-order">second-order</a>, version 1.');
      const missingView = await postUpload('/databases/shop/console/state-changes', { state_change_name: 'x', description: '', state_views: '[{"name": "nope"}]' }, components['process-order'], HTMX);
      expect(missingView.status).toBe(404);
      expect(missingView.text).toMatch(/<p id="sc-upload-views-error" class="field-error" role="alert">[^<]*nope/);
      const badViews = await postUpload('/databases/shop/console/state-changes', { state_change_name: 'x', description: '', state_views: '{"name": "nope"}' }, components['process-order'], HTMX);
      expect(badViews.status).toBe(400);
      expect(badViews.text).toContain('State views read must be array');
    });

    it('answers an upload to a database that does not exist with 404', async () => {
      const reply = await postUpload('/databases/nope/console/state-views', viewFields('v'), components['order-summary']);
      expect(reply.status).toBe(404);
      expect(reply.text).toContain('database &quot;nope&quot; does not exist');
    });
  });

  describe('deleting', () => {
    it('confirms, then deletes from a plain form', async () => {
      const confirm = await api.get('/databases/shop/console/state-views/plain-view/delete');
      expect(confirm.status).toBe(200);
      expect(confirm.text).toContain('<form method="post" action="/databases/shop/console/state-views/plain-view/delete"');
      const deleted = await postForm('/databases/shop/console/state-views/plain-view/delete', {});
      expect(deleted.status).toBe(303);
      expect(deleted.headers.get('location')).toBe('/databases/shop/console#state-views');
      expect((await api.get('/databases/shop/state-views/plain-view/versions')).status).toBe(404);
      expect((await api.get('/databases/shop/console/state-views/plain-view/delete')).status).toBe(404);
    });

    it('deletes from htmx: the section redrawn from the list, back to the database from the own page', async () => {
      const fromList = await postForm('/databases/shop/console/state-changes/second-order/delete', {}, { ...HTMX, 'HX-Target': 'state-changes' });
      expect(fromList.status).toBe(200);
      expect(fromList.text.trimStart()).toMatch(/^<section id="state-changes"/);
      expect(fromList.text).toContain('Deleted state change <strong>second-order</strong>.');

      await publish('shop', 'state-changes', { state_change_name: 'third-order' }, components['process-order']);
      const fromPage = await postForm('/databases/shop/console/state-changes/third-order/delete', {}, HTMX);
      expect(fromPage.status).toBe(200);
      expect(fromPage.headers.get('hx-redirect')).toBe('/databases/shop/console');

      const missing = await postForm('/databases/shop/console/state-changes/third-order/delete', {}, HTMX);
      expect(missing.status).toBe(404);
      expect(missing.headers.get('hx-retarget')).toBe('#alerts');
    });
  });
});
