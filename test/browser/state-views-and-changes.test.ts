/**
 * State views and state changes on the database page, in a real browser: uploads through the
 * file input, rendering a view with a parameter, sending commands (stored and rejected), and
 * deleting, against a real server running the example components.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../support/server.ts';
import { BUILD_TIMEOUT_MS, loadComponents } from '../wasm/components.ts';
import { launchChromium, screenshot, type Browser } from './chromium.ts';

const ORDER_SELECTOR = {
  type: 'or',
  selectors: ['OrderCreated', 'OrderCompleted', 'OrderCancelled'].map((t) => ({ type: 'equals', attr: { event_type: t } })),
};
const PROFILE_BINDING = [{ name: 'customer-profile', parameters: { customer_id: '{customer_id}' } }];

const createOrder = (orderId: string, price: number, quantity = 1) => ({
  type: 'CreateOrder',
  order_id: orderId,
  customer_id: 'c-1',
  items: [{ product_id: 'p-1', quantity, price }],
});

describe('state views and state changes (browser)', () => {
  let ts: TestServer;
  let browser: Browser;
  let page: Page;
  let fileDir: string;
  const file = (name: string) => join(fileDir, name);

  beforeAll(async () => {
    const components = await loadComponents('order-summary', 'customer-profile', 'process-order');
    fileDir = await mkdtemp(join(tmpdir(), 'factum-upload-'));
    await Promise.all([
      ...Object.entries(components).map(([name, bytes]) => writeFile(file(`${name}.wasm`), bytes)),
      // A core module: the WebAssembly magic and version 1, no component layer.
      writeFile(file('core-module.wasm'), new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00])),
    ]);
    [ts, browser] = await Promise.all([startTestServer({ storage: 'memory' }), launchChromium()]);
    expect((await ts.client.post('/databases', { name: 'shop' })).status).toBe(201);
    const registered = await ts.client.post('/databases/shop/events', {
      events: [{ specversion: '1.0', id: 'c-1', source: 'crm', type: 'CustomerRegistered', subject: 'c-1', data: { customerId: 'c-1', name: 'Ada', creditLimit: 100 } }],
    });
    expect(registered.status).toBe(200);
    page = await browser.newPage();
    await page.goto(`${ts.server.url}/databases/shop/console`);
  }, BUILD_TIMEOUT_MS);
  afterAll(async () => {
    await browser?.close();
    await ts?.stop();
    if (fileDir) await rm(fileDir, { recursive: true, force: true });
  });

  const views = () => page.locator('#state-views');
  const changes = () => page.locator('#state-changes');
  const stat = (label: string) => page.locator('#stats > div', { has: page.locator(`dt:text-is("${label}")`) }).locator('dd');

  /** Opens a folded upload form (it starts open while the list is empty). */
  async function openUpload(section: ReturnType<typeof views>): Promise<void> {
    const details = section.locator('details.upload');
    if (!(await details.evaluate((d) => (d as HTMLDetailsElement).open))) await details.locator('summary').click();
  }

  async function uploadView(fields: { name: string; description?: string; selector: unknown; file: string }): Promise<number> {
    await openUpload(views());
    await page.fill('#sv-upload-name', fields.name);
    await page.fill('#sv-upload-description', fields.description ?? '');
    await page.fill('#sv-upload-selector', JSON.stringify(fields.selector));
    await page.setInputFiles('#sv-upload-wasm', file(fields.file));
    const reply = page.waitForResponse((r) => r.url().endsWith('/console/state-views') && r.request().method() === 'POST');
    await page.click('#state-views button:text-is("Upload state view")');
    return (await reply).status();
  }

  it('uploads state views through the file input and lists them', async () => {
    expect(await views().textContent()).toContain('No state views yet.');
    expect(await page.locator('#state-views details.upload').getAttribute('open')).not.toBeNull();

    expect(await uploadView({ name: 'order-summary', description: 'Orders by status', selector: ORDER_SELECTOR, file: 'order-summary.wasm' })).toBe(201);
    await views().locator('.notice', { hasText: 'Published state view order-summary, version 1.' }).waitFor();
    expect(await uploadView({ name: 'customer-profile', description: 'One customer’s credit and orders', selector: { subject: '{customer_id}' }, file: 'customer-profile.wasm' })).toBe(201);
    await views().locator('.notice', { hasText: 'Published state view customer-profile, version 1.' }).waitFor();

    const rows = await views()
      .locator('tbody.component tr.summary')
      .evaluateAll((trs) => trs.map((tr) => [...tr.children].slice(0, 5).map((cell) => cell.textContent!.replace(/\s+/g, ' ').trim())));
    expect(rows).toEqual([
      ['customer-profile One customer’s credit and orders', 'application/json', 'customer_id', 'revision', '1'],
      ['order-summary Orders by status', 'application/json', 'none', 'revision', '1'],
    ]);
    // The numbers at the top follow, without a reload.
    expect(await stat('State views').textContent()).toBe('2');
    // The upload form folds away once there is a list to show, and is empty again.
    expect(await page.locator('#state-views details.upload').getAttribute('open')).toBeNull();
    await openUpload(views());
    expect(await page.inputValue('#sv-upload-name')).toBe('');
    expect(await page.inputValue('#sv-upload-content-type')).toBe('application/json');
    await page.click('#state-views details.upload > summary');
  });

  it('renders a view with its parameter and shows the JSON, with the revision and version', async () => {
    const row = page.locator('#state-view-customer-profile');
    await row.locator('summary:has-text("Render")').click();
    await page.fill('#sv-customer-profile-param-customer_id', 'c-1');
    const reply = page.waitForResponse((r) => r.url().includes('/state-views/customer-profile/render'));
    await row.locator('button:text-is("Render")').click();
    expect((await reply).status()).toBe(200);
    const output = page.locator('#sv-customer-profile-output');
    await output.locator('pre.data').waitFor();
    expect(JSON.parse((await output.locator('pre.data').textContent())!)).toEqual({
      customer_id: 'c-1',
      registered: true,
      name: 'Ada',
      credit_limit: 100,
      order_count: 0,
      total_spent: 0,
      available_credit: 100,
    });
    const facts = Object.fromEntries(await output.locator('.result-facts > div').evaluateAll((ds) => ds.map((d) => [d.querySelector('dt')!.textContent, d.querySelector('dd')!.textContent])));
    expect(facts).toMatchObject({ Revision: '1', Version: '1', 'Events evolved': '1' });
    expect(await output.locator('a.permalink').getAttribute('href')).toBe('/databases/shop/console/state-views/customer-profile?customer_id=c-1');

    // A revision past the latest is refused in place, with its status.
    await page.fill('#sv-customer-profile-revision', '99');
    const refused = page.waitForResponse((r) => r.url().includes('/state-views/customer-profile/render'));
    await row.locator('button:text-is("Render")').click();
    expect((await refused).status()).toBe(400);
    await output.locator('.error-box', { hasText: 'revision 99 is beyond the latest revision 1' }).waitFor();
    await page.fill('#sv-customer-profile-revision', '');
    await row.locator('button:text-is("Render")').click();
    await output.locator('pre.data').waitFor();
    await row.scrollIntoViewIfNeeded();
    await screenshot(page, 'state-views');
  });

  it('refuses a file that is not a component and says why, next to the file field', async () => {
    expect(await uploadView({ name: 'broken', selector: { event_type: 'OrderCreated' }, file: 'core-module.wasm' })).toBe(400);
    const error = page.locator('#sv-upload-wasm-error');
    await error.waitFor();
    expect(await error.textContent()).toContain('the file is a core WebAssembly module, not a WebAssembly component');
    expect(await page.getAttribute('#sv-upload-wasm', 'aria-invalid')).toBe('true');
    // What was typed is kept, to fix and send again; nothing was stored.
    expect(await page.inputValue('#sv-upload-name')).toBe('broken');
    expect(JSON.parse(await page.inputValue('#sv-upload-selector'))).toEqual({ event_type: 'OrderCreated' });
    expect(await views().locator('tbody.component').count()).toBe(2);
    await screenshot(page, 'state-view-upload-error');
    await page.click('#state-views details.upload > summary');
  });

  it('uploads a state change, sends a command and shows the stored event', async () => {
    await changes().locator('#sc-upload-name').fill('process-order');
    await page.fill('#sc-upload-description', 'Creates orders within the customer’s credit');
    await page.fill('#sc-upload-views', JSON.stringify(PROFILE_BINDING));
    await page.setInputFiles('#sc-upload-wasm', file('process-order.wasm'));
    const uploaded = page.waitForResponse((r) => r.url().endsWith('/console/state-changes') && r.request().method() === 'POST');
    await page.click('#state-changes button:text-is("Upload state change")');
    expect((await uploaded).status()).toBe(201);
    await changes().locator('.notice', { hasText: 'Published state change process-order, version 1.' }).waitFor();
    const row = page.locator('#state-change-process-order');
    expect((await row.locator('.col-views').textContent())!.trim()).toBe('customer-profile');
    expect(await stat('State changes').textContent()).toBe('1');

    await row.locator('summary:has-text("Send a command")').click();
    await page.fill('#sc-process-order-command', JSON.stringify(createOrder('o-1', 29.99, 2), null, 2));
    const sent = page.waitForResponse((r) => r.url().endsWith('/state-changes/process-order/process'));
    await row.locator('button:text-is("Send command")').click();
    expect((await sent).status()).toBe(200);
    const output = page.locator('#sc-process-order-output');
    await output.locator('.result.success').waitFor();
    expect(await output.locator('.result-title').textContent()).toMatch(/Stored 1 event; the database is at revision 2\./);
    const event = output.locator('.result-event');
    expect(await event.locator('.rev').textContent()).toBe('2');
    expect(await event.locator('.rev').getAttribute('href')).toBe('/databases/shop/console/events/2');
    expect(await event.locator('.type').textContent()).toBe('OrderCreated');
    expect(JSON.parse((await event.locator('pre.data').textContent())!)).toMatchObject({ orderId: 'o-1', customerId: 'c-1', total: 59.98 });
    // The page's numbers and recent events show it too.
    expect(await stat('Latest revision').textContent()).toBe('2');
    expect(await page.locator('#recent-events tbody.event .col-rev a').first().textContent()).toBe('2');
    expect((await ts.client.get('/databases/shop/events/2')).body).toMatchObject({ id: 'order-o-1', type: 'OrderCreated' });
    await row.scrollIntoViewIfNeeded();
    await screenshot(page, 'state-change-result');
  });

  it('shows a rejection by the state change with its code, message, details and status', async () => {
    const row = page.locator('#state-change-process-order');
    await page.fill('#sc-process-order-command', JSON.stringify(createOrder('o-2', 159.99)));
    const sent = page.waitForResponse((r) => r.url().endsWith('/state-changes/process-order/process'));
    await row.locator('button:text-is("Send command")').click();
    expect((await sent).status()).toBe(409);
    const rejection = page.locator('#sc-process-order-output .result.rejection');
    await rejection.waitFor();
    expect(await rejection.getAttribute('role')).toBe('alert');
    expect(await rejection.locator('.status-badge').textContent()).toBe('409 Conflict');
    expect(await rejection.locator('.error-code').textContent()).toBe('INSUFFICIENT_CREDIT');
    expect(await rejection.locator('.result-message').textContent()).toBe('Customer credit limit exceeded');
    const details = Object.fromEntries(await rejection.locator('.rejection-details > div').evaluateAll((ds) => ds.map((d) => [d.querySelector('dt')!.textContent, d.querySelector('dd')!.textContent])));
    expect(details).toEqual({ available_credit: '40.02', order_total: '159.99' });
    // Nothing was written.
    expect(await stat('Latest revision').textContent()).toBe('2');
    await row.scrollIntoViewIfNeeded();
    await screenshot(page, 'state-change-rejected');
    expect(browser.pageErrors).toEqual([]);
  });

  it('opens a view on its own page from its name, and a render from its link', async () => {
    await page.click('#state-view-customer-profile .col-name a');
    await page.waitForURL(`${ts.server.url}/databases/shop/console/state-views/customer-profile`);
    expect(await page.title()).toBe('customer-profile · shop · Factum');
    // The link to a render opens the page with the form filled in and the view rendered.
    await page.goto(`${ts.server.url}/databases/shop/console/state-views/customer-profile?customer_id=c-1`);
    expect(await page.inputValue('#render-param-customer_id')).toBe('c-1');
    expect(JSON.parse((await page.textContent('#render-output pre.data'))!)).toMatchObject({ order_count: 1, available_credit: 40.02 });
    await screenshot(page, 'state-view-page');
    await page.goto(`${ts.server.url}/databases/shop/console`);
  });

  it('reads well on a narrow screen', async () => {
    const narrow = await browser.newPage();
    await narrow.setViewportSize({ width: 390, height: 844 });
    await narrow.goto(`${ts.server.url}/databases/shop/console#state-views`);
    await narrow.locator('#state-view-customer-profile summary:has-text("Render")').click();
    await narrow.locator('#state-change-process-order summary:has-text("Send a command")').click();
    // Nothing sticks out sideways; if something does, name it.
    const overflowing = await narrow.evaluate(() =>
      [...document.querySelectorAll('body *')]
        .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
        .map((e) => `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}.${[...e.classList].join('.')}`),
    );
    expect(overflowing).toEqual([]);
    expect(await narrow.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await screenshot(narrow, 'state-views-narrow');
    await narrow.close();
  });

  it('deletes a state change and a state view only after the confirmation is accepted', async () => {
    page.once('dialog', (dialog) => void dialog.dismiss());
    await page.click('#state-change-process-order a:text-is("Delete")');
    expect(await page.locator('#state-change-process-order').count()).toBe(1);

    page.once('dialog', (dialog) => void dialog.accept());
    await page.click('#state-change-process-order a:text-is("Delete")');
    await changes().locator('.notice', { hasText: 'Deleted state change process-order.' }).waitFor();
    expect(await changes().textContent()).toContain('No state changes yet.');
    expect(await stat('State changes').textContent()).toBe('0');

    page.once('dialog', (dialog) => void dialog.accept());
    await page.click('#state-view-order-summary a:text-is("Delete")');
    await views().locator('.notice', { hasText: 'Deleted state view order-summary.' }).waitFor();
    expect(await views().locator('tbody.component').count()).toBe(1);
    expect((await ts.client.get('/databases/shop/state-views')).body.state_views.map((v: { name: string }) => v.name)).toEqual(['customer-profile']);
    expect(browser.pageErrors).toEqual([]);
  });
});
