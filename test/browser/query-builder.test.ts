/**
 * The query builder in a real browser: selectors, ranges, paging, event details, shareable URLs
 * and type-ahead, against a real server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../support/server.ts';
import { launchChromium, screenshot, type Browser } from './chromium.ts';
import { seedShop, type SeededEvent } from './seed.ts';

describe('query builder (browser)', () => {
  let ts: TestServer;
  let browser: Browser;
  let events: Map<string, SeededEvent>;
  const rev = (id: string) => events.get(id)!.revision;

  beforeAll(async () => {
    [ts, browser] = await Promise.all([startTestServer({ storage: 'memory' }), launchChromium()]);
    events = await seedShop(ts.client, 'shop');
  });
  afterAll(async () => {
    await browser?.close();
    await ts?.stop();
  });

  const builderUrl = () => `${ts.server.url}/databases/shop/query-builder`;

  /** Revisions of the result rows, in page order. */
  const shownRevisions = async (page: Page) =>
    (await page.locator('#results tbody.event .col-rev a').allTextContents()).map((t) => Number(t.trim()));

  /** Values of one field across the selector rows. */
  const fieldValues = (page: Page, name: string) =>
    page.locator(`#selectors input[name="${name}"]`).evaluateAll((inputs) => inputs.map((i) => (i as HTMLInputElement).value));

  const datalist = (page: Page, attribute: string) =>
    page.locator(`#suggest-${attribute} option`).evaluateAll((options) => options.map((o) => (o as HTMLOptionElement).value));

  async function waitForDatalist(page: Page, attribute: string, expected: string[]): Promise<void> {
    await page.waitForFunction(
      ({ id, want }) => JSON.stringify([...document.querySelectorAll(`#${id} option`)].map((o) => (o as HTMLOptionElement).value)) === want,
      { id: `suggest-${attribute}`, want: JSON.stringify(expected) },
    );
  }

  // What the query below selects: (order-service AND OrderCreated) OR (OrderPaid AND order-4),
  // revisions 5..12, effective January 3 to 7. Each range excludes an event the other admits:
  // created-3 (revision 4) is in the time range, created-8 (revision 11) in the revision range.
  const expectedIds = ['created-4', 'paid-4', 'created-5', 'created-6', 'created-7'];

  let sharedUrl = '';
  let firstPage: number[] = [];

  it('builds a query with several selectors and both ranges, and pages through the results', async () => {
    const page = await browser.newPage();
    await page.goto(builderUrl());
    await expect(page.title()).resolves.toBe('Query shop · Factum');
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));

    await page.fill('#stream-1', 'order-service');
    await page.fill('#event_type-1', 'OrderCreated');
    await page.click('button.add');
    await page.locator('#event_type-2').waitFor();
    // The new row takes the focus (once htmx settles it), and the first row kept what was typed.
    await page.waitForFunction(() => document.activeElement?.id === 'stream-2');
    expect(await fieldValues(page, 'event_type')).toEqual(['OrderCreated', '']);
    await page.fill('#event_type-2', 'OrderPaid');
    await page.fill('#subject-2', 'order-4');
    await page.fill('#revision_start', String(rev('created-4')));
    await page.fill('#revision_end', '12');
    await page.fill('#time_start', '2024-01-03T00:00:00Z');
    await page.fill('#time_end', '2024-01-07T23:59:59Z');
    await page.fill('#limit', '2');
    await page.selectOption('#direction', 'forward');

    const results = page.waitForResponse((r) => r.url().includes('/query-builder/results'));
    await page.click('form#query-form button.primary');
    expect((await results).status()).toBe(200);
    await page.locator('#results tbody.event').first().waitFor();
    expect(await shownRevisions(page)).toEqual(expectedIds.slice(0, 2).map(rev));

    // Swapped in place, and the address bar now holds the query.
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    const url = new URL(page.url());
    expect(url.pathname).toBe('/databases/shop/query-builder');
    expect(url.searchParams.getAll('stream')).toEqual(['order-service', '']);
    expect(url.searchParams.getAll('event_type')).toEqual(['OrderCreated', 'OrderPaid']);
    expect(url.searchParams.getAll('subject')).toEqual(['', 'order-4']);
    expect(Object.fromEntries(['revision_start', 'revision_end', 'time_start', 'time_end', 'direction', 'limit'].map((k) => [k, url.searchParams.get(k)]))).toEqual({
      revision_start: String(rev('created-4')),
      revision_end: '12',
      time_start: '2024-01-03T00:00:00Z',
      time_end: '2024-01-07T23:59:59Z',
      direction: 'forward',
      limit: '2',
    });
    sharedUrl = page.url();
    firstPage = await shownRevisions(page);

    // Load more appends the next pages until the end.
    await page.click('#results tbody.load-more a');
    await page.waitForFunction(() => document.querySelectorAll('#results tbody.event').length === 4);
    await page.click('#results tbody.load-more a');
    await page.locator('#results tbody.end').waitFor();
    expect(await shownRevisions(page)).toEqual(expectedIds.map(rev));
    expect(await page.locator('#results tbody.load-more').count()).toBe(0);
    expect(page.url()).toBe(sharedUrl);

    // Opening an event shows every attribute and its data, pretty-printed; it closes again.
    const created5 = events.get('created-5')!;
    const toggle = page.locator(`#event-${created5.revision}-toggle`);
    await toggle.click();
    const detail = page.locator(`#event-${created5.revision}-detail`);
    await detail.waitFor();
    expect(await page.locator(`#event-${created5.revision}-toggle`).getAttribute('aria-expanded')).toBe('true');
    const attributes = Object.fromEntries(
      await detail.locator('.attributes > div').evaluateAll((rows) => rows.map((r) => [r.querySelector('dt')!.textContent, r.querySelector('dd')!.textContent])),
    );
    expect(attributes).toMatchObject({
      revision: String(created5.revision),
      id: 'created-5',
      source: 'order-service',
      type: 'OrderCreated',
      subject: 'order-5',
      time: '2024-01-05T10:00:00Z',
      specversion: '1.0',
    });
    expect(Date.parse(attributes.recordedtime as string)).not.toBeNaN();
    expect(await detail.locator('pre.data').textContent()).toBe(JSON.stringify(created5.data, null, 2));
    await screenshot(page, 'query-builder-results');

    await page.locator(`#event-${created5.revision}-toggle`).click();
    await detail.waitFor({ state: 'detached' });
    expect(await page.locator(`#event-${created5.revision}-toggle`).getAttribute('aria-expanded')).toBe('false');
    // Focus stays on the control that was used.
    await page.waitForFunction((id) => document.activeElement?.id === id, `event-${created5.revision}-toggle`);

    // A selector row can be removed again.
    await page.click('#selectors button.remove >> nth=1');
    await page.waitForFunction(() => document.querySelectorAll('#selectors .selector-row').length === 1);
    expect(await fieldValues(page, 'event_type')).toEqual(['OrderCreated']);

    expect(browser.pageErrors).toEqual([]);
    await page.close();
  });

  it('renders a shared query URL on the server, with the form filled in', async () => {
    expect(sharedUrl).not.toBe('');
    // Served whole, without htmx: the results are in the HTML itself.
    const html = await (await fetch(sharedUrl)).text();
    for (const revision of firstPage) expect(html).toContain(`id="event-${revision}-toggle"`);

    const page = await browser.newPage();
    await page.goto(sharedUrl);
    expect(await shownRevisions(page)).toEqual(firstPage);
    expect(await fieldValues(page, 'stream')).toEqual(['order-service', '']);
    expect(await fieldValues(page, 'event_type')).toEqual(['OrderCreated', 'OrderPaid']);
    expect(await fieldValues(page, 'subject')).toEqual(['', 'order-4']);
    expect(await page.inputValue('#time_end')).toBe('2024-01-07T23:59:59Z');
    expect(await page.inputValue('#limit')).toBe('2');

    // The same query newest first.
    await page.selectOption('#direction', 'backward');
    await page.fill('#limit', '10');
    await page.click('form#query-form button.primary');
    await page.waitForURL(/direction=backward/);
    await page.waitForFunction(() => document.querySelectorAll('#results tbody.event').length === 5);
    expect(await shownRevisions(page)).toEqual(expectedIds.map(rev).reverse());

    // Back returns to the previous query and its results.
    await page.goBack();
    await page.waitForURL(sharedUrl);
    await page.waitForFunction(() => document.querySelectorAll('#results tbody.event').length === 2);
    expect(await shownRevisions(page)).toEqual(firstPage);
    expect(await page.inputValue('#direction')).toBe('forward');
    await page.close();
  });

  it('suggests event types, subjects and streams that exist, by what was typed', async () => {
    const page = await browser.newPage();
    await page.goto(builderUrl());
    // Before typing: the first streams and event types; subjects (as many as events) wait for input.
    expect(await datalist(page, 'event_type')).toEqual(['CustomerRegistered', 'OrderCreated', 'OrderPaid']);
    expect(await datalist(page, 'stream')).toEqual(['crm', 'order-service', 'payment-service']);
    expect(await datalist(page, 'subject')).toEqual([]);
    expect(await page.getAttribute('#event_type-1', 'list')).toBe('suggest-event_type');

    const suggested = page.waitForResponse((r) => r.url().includes('/suggestions/event_type'));
    await page.locator('#event_type-1').pressSequentially('Ord');
    expect((await suggested).status()).toBe(200);
    await waitForDatalist(page, 'event_type', ['OrderCreated', 'OrderPaid']);

    await page.locator('#subject-1').pressSequentially('order-1');
    await waitForDatalist(page, 'subject', ['order-1', 'order-10', 'order-11', 'order-12']);

    await page.locator('#stream-1').pressSequentially('pay');
    await waitForDatalist(page, 'stream', ['payment-service']);
    await page.close();
  });

  it('shows why a query cannot run, with the status, and keeps the URL', async () => {
    const page = await browser.newPage();
    await page.goto(builderUrl());
    const before = page.url();
    await page.fill('#time_start', 'yesterday');
    const reply = page.waitForResponse((r) => r.url().includes('/query-builder/results'));
    await page.click('form#query-form button.primary');
    expect((await reply).status()).toBe(400);
    const error = page.locator('#results .error-box');
    await error.waitFor();
    expect(await error.textContent()).toContain('Effective time from must be an RFC 3339 timestamp');
    expect(page.url()).toBe(before);
    await page.close();
  });

  it('reads well on a narrow screen', async () => {
    const page = await browser.newPage();
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(sharedUrl);
    await page.locator(`#event-${firstPage[0]}-toggle`).click();
    await page.locator(`#event-${firstPage[0]}-detail`).waitFor();
    // Nothing wider than the screen: no sideways scrolling of the page.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await screenshot(page, 'query-builder-narrow');
    await page.close();
  });
  it('selects by an extension, exactly and by prefix, with its values suggested', async () => {
    const post = (path: string, body: unknown) =>
      fetch(`${ts.server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => expect(r.ok).toBe(true));
    await post('/databases', { name: 'school' });
    const subscribed = (id: string, course: string) => ({ specversion: '1.0', id, source: 'school', type: 'StudentSubscribed', course, student: `s-${id}` });
    await post('/databases/school/events', { events: [subscribed('a', 'c1'), subscribed('b', 'c10'), subscribed('c', 'd2'), subscribed('d', 'c1')] });
    const page = await browser.newPage();
    await page.goto(`${ts.server.url}/databases/school/query-builder`);
    await page.fill('#extension-1', 'course');
    await page.locator('#extension_value-1').pressSequentially('c');
    await waitForDatalist(page, 'extension_value', ['c1', 'c10']);

    const run = async () => {
      const results = page.waitForResponse((r) => r.url().includes('/query-builder/results'));
      await page.click('form#query-form button.primary');
      expect((await results).status()).toBe(200);
      await page.locator('#results tbody.event').first().waitFor();
    };
    await page.selectOption('#match-1', 'starts_with');
    await run();
    expect(await shownRevisions(page)).toEqual([1, 2, 4]);
    const url = new URL(page.url());
    expect([url.searchParams.get('extension'), url.searchParams.get('extension_value'), url.searchParams.get('match')]).toEqual(['course', 'c', 'starts_with']);

    await page.fill('#extension_value-1', 'c1');
    await page.selectOption('#match-1', 'equals');
    await run();
    await page.waitForFunction(() => document.querySelectorAll('#results tbody.event').length === 2);
    expect(await shownRevisions(page)).toEqual([1, 4]);

    // The link opens the same query, with the row filled in.
    await page.goto(`${ts.server.url}/databases/school/query-builder?extension=course&extension_value=c1&match=starts_with`);
    expect(await fieldValues(page, 'extension')).toEqual(['course']);
    expect(await page.locator('#match-1').inputValue()).toBe('starts_with');
    expect(await shownRevisions(page)).toEqual([1, 2, 4]);
    await page.close();
  });
});
